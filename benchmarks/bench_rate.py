#!/usr/bin/env python3
"""Sampling rates side by side: the same videos at `--fps` 0.5, 1, 2 (the
default) and 4, everything else at the defaults.

`--fps` is the tool's main speed knob (its help says "lower it to run
faster"), while its tracking, searching and grouping settings were chosen at
2 frames/s. Each video is extracted at each rate (the rates alternated video
by video, one process) and grouped at the defaults: BCubed F (precision) over
the faces found, F over every labelled face, detection recall, persons, and
the extraction's seconds.

Scored frames: a composite's ground truth holds every frame; a real clip's
labels hold its 2-frames/s samples, and the sampler takes the frame nearest
each multiple of 1/fps, so at 0.5 and 1 frames/s every sample is a labelled
one and at 4 every other sample is (the others are tracked and grouped, not
scored).

    python -m benchmarks rate [--rates 0.5,1,2,4] [--held-out 37,41] [--clips meeting] [--append]
"""
from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path

from benchmarks.bench_grouping import benchmark_videos, video_options
from benchmarks.harness import ROOT, commit, report, scored
from clusterer import FaceAnalyzer, cluster, extract, probe
from clusterer.clothing.embedders import make_embedder
from clusterer.evaluate import load_ground_truth, predictions
from clusterer.settings import check

WORK = ROOT / "bench-out" / "rate"
"""Extractions with their seconds, pickled per commit and rate."""
RATES = (0.5, 1.0, 2.0, 4.0)


def extraction(video: Path, tag: str, fps: float, analyzer, embedder):
    """(VideoInfo, Extraction, seconds) at `fps`, from WORK when this commit made it."""
    path = WORK / f"{video.stem}.{tag}.fps{fps:g}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    info = probe(video)
    t0 = time.perf_counter()
    ex = extract(video, info, analyzer, embedder, fps=fps)
    out = (info, ex, time.perf_counter() - t0)
    WORK.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(out))
    return out


def scored_frames(sampled, labelled: set[int] | None) -> list[int]:
    """The samples that have labels: all of them when every frame is labelled (None)."""
    return list(sampled) if labelled is None else [f for f in sampled if f in labelled]


def score(pred: list, sampled: list[int], gt: list) -> dict:
    """harness.scored's figures over the faces on `sampled` only (a face on
    an unlabelled sample would count as a false one)."""
    keep = set(sampled)
    out = scored([p for p in pred if p[0] in keep], sampled, [g for g in gt if g[0] in keep], 0.0)
    del out["wall"]  # the extraction's seconds are the row's own
    return out


def run(videos: list[tuple[str, str, Path, Path]], rates: list[float], tag: str) -> list[dict]:
    """One row per (video, rate)."""
    analyzer, embedder = FaceAnalyzer(), make_embedder(None, "cpu")
    if videos:  # the models loaded and warm before any extraction is timed
        extract(videos[0][2], probe(videos[0][2]), analyzer, embedder, end=1.0)
    rows = []
    for n, (group, name, video, gt_path) in enumerate(videos):
        order = rates if n % 2 == 0 else rates[::-1]  # alternated: the host's drift spread over the rates
        done = {fps: extraction(video, tag, fps, analyzer, embedder) for fps in order}
        labelled = None
        if group == "real":  # labels on the 2-frames/s samples (module doc)
            labelled = set(extraction(video, tag, 2.0, analyzer, embedder)[1].sampled)
        for fps in rates:
            info, ex, seconds = done[fps]
            sampled = scored_frames(ex.sampled, labelled)
            gt = load_ground_truth(gt_path, sampled, info.fps)
            persons, unknown = cluster(ex)
            row = {"group": group, "video": name, "fps": fps, "s": round(seconds, 1), "samples": len(ex.sampled),
                   "scored": len(sampled), **score(predictions(persons, unknown), sampled, gt)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def markdown(rows: list[dict], rates: list[float], commit_id: str) -> str:
    cell = {(r["video"], r["fps"]): r for r in rows}
    lines = [f"## Sampling rates (`benchmarks/bench_rate.py`, commit `{commit_id}`)", "",
             "Each video extracted at each `--fps` (one process, the rates' order alternated video by video), "
             "grouped at the defaults. A cell: BCubed F (precision), F over every labelled face, detection "
             "recall, persons; then the extraction's seconds.", "",
             "| group | video | " + " | ".join(f"--fps {r:g}" for r in rates) + " |", "|---" * (len(rates) + 2) + "|"]
    for g in dict.fromkeys(r["group"] for r in rows):
        names = list(dict.fromkeys(r["video"] for r in rows if r["group"] == g))
        for n in names:
            lines.append(f"| {g} | {n} | " + " | ".join(
                "{f:.3f} ({p:.3f}), all {f_all:.3f}, found {det:.3f}, {persons}; {s:.1f} s".format(**cell[(n, r)])
                for r in rates) + " |")
        means = []
        for r in rates:
            sel = [cell[(n, r)] for n in names]
            means.append(f"**{sum(x['f'] for x in sel) / len(sel):.3f}** (min P {min(x['p'] for x in sel):.3f}), "
                         f"all {sum(x['f_all'] for x in sel) / len(sel):.3f}, "
                         f"found {sum(x['det'] for x in sel) / len(sel):.3f}; {sum(x['s'] for x in sel):.0f} s")
        lines.append(f"| {g} | mean | " + " | ".join(means) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rates", default=",".join(f"{r:g}" for r in RATES), help="comma-separated --fps values")
    video_options(ap)
    ap.add_argument("--append", action="store_true", help="write the section into benchmarks/RESULTS.md")
    a = ap.parse_args()
    rates = [float(r) for r in a.rates.split(",") if r.strip()]
    for r in rates:
        check("fps", r)
    commit_id = commit()
    tag = commit_id.split()[0] + ("-dirty" if "uncommitted" in commit_id else "")
    videos = benchmark_videos(a.held_out, a.clips, a.long)
    report(markdown(run(videos, rates, tag), rates, commit_id), a.append)


if __name__ == "__main__":
    main()
