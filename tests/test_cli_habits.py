"""The command line as its users expect: the summary points to the page, the
progress bar names its stage and speed, -q runs on a terminal still say they
are alive, a sweep that cannot change anything says so, and output piped into
`head` ends quietly."""
from __future__ import annotations

import io
import subprocess
import sys
import time

from clusterer.app import STAGES
from clusterer.cli import Progress
from clusterer.types import VideoInfo
from conftest import DEMO, cli_in_process


def test_summary_points_to_the_page(demo_cli_run):
    r, dest = demo_cli_run
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert f"{dest / 'index.html'}" in last and f"cluster-video review {dest}" in last
    assert (dest / "index.html").is_file()


def test_progress_bar_names_each_stage_and_speed(demo_cli_run):
    r, _ = demo_cli_run
    shown = r.stderr.replace("\r", "\n")
    for name in STAGES:
        assert f"{name}:" in shown, name
    assert shown.index("loading models:") < shown.index("extracting:") < shown.index("clustering:") \
        < shown.index("writing:")
    assert "× real time" in shown


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


INFO = VideoInfo(path="v.mp4", fps=25.0, frames=1500, duration=60.0, width=64, height=64)


def test_quiet_on_a_terminal_says_it_is_alive():
    tty = _Terminal()
    p = Progress(quiet=True, stream=tty, every=0.05)
    update = p(INFO)
    p.stage("extracting")
    update(0.0)
    time.sleep(0.02)
    update(12.0)
    deadline = time.monotonic() + 10
    while len(tty.getvalue().splitlines()) < 2 and time.monotonic() < deadline:  # a busy machine is slow
        time.sleep(0.05)
    p.close()
    lines = tty.getvalue().splitlines()
    assert len(lines) >= 2, lines
    assert all(l.startswith("cluster-video: extracting, 12/60 s of video, ") and "× real time" in l for l in lines)
    n = len(lines)
    time.sleep(0.15)
    assert len(tty.getvalue().splitlines()) == n  # closed: silent


def test_quiet_elsewhere_says_nothing():
    piped = io.StringIO()
    p = Progress(quiet=True, stream=piped, every=0.01)
    p(INFO)(5.0)
    time.sleep(0.1)
    p.close()
    assert piped.getvalue() == ""


def test_bar_for_a_video_of_unknown_length():
    """A raw .h264 stream has no frame count, a still image 0.04 s: no total to show."""
    for duration in (0.0, 0.04):
        out = io.StringIO()
        p = Progress(quiet=False, stream=out)
        update = p(VideoInfo(path="v.h264", fps=25.0, frames=0, duration=duration, width=64, height=64))
        p.stage("extracting")
        update(0.0)
        update(3.5)
        p.close(done=True)
        shown = out.getvalue().replace("\r", "\n")
        assert "extracting: 3.5s [" in shown and "%" not in shown, shown


def test_sweep_that_changes_nothing_says_so(tmp_path):
    r = cli_in_process(DEMO, "--out", tmp_path, "--quiet", "--mode", "fused", "--sweep", "0.3:0.5:0.1")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "--mode fused does not use" in r.stderr and "every row would be the same" in r.stderr
    assert not any(tmp_path.iterdir())  # refused before any work


def test_output_into_a_closed_pipe_ends_quietly(demo_cli_run):
    """`cluster-video … --sweep … | head -1`: the reader is gone before the rows come."""
    _, dest = demo_cli_run
    p = subprocess.Popen([sys.executable, "-m", "clusterer.cli", str(DEMO), "--out", str(dest.parent), "-q",
                          "--sweep", "0.3,0.4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # long before the interpreter and torch are loaded
    err = p.stderr.read().decode()
    assert p.wait() == 1 and err == ""
