"""CLI options as users type them: timecodes for --start/--end, and one line
naming the option meant when one is mistyped (main command and sub-commands)."""
from __future__ import annotations

import argparse

import pytest

from clusterer import run
from clusterer.cli import build_parser
from clusterer.errors import NoFramesDecoded
from clusterer.options import timecode
from conftest import DEMO, cli_in_process


@pytest.mark.parametrize("text, seconds", [
    ("90", 90.0), ("90s", 90.0), ("1:30.5", 90.5), ("00:01:30", 90.0), ("1:02:03.5", 3723.5),
    ("0.5", 0.5), (".5", 0.5), ("0", 0.0),
])
def test_timecode(text, seconds):
    assert timecode(text) == seconds


@pytest.mark.parametrize("text", ["x", "1:75", "1:60:00", "1:30s", "-1:30", "1::3", "", "1:2:3:4"])
def test_timecode_refuses(text):
    with pytest.raises(argparse.ArgumentTypeError):
        timecode(text)


def test_start_and_end_take_timecodes_and_keep_seconds():
    args = build_parser().parse_args([str(DEMO), "--start", "0:01.5", "--end", "00:00:03"])
    assert (args.start, args.end) == (1.5, 3.0)
    args = build_parser().parse_args([str(DEMO), "--start=2s", "--end", "4"])
    assert (args.start, args.end) == (2.0, 4.0)


def test_bad_timecode_is_one_line(tmp_path):
    r = cli_in_process(DEMO, "--out", tmp_path, "--start", "1:xx")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith("cluster-video: error: argument --start: '1:xx': not a time")


@pytest.mark.parametrize("args, word, meant", [
    ([DEMO, "--treshold", "0.5"], "--treshold", "--threshold"),
    (["--treshold", "0.5", DEMO], "--treshold", "--threshold"),  # before the video: still named
    ([DEMO, "--min-face=20", "--ovewrite"], "--ovewrite", "--overwrite"),
    (["evaluate", "res", "gt.json", "--jsn"], "--jsn", "--json"),
    (["review", "res", "--no-browsr"], "--no-browsr", "--no-browser"),
    (["export", "res", "-o", "x.edl", "--outt", "y"], "--outt", "--out"),
    (["library", "LIB", "add", "v.mp4", "--cloth-treshold=0.3"], "--cloth-treshold", "--cloth-threshold"),
])
def test_mistyped_option_names_the_one_meant(args, word, meant):
    r = cli_in_process(*args)
    assert r.returncode == 2
    assert r.stderr == f"cluster-video: error: unrecognized option {word} (did you mean {meant}?)\n"


def test_unknown_option_without_a_near_one_and_abbreviations():
    r = cli_in_process(DEMO, "--zzzzzz")
    assert r.returncode == 2 and r.stderr == "cluster-video: error: unrecognized option --zzzzzz\n"
    assert build_parser().parse_args([str(DEMO), "--thresh", "0.5"]).threshold == 0.5  # argparse's prefixes


def test_other_errors_take_one_line_too():
    r = cli_in_process("evaluate", "only-one")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "required: gt" in r.stderr and "cluster-video evaluate --help" in r.stderr


def test_negative_start_is_the_settings_error(tmp_path):
    r = cli_in_process(DEMO, "--out", tmp_path, "--quiet", "--start=-5")
    assert r.returncode == 1 and "start must be >= 0.0" in r.stderr


def test_start_past_the_end_is_said_before_any_stage_begins(tmp_path):
    began = []
    with pytest.raises(NoFramesDecoded, match="past the end"):
        run(DEMO, out=tmp_path, start=60.0, progress=lambda info: began.append(info) or (lambda t: None))
    assert began == [] and not list(tmp_path.iterdir())


def test_start_past_the_end_as_a_time_says_so(tmp_path):
    r = cli_in_process(DEMO, "--out", tmp_path, "--quiet", "--start", "1:00")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "from --start 60 s on: the start is past the end of the video (20.0 s)" in r.stderr
    assert not list(tmp_path.iterdir())
