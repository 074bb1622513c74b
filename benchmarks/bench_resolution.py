#!/usr/bin/env python3
"""Large frames: the default smallest face (scaled to the frame) against a fixed --min-face 20.

The benchmark videos are 720p or smaller; users' footage is often 1080p or 4K.
This study upscales 720p videos (hard composites, built when missing, and the
real clip fotb_dinner with its labels) to each height asked for, with ffmpeg,
scales their ground truth with them, and runs the CLI at its defaults and with
`--min-face 20` in fresh processes, alternated round by round. Per run: wall
seconds, CPU seconds and peak RSS of that process (os.wait4), and the scores
of `cluster-video evaluate`. At 720p both are the same setting (20 px), so
the default reproduces on an upscaled copy what the original gives.

    python -m benchmarks resolution [--videos s7,s11,s23,fotb_dinner] [--heights 1080,2160] [--rounds 2] [--append]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import LABELS, REAL, ROOT, build_video, commit, report, transcoded
from clusterer import probe

OUT = ROOT / "bench-out" / "resolution"


def source(name: str) -> tuple[Path, Path]:
    """(720p video, its ground truth): sN is the hard composite of seed N, else a real clip."""
    if name.startswith("s") and name[1:].isdigit():
        video = build_video(ROOT / "bench-out", int(name[1:]), 60, "hard")
        return video, video.with_suffix(".gt.json")
    return REAL / f"{name}.mp4", LABELS / f"{name}.csv"


def upscaled(name: str, height: int) -> tuple[Path, Path]:
    """The video `name` upscaled to `height` lines (H.264, CRF 20) and its truth, made when missing."""
    video, truth = source(name)
    info = probe(video)
    k = height / min(info.width, info.height)
    width = int(round(info.width * k / 2)) * 2
    dest = transcoded(video, OUT / f"{name}_{height}p.mp4", f"scale={width}:{height}", 20)
    if truth.suffix == ".json":
        gt = json.loads(truth.read_text())
        gt["width"], gt["height"] = width, height
        gt["faces"] = [[f, who, *(round(v * k) for v in box)] for f, who, *box in gt["faces"]]
        out = dest.with_suffix(".gt.json")
        out.write_text(json.dumps(gt))
    else:
        rows = list(csv.DictReader(truth.open()))
        out = dest.with_suffix(".csv")
        with out.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            for r in rows:
                w.writerow({**r, **{c: str(round(float(r[c]) * k)) for c in ("left", "top", "right", "bottom")}})
    return dest, out


def one_run(video: Path, truth: Path, extra: list[str]) -> dict:
    """A fresh CLI run: wall, CPU s and peak RSS (MiB) of its process, and its scores."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "clusterer.cli", str(video), "--out", tmp, "-q", *extra],
                                 cwd=ROOT)
        _, status, use = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t0
        if status:
            raise RuntimeError(f"cluster-video failed on {video}")
        folder = next(Path(tmp).iterdir())
        ev = subprocess.run([sys.executable, "-m", "clusterer.cli", "evaluate", str(folder), str(truth), "--json"],
                            capture_output=True, text=True, check=True, cwd=ROOT)
        scores = json.loads(ev.stdout)
        px = json.loads((folder / "clusters.json").read_text())["settings"].get("min_face_px")
    return {"wall": wall, "cpu": use.ru_utime + use.ru_stime, "rss": use.ru_maxrss / 1024, "px": px,
            "det": scores["det_recall"], "p": scores["bcubed_p"], "f": scores["bcubed_f"], "persons": scores["persons"]}


VARIANTS = {"default": [], "--min-face 20": ["--min-face", "20"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos", default="s7,s11,s23,fotb_dinner")
    ap.add_argument("--heights", default="1080,2160")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--append", action="store_true", help="write the section into benchmarks/RESULTS.md")
    a = ap.parse_args()
    commit_id = commit()
    cases = [(n, h, *upscaled(n, h)) for h in map(int, a.heights.split(",")) for n in a.videos.split(",")]
    runs: dict[tuple[str, int, str], list[dict]] = {}
    for r in range(a.rounds):
        for name, height, video, truth in cases:
            order = list(VARIANTS) if r % 2 == 0 else list(VARIANTS)[::-1]
            for v in order:
                got = one_run(video, truth, VARIANTS[v])
                runs.setdefault((name, height, v), []).append(got)
                print(name, height, v, got, file=sys.stderr, flush=True)
    rows = []
    for name, height, video, _ in cases:
        info = probe(video)
        for v in VARIANTS:
            rs = runs[(name, height, v)]
            med = {k: statistics.median(x[k] for x in rs) for k in ("wall", "cpu", "rss")}
            last = rs[-1]  # the scores: a run is deterministic, so every round's are the same
            if any((x["det"], x["f"], x["p"]) != (last["det"], last["f"], last["p"]) for x in rs):
                print(f"{name} {height} {v}: the rounds' scores differ", file=sys.stderr)
            rows.append(f"| {name} | {info.width}×{info.height} | {v} ({last['px']} px) | {med['wall']:.1f} | "
                        f"{info.duration / med['wall']:.2f} | {med['cpu']:.1f} | {med['rss']:.0f} | {last['det']:.3f} | "
                        f"{last['f']:.3f} ({last['p']:.3f}) | {last['persons']} |")
    text = "\n".join([
        "", f"## Large frames: the smallest face scaled to the frame (`benchmarks/bench_resolution.py`, commit `{commit_id}`)", "",
        f"720p videos upscaled with ffmpeg (H.264, CRF 20), their truth scaled with them; the CLI at its defaults "
        f"and with `--min-face 20`, fresh processes, alternated, {a.rounds} rounds: median wall, CPU s and peak RSS "
        f"of the process; det_recall, two-stage BCubed F (P) and persons from `cluster-video evaluate`.", "",
        "| video | size | min face | wall s | × real time | CPU s | peak RSS MiB | det_recall | F (P) | persons |",
        "|---|---|---|---|---|---|---|---|---|---|", *rows, ""])
    report(text, a.append)


if __name__ == "__main__":
    main()
