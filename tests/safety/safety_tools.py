"""Helpers of the fault-injection suite: the CLI as a subprocess and
in-process, a result folder made once and copied per test, and a snapshot
of a folder that sees links as links."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "samples" / "demo.mp4"
END = "6"
"""Seconds of the demo clip each run looks at: two persons, a few seconds a run."""
KILLER = Path(__file__).with_name("kill_at.py")


def cli(*args, **kw) -> subprocess.CompletedProcess:
    """The CLI in a subprocess (no traceback switch inherited)."""
    env = {k: v for k, v in os.environ.items() if k != "CLUSTER_VIDEO_TRACEBACK"}
    return subprocess.run([sys.executable, "-m", "clusterer.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, env=env, **kw)


def run_cli(*args):
    """The CLI in this process, its output captured (.returncode, .stdout,
    .stderr): for the runs whose subject is not the process itself."""
    from conftest import cli_in_process

    return cli_in_process(*args)


def main(capsys, *args) -> tuple[int, str, str]:
    """The CLI in this process: (exit status, stdout, stderr)."""
    from clusterer.cli import main as cli_main

    rc = cli_main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def error_line(stderr: str) -> str:
    """The one line of a refused run (asserted: one line, the CLI's prefix, no traceback)."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cluster-video: error:"), stderr
    return lines[0]


_made: dict[str, Path] = {}


def demo_result(tmp_path_factory) -> Path:
    """A finished result of the demo's first END seconds (with its cache), made once a session."""
    def make(out):
        r = run_cli(DEMO, "--out", out, "--quiet", "--end", END)
        assert r.returncode == 0, r.stderr
        return out / "demo"
    return made_once("safety-demo", tmp_path_factory, make)


def made_once(name: str, tmp_path_factory, make) -> Path:
    """A result folder made by make(a new folder) once a session (all workers), under `name`."""
    from conftest import once

    if name not in _made:
        _made[name] = once(tmp_path_factory, name, make)
    return _made[name]


def copy_result(src: Path, out: Path) -> Path:
    """A copy of result folder `src` as OUT/demo/ under `out`; returns it."""
    dest = out / "demo"
    shutil.copytree(src, dest, symlinks=True)
    return dest


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under `folder`: a file's bytes, a link's target ('-> …'), a folder's mark."""
    out: dict[str, bytes | str] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root) / name
            rel = p.relative_to(folder).as_posix()
            out[rel] = ("-> " + os.readlink(p) if p.is_symlink() else "dir" if p.is_dir() else p.read_bytes())
    return out


def report(dest: Path) -> dict:
    return json.loads((dest / "clusters.json").read_text())


def listed_files(dest: Path) -> list[str]:
    """The crops and files clusters.json says are in the folder."""
    data = report(dest)
    return [*data["written"], *(f["file"] for p in data["persons"] for f in p["faces"]),
            *(f["file"] for f in data["unknown"])]


def assert_consistent(dest: Path) -> None:
    """A result folder as a finished run leaves it: every file clusters.json
    lists is there, no crop is there that it does not list, nothing the tool
    stages or locks is left."""
    missing = [f for f in listed_files(dest) if not (dest / f).is_file()]
    assert not missing, missing
    listed = set(listed_files(dest))
    orphans = [p.relative_to(dest).as_posix() for p in dest.rglob("*.jpg")
               if p.relative_to(dest).as_posix() not in listed]
    assert not orphans, orphans
    assert not [p.name for p in dest.iterdir() if p.name.startswith(".cluster-video")]
