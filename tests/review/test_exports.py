"""Exports for editing software (OpenTimelineIO markers, a CMX 3600 EDL) and the static page's time axis."""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from clusterer.cli import main
from clusterer.output.export import export
from clusterer.output.report import appearances_csv, time_axis
from clusterer.review import edl
from clusterer.types import Face, Person, Result, Sighting, VideoInfo

# a known clip: 25 fps, 20 s, sampled at 2 fps; Alice on screen 1.0–2.5 s and
# 10.0–10.5 s, Bob 4.0–5.0 s
FPS = 25.0
SEEN = {"Alice": [1.0, 1.5, 2.0, 10.0], "Bob": [4.0, 4.5]}


def known_result():
    persons = tuple(Person(name, tuple(Sighting(Face(int(t * FPS), t, (10, 10, 50, 50), 1.0, np.zeros(128),
                                                     f"{name}{t}".encode())) for t in times))
                    for name, times in SEEN.items())
    return Result(VideoInfo("clips/known.mp4", FPS, 500, 20.0, 320, 240), tuple(range(0, 500, 12)),
                  {"fps": 2.0}, persons, ())


@pytest.fixture
def folder(tmp_path):
    dest = tmp_path / "known"
    return dest, export(known_result(), dest)


def test_edl_of_a_known_clip(folder):
    _, report = folder
    assert edl.edl(report).splitlines() == [
        "TITLE: known people",
        "FCM: NON-DROP FRAME",
        "",
        "001  AX       V     C        00:00:01:00 00:00:02:13 00:00:00:00 00:00:01:13",
        "* FROM CLIP NAME: known.mp4",
        "* COMMENT: Alice",
        "* LOC: 00:00:00:00 RED     Alice",
        "",
        "002  AX       V     C        00:00:10:00 00:00:10:13 00:00:01:13 00:00:02:01",
        "* FROM CLIP NAME: known.mp4",
        "* COMMENT: Alice",
        "* LOC: 00:00:01:13 RED     Alice",
        "",
        "003  AX       V     C        00:00:04:00 00:00:05:00 00:00:02:01 00:00:03:01",
        "* FROM CLIP NAME: known.mp4",
        "* COMMENT: Bob",
        "* LOC: 00:00:02:01 RED     Bob",
    ]
    assert edl.timecode(3661.5, 30) == "01:01:01:15"


def test_otio_reads_back_one_marker_per_appearance(folder, tmp_path):
    import opentimelineio as ot

    dest, report = folder
    path = tmp_path / "people.otio"
    assert main(["export", str(dest), "-o", str(path)]) == 0
    tl = ot.adapters.read_from_file(str(path))
    (clip,) = tl.find_clips()
    assert clip.name == "known.mp4" and clip.media_reference.target_url == "clips/known.mp4"
    markers = [(m.name, m.marked_range.start_time.to_seconds(), m.marked_range.end_time_exclusive().to_seconds())
               for m in clip.markers]
    rows = list(csv.DictReader(io.StringIO(appearances_csv(report))))
    assert markers == [(r["person"], float(r["start"]), float(r["end"])) for r in rows]
    assert markers == [("Alice", 1.0, 2.5), ("Alice", 10.0, 10.5), ("Bob", 4.0, 5.0)]
    assert {r["video"] for r in rows} == {"clips/known.mp4"}
    assert len({m.color for m in clip.markers}) == 2  # a colour per person


def test_export_command_refuses_to_replace_and_unknown_kinds(folder, tmp_path, capsys):
    dest, _ = folder
    mine = tmp_path / "mine.edl"
    mine.write_text("my own edit")
    for argv in (["export", str(dest), "-o", str(mine)], ["export", str(dest), "-o", str(tmp_path / "x.xml")],
                 ["export", str(tmp_path / "none"), "-o", str(tmp_path / "y.edl")]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("cluster-video: error: ") and err.count("\n") == 1
    assert mine.read_text() == "my own edit"
    assert main(["export", str(dest), "-o", str(tmp_path / "ok.edl")]) == 0
    assert "3 appearances of 2 persons" in capsys.readouterr().out


def test_the_static_page_has_a_time_axis(folder):

    dest, _ = folder
    html = (dest / "index.html").read_text()
    assert html.count('<div class="axis">') == 2  # one a person
    assert [t["label"] for t in time_axis(20.0)] == ["0:00", "0:05", "0:10", "0:15", "0:20"]
    assert [t["left"] for t in time_axis(20.0)][:2] == [0.0, 25.0]
    assert time_axis(5400.0)[1]["label"] == "0:15:00" and len(time_axis(5400.0)) == 7
