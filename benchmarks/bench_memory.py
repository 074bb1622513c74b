#!/usr/bin/env python3
"""Peak memory (and speed) of cluster-video at its defaults on a long video.

Runs the CLI in a child process and reads the child's peak resident set size
from the kernel (getrusage of children), so nothing in this process counts.
Appends a section to benchmarks/RESULTS.md.

    python -m benchmarks memory VIDEO
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


from benchmarks.harness import ROOT, commit, report
from clusterer import probe


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("video")
    ap.add_argument("--no-write", action="store_true", help="print the section only")
    a = ap.parse_args()
    info = probe(a.video)
    commit_id = commit()  # before the run: the code the child loads
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "clusterer.cli", a.video, "--out", tmp, "-q"], check=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        data = json.loads(next(Path(tmp).glob("*/clusters.json")).read_text())
    faces = sum(len(p["faces"]) for p in data["persons"]) + len(data["unknown"])
    text = "\n".join([
        "", f"## Memory: {Path(a.video).name} ({info.width}×{info.height}, {info.duration / 60:.0f} min, "
            f"{info.fps:g} fps)", "",
        f"`benchmarks/bench_memory.py` at `{commit_id}`: cluster-video at its defaults in a child process.", "",
        "| peak RSS (MiB) | wall (s) | × real time | samples | faces | persons |", "|---|---|---|---|---|---|",
        f"| {peak_mib:.0f} | {wall:.0f} | {info.duration / wall:.2f} | {len(data['sampled'])} | {faces} | "
        f"{len(data['persons'])} |", ""])
    report(text, not a.no_write)


if __name__ == "__main__":
    main()
