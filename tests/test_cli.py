"""The command line: an end-to-end run on the demo clip, and every bad input
giving one line on stderr, a non-zero exit and no clusters.json."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import DEMO, cli_in_process, write_clip


def cli(*args, cwd=None):
    """The CLI as a new process: for what only a process shows (native output, exit status)."""
    return subprocess.run([sys.executable, "-m", "clusterer.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def demo_run(demo_cli_run):
    return demo_cli_run


def test_demo_two_people(demo_run):
    r, dest = demo_run
    assert r.returncode == 0, r.stderr
    data = json.loads((dest / "clusters.json").read_text())
    persons = data["persons"]
    assert len(persons) == 2
    # each comes back in several shots (the clip has eight 2.5 s shots)
    for p in persons:
        shots = {int(f["time"] // 2.5) for f in p["faces"]}
        assert len(shots) >= 4, (p["id"], shots)
        frames = [f["frame"] for f in p["faces"]]
        assert len(frames) == len(set(frames))  # never two faces of one frame
    assert len(data["unknown"]) <= 2
    assert data["settings"]["threshold"] == 0.36 and data["settings"]["fps"] == 2.0
    assert data["settings"]["mode"] == "two-stage"
    # clothing was computed and its crops saved where a user can see them
    cloth = [f["clothing"] for p in persons for f in p["faces"] if f.get("clothing")]
    assert len(cloth) >= 20 and all((dest / c["file"]).is_file() for c in cloth)
    assert data["video"]["width"] == 512 and len(data["sampled"]) == 40
    for p in persons:
        for f in p["faces"]:
            assert (dest / f["file"]).is_file()
    # the summary table
    assert "person_001" in r.stdout and "person_002" in r.stdout and "unknown" in r.stdout


def test_refuses_existing_output_then_overwrites(demo_run, tmp_path):
    _, dest = demo_run
    before = (dest / "clusters.json").read_bytes()
    r = cli_in_process(DEMO, "--out", dest.parent, "--quiet", "--end", "3")
    assert r.returncode == 1 and "--overwrite" in r.stderr
    assert (dest / "clusters.json").read_bytes() == before


def test_quiet_prints_nothing(tmp_path):
    demo = Path(__file__).resolve().parents[1] / "samples" / "demo.mp4"
    r = cli(demo, "--out", tmp_path, "--quiet", "--end", "2")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""


def _noise_clip(path):
    rng = np.random.default_rng(0)
    return write_clip(path, (rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(30)), 10.0)


def _truncated(path):
    demo = Path(__file__).resolve().parents[1] / "samples" / "demo.mp4"
    path.write_bytes(demo.read_bytes()[:20000])
    return path


BAD = {
    "missing": (lambda d: d / "nope.mp4", "no such file"),
    "directory": (lambda d: d, "directory"),
    "not a video": (lambda d: (d / "a.mp4", (d / "a.mp4").write_text("hello " * 200))[0], "not a video"),
    "empty": (lambda d: (d / "e.mp4", (d / "e.mp4").write_bytes(b""))[0], "empty"),
    "truncated": (lambda d: _truncated(d / "t.mp4"), "video"),
    "no faces": (lambda d: _noise_clip(d / "noise.mp4"), "no face"),
}


IN_PROCESS = {"no faces"}
"""The case that loads the models: in this process, for a new one spends seconds on
importing torch (a new process's quiet model loading: test_quiet_prints_nothing).
The others stop at the video, before any model: in a new process, for OpenCV's own
log level is set before it loads (video/sampling.py), which this process did first."""


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_one_line(case, tmp_path, capfd, recwarn):
    make, needle = BAD[case]
    src = tmp_path / "in"
    src.mkdir()
    video = make(src)
    out = tmp_path / "out"
    if case in IN_PROCESS:
        r = cli_in_process(video, "--out", out, "--quiet")
        # nothing else: capfd holds what native code wrote to the descriptors, recwarn every warning
        assert capfd.readouterr() == ("", "") and not [str(w.message) for w in recwarn]
    else:
        r = cli(video, "--out", out, "--quiet")
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("cluster-video: error:") and needle in lines[0], lines[0]
    assert "Traceback" not in r.stderr
    assert not list(out.rglob("clusters.json"))


def test_exit_skips_the_last_collections(tmp_path):
    """A command's interpreter ends without its last collections walking every object
    (torch's alone cost 0.4-0.5 s a command): they are in the permanent generation by
    then, however often main ran in the process."""
    code = ("import atexit, gc, sys; real = gc.freeze; calls = []; "
            "gc.freeze = lambda: calls.append(real()); "
            "atexit.register(lambda: print('frozen', len(calls), gc.get_freeze_count())); "
            "from clusterer import cli; print('codes', *[cli.main([sys.argv[1]]) for _ in range(2)])")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "missing.mp4")],
                       capture_output=True, text=True)
    said = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    assert said["codes"] == "1 1", r.stdout + r.stderr
    times, frozen = map(int, said["frozen"].split())
    assert times == 1 and frozen > 10_000, said  # once, every object alive at exit


def test_unwritable_output(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = cli_in_process(DEMO, "--out", blocker, "--quiet")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "cannot write" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("args, needle", [
    (["--threshold", "-1"], "threshold"),
    (["--fps", "0"], "fps"),
    (["--start", "5", "--end", "2"], "end"),
    (["--detector", "sift"], "invalid choice"),
])
def test_bad_options(args, needle, tmp_path):
    r = cli_in_process(DEMO, "--out", tmp_path, "--quiet", *args)
    assert r.returncode != 0 and needle in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("mode", ["fused", "faces"])
def test_demo_other_modes(mode, tmp_path, demo_run, demo_faces_run):
    # from a copy of a run whose feature cache this mode reuses (the cache
    # does not change results: benchmarks/check_identical.py)
    src = demo_faces_run[1] if mode == "faces" else demo_run[1]
    shutil.copytree(src, tmp_path / "demo")
    r = cli_in_process(DEMO, "--out", tmp_path, "--quiet", "--mode", mode, "--overwrite")
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "demo" / "clusters.json").read_text())
    assert len(data["persons"]) == 2 and data["settings"]["mode"] == mode
    assigned = {f["assigned"] for p in data["persons"] for f in p["faces"]}
    assert assigned == ({"fused"} if mode == "fused" else {"face"})
    for p in data["persons"]:
        frames = [f["frame"] for f in p["faces"]]
        assert len(frames) == len(set(frames))
    if mode == "faces":  # no clothing computed
        assert all("clothing" not in f for p in data["persons"] for f in p["faces"])
