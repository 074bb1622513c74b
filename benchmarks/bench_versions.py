#!/usr/bin/env python3
"""Two versions of cluster-video side by side (issue 14): the command of another
checkout (--tree: the commit an issue was filed against, an earlier release)
and of this one, each a fresh process at its own defaults on the same videos,
scored alike by this tree's scorer: faces found, BCubed F and precision over
the faces each version finds, F over every labelled face (one not found counts
as a person of its own), persons, false faces, and wall seconds (a command's
whole time: Python's start, imports, models, export). The order alternates
video by video.

    git worktree add /tmp/filed 8d32891
    python -m benchmarks versions --tree /tmp/filed [--held-out 37,41] [--clips avengers] [--long] [--append]

Both versions run with this interpreter, so the other checkout must import
with the packages installed here.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from benchmarks.bench_grouping import benchmark_videos, video_options
from benchmarks.harness import ROOT, commit, report, scored, side_by_side, side_by_side_section
from clusterer.evaluate import load_ground_truth, load_prediction

MIN_PRECISION = 0.98
"""Issue 14's bar for precision on every video."""


def command(tree: Path) -> Callable[[Path, Path], dict]:
    """A variant for harness.side_by_side: `python -m clusterer.cli VIDEO` run
    from `tree` (its package is the one imported), its clusters.json scored."""
    def run(video: Path, truth: Path) -> dict:
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "PYTHONPATH": str(tree)}
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "clusterer.cli", str(video), "--out", tmp, "-q"],
                                  cwd=tree, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if done.returncode != 0:
                raise SystemExit(f"{tree}: cluster-video {video} failed ({done.returncode}): {done.stderr.strip()}")
            found = sorted(Path(tmp).rglob("clusters.json"))
            if len(found) != 1:
                raise SystemExit(f"{tree}: cluster-video {video} wrote {len(found)} clusters.json files, not 1")
            pred, sampled, fps = load_prediction(found[0])
        return scored(pred, sampled, load_ground_truth(truth, sampled, fps), wall)
    return run


def summary(results: list, old: str, new: str) -> list[str]:
    """Per group: on how many videos `new` is above and below `old` in F over
    the faces found and in F over every face, and how many of each fall under
    MIN_PRECISION (results: harness.side_by_side's)."""
    lines = []
    for group in dict.fromkeys(g for g, *_ in results):
        got: dict[str, dict] = {}
        for g, name, variant, r in results:
            if g == group:
                got.setdefault(name, {})[variant] = r
        pairs = [(v[old], v[new]) for v in got.values()]

        def above(key):
            return f"{sum(b[key] > a[key] for a, b in pairs)} above, {sum(b[key] < a[key] for a, b in pairs)} below"

        lines.append(f"- {group} ({len(pairs)} videos): F over the faces found {above('f')}; "
                     f"F over every face {above('f_all')}; precision under {MIN_PRECISION}: "
                     f"{sum(b['p'] < MIN_PRECISION for _, b in pairs)} (the other version: "
                     f"{sum(a['p'] < MIN_PRECISION for a, _ in pairs)})")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", type=Path, required=True, help="the other checkout (e.g. a git worktree)")
    video_options(ap)
    ap.add_argument("--append", action="store_true", help="write the section into benchmarks/RESULTS.md")
    a = ap.parse_args()
    tree = a.tree.resolve()
    if not (tree / "clusterer" / "cli.py").exists():
        raise SystemExit(f"{tree}: not a cluster-video checkout (no clusterer/cli.py)")
    here = commit()
    old, new = f"`{commit(tree)}`", "this tree"
    videos = benchmark_videos(a.held_out, a.clips, a.long)
    cases = [(name, video, truth) for _, name, video, truth in videos]
    groups = {name: group for group, name, _, _ in videos}
    results: list = []
    rows = side_by_side(cases, {old: command(tree), new: command(ROOT)}, group=groups.get, results=results)
    intro = (f"`python -m benchmarks versions --tree` at {old}: each version's command, a fresh process at its "
             "own defaults, on the same videos, scored alike by this tree's scorer.")
    title = f"Versions side by side: {old} against this tree (commit `{here}`)"
    report(side_by_side_section(title, intro, "version", rows, runs="Each run a fresh process")
           + "\n".join(summary(results, old, new)) + "\n", a.append)


if __name__ == "__main__":
    main()
