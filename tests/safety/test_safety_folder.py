"""Nothing outside OUT/<stem>/ is written, replaced or deleted: symbolic
links inside it are refused (never followed), unsafe stems are made safe,
files the tool did not write are not replaced, prior results it did not
write are refused, and one run at a time holds a folder."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys

import pytest

from clusterer.output.outdir import LOCK, claim, safe_name
from safety_tools import (DEMO, END, ROOT, assert_consistent, cli, copy_result, demo_result, error_line,
                          main, report, run_cli, snapshot)


@pytest.fixture
def made(tmp_path, tmp_path_factory):
    """A copy of a finished result as tmp/out/demo, and a folder beside it the tool must never touch."""
    dest = copy_result(demo_result(tmp_path_factory), tmp_path / "out")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "precious.jpg").write_bytes(b"keep me")
    return dest, outside


def _person_crop(dest) -> str:
    return report(dest)["persons"][0]["faces"][0]["file"]


LINKS = {
    # what is replaced by a link to the outside folder (or a file in it)
    "person folder": lambda dest: "person_001",
    "crop file": _person_crop,
    "cache folder": lambda dest: "cache",
    "clothing folder": lambda dest: "person_001/clothing",
    "report": lambda dest: "clusters.json",
}


@pytest.mark.parametrize("what", sorted(LINKS))
def test_symlink_inside_output_refused(what, made, capsys):
    dest, outside = made
    name = LINKS[what](dest)
    target = outside / "precious.jpg" if (dest / name).is_file() else outside
    path = dest / name
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    path.symlink_to(target)
    before, outside_before = snapshot(dest), snapshot(outside)
    # a run that would write (other clustering settings: from the cache, then export)
    rc, _, err = main(capsys, DEMO, "--out", dest.parent, "--quiet", "--end", END, "--overwrite",
                      "--min-faces", "100")
    assert rc == 1 and str(path) in error_line(err) and "symbolic link" in err
    assert snapshot(dest) == before and snapshot(outside) == outside_before


def test_output_folder_itself_a_link_refused(made, capsys):
    dest, outside = made
    shutil.rmtree(dest)
    dest.symlink_to(outside, target_is_directory=True)
    rc, _, err = main(capsys, DEMO, "--out", dest.parent, "--quiet", "--end", END, "--overwrite")
    assert rc == 1 and "symbolic link" in error_line(err)
    assert [p.name for p in outside.iterdir()] == ["precious.jpg"]


@pytest.mark.parametrize("stem, want", [("..", "_.."), (".", "_."), ("", "_"), ("a\\b", "a_b"),
                                        ("demo", "demo"), (".hidden", ".hidden"), ("...x", "...x")])
def test_safe_name(stem, want):
    assert safe_name(stem) == want


def test_dot_dot_stem_writes_inside_out(tmp_path):
    """A video called '...mp4' (stem '..') used to write into the parent of --out."""
    video = tmp_path / "...mp4"
    shutil.copy(DEMO, video)
    out = tmp_path / "parent" / "out"
    out.mkdir(parents=True)
    (out.parent / "index.html").write_text("mine")
    r = run_cli(video, "--out", out, "--quiet", "--end", "3")
    assert r.returncode == 0, r.stderr
    assert (out.parent / "index.html").read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == ["_.."]
    assert_consistent(out / "_..")


FOREIGN = {
    "index.html": b"<p>my page</p>",
    "appearances.csv": b"my,own\n",
    "cache/features.npz": b"my numbers",
    "cache/features.json": b'{"mine": true}',
}


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_overwrite_never_replaces_files_it_did_not_write(name, tmp_path, capsys):
    """No clusters.json lists them: the tool did not write them."""
    dest = tmp_path / "demo"
    (dest / name).parent.mkdir(parents=True)
    (dest / name).write_bytes(FOREIGN[name])
    rc, _, err = main(capsys, DEMO, "--out", tmp_path, "--quiet", "--end", END, "--overwrite")
    assert rc == 1 and "not written by cluster-video" in error_line(err) and name in err
    assert snapshot(dest)[name] == FOREIGN[name] and len(snapshot(dest)) == name.count("/") + 1


@pytest.mark.parametrize("text", ["[]", "null", "{}", '"x"', "not json", '{"persons": [], "unknown": []}x',
                                  '{"persons": [{"id": "a", "faces": [{}]}], "unknown": []}',
                                  '{"persons": [], "unknown": [{"file": "unknown/a.jpg", "frame": 1, '
                                  '"box": [1, 2, 3]}]}',
                                  '{"persons": [], "unknown": [], "written": "index.html"}'])
def test_corrupt_prior_report_refused(text, made, capsys):
    dest, _ = made
    (dest / "clusters.json").write_text(text)
    before = snapshot(dest)
    rc, _, err = main(capsys, DEMO, "--out", dest.parent, "--quiet", "--end", END, "--overwrite")
    assert rc == 1 and "not a report cluster-video wrote" in error_line(err)
    assert snapshot(dest) == before


def test_prior_report_with_extra_keys_is_fine(made, capsys):
    dest, _ = made
    data = report(dest)
    data["my_note"] = "hello"
    (dest / "clusters.json").write_text(json.dumps(data))
    rc, _, err = main(capsys, DEMO, "--out", dest.parent, "--quiet", "--end", END, "--overwrite")
    assert rc == 0, err
    assert_consistent(dest)


def test_second_run_refused_while_one_holds_the_folder(made, capsys):
    dest, _ = made
    before = snapshot(dest)
    fd = os.open(dest / LOCK, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b"process 4242 on somehost\n")
        rc, _, err = main(capsys, DEMO, "--out", dest.parent, "--quiet", "--end", END, "--overwrite")
    finally:
        os.close(fd)
    assert rc == 1 and "another cluster-video run" in error_line(err) and "process 4242 on somehost" in err
    assert {k: v for k, v in snapshot(dest).items() if k != LOCK} == before


def test_stale_lock_of_a_killed_run_recovered(made):
    dest, _ = made
    (dest / LOCK).write_text("process 999999 on somehost\n")  # no process holds it
    with claim(dest) as stage:
        stage.write("unknown/x.jpg", b"x")
        stage.commit(last="unknown/x.jpg")
    assert (dest / "unknown" / "x.jpg").read_bytes() == b"x" and not (dest / LOCK).exists()


def test_concurrent_runs_one_wins(tmp_path):
    """Two runs started together into one folder: one writes, the other is
    refused; the result lists only files that are there. (dlib's detector and
    encoder, no clothing: processes that never import torch, for the lock is the subject.)"""
    args = [sys.executable, "-m", "clusterer.cli", str(DEMO), "--out", str(tmp_path), "--quiet", "--end", "3",
            "--overwrite", "--mode", "faces", "--detector", "hog", "--encoder", "dlib"]
    procs = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    codes = sorted(p.returncode for p in procs)
    errs = " ".join(e for _, e in outs)
    if codes == [0, 0]:  # the second started after the first had finished: both fine
        pytest.skip("the runs did not overlap on this machine")
    assert codes == [0, 1] and "another cluster-video run" in errs, errs
    assert_consistent(tmp_path / "demo")


def test_failed_run_leaves_no_empty_folder(tmp_path):
    bad = tmp_path / "model.pt"
    import pickle

    bad.write_bytes(pickle.dumps({"a": 1}))
    r = cli(DEMO, "--out", tmp_path / "out", "--quiet", "--end", "2", "--cloth-model", bad)
    assert r.returncode == 1 and "not a torch checkpoint" in error_line(r.stderr)  # no torch warning either
    assert not (tmp_path / "out" / "demo").exists()


def test_new_files_get_the_usual_mode(made):
    dest, _ = made
    want = 0o666 & ~_umask()
    for name in ("clusters.json", "index.html", "appearances.csv", "cache/features.npz", "cache/features.json",
                 _person_crop(dest)):
        assert (dest / name).stat().st_mode & 0o777 == want, name


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
