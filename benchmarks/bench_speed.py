#!/usr/bin/env python3
"""Speed, side by side in one run on one video: the decoding floor, the
seed-style pipeline (the tool this project replaces: HOG upsampled once on
every sampled frame, every face encoded) and cluster-video at its defaults,
with a per-stage breakdown. Appends a section to benchmarks/RESULTS.md.

    python benchmarks/bench_speed.py [--video bench-out/hard_s7_60s.mp4]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clusterer import FaceAnalyzer, iter_frames, probe, run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--video", default=str(ROOT / "bench-out" / "hard_s7_60s.mp4"))
    ap.add_argument("--results", default=str(Path(__file__).with_name("RESULTS.md")))
    a = ap.parse_args()
    video = Path(a.video)
    info = probe(video)
    rows = {}

    t0 = time.perf_counter()
    n = sum(1 for _ in iter_frames(video, fps=2.0))
    rows["decode only (2 fps sampled, every frame grabbed)"] = time.perf_counter() - t0

    import cv2
    an = FaceAnalyzer(detector="hog", upsample=1, min_face=0)
    t0 = time.perf_counter()
    faces = 0
    for f in iter_frames(video, fps=2.0):
        faces += len(an.analyze(f))  # detect on the full frame, encode every face
    rows["seed-style: HOG upsample 1 on every sample, every face encoded"] = time.perf_counter() - t0

    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result, dest = run(video, out=tmp, timings=timings)
        rows["cluster-video defaults (two-stage, clothing, tracks, export)"] = time.perf_counter() - t0
        gt = video.with_suffix(".gt.json")
        score = None
        bench = ROOT.parent / "shared" / "bench" / "score.py"
        if gt.exists() and bench.exists():
            score = json.loads(subprocess.run([sys.executable, str(bench), str(gt), str(dest / "clusters.json"),
                                               "--json"], capture_output=True, text=True, check=True).stdout)
    seed = rows["seed-style: HOG upsample 1 on every sample, every face encoded"]
    lines = ["", f"## Speed: {video.name} ({info.width}×{info.height}, {info.duration:.0f} s, {n} samples at 2 fps)",
             "", "`benchmarks/bench_speed.py`, one process, side by side.", "",
             "| pipeline | seconds | × real time | × faster than seed-style |", "|---|---|---|---|"]
    for name, t in rows.items():
        lines.append(f"| {name} | {t:.1f} | {info.duration / t:.2f} | {seed / t:.2f} |")
    total = sum(timings.values())
    lines += ["", "Where cluster-video's extraction time goes:", "", "| stage | seconds | share |", "|---|---|---|"]
    lines += [f"| {k} | {v:.2f} | {100 * v / total:.0f} % |" for k, v in sorted(timings.items(), key=lambda kv: -kv[1])]
    if score:
        lines += ["", f"Accuracy of that default run: BCubed P {score['bcubed_p']}, R {score['bcubed_r']}, "
                      f"F {score['bcubed_f']}, det_recall {score['det_recall']}."]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.results:
        with open(a.results, "a") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
