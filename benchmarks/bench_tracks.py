#!/usr/bin/env python3
"""Tracks on weak detections: --track-score 0 (only detections over dlib's own
cut-off) against the default, side by side on the same videos.

For each hard benchmark video, extraction at both settings, then every mode;
reported: detection recall (share of ground-truth faces on the sampled frames
that were found), faces found, detections matching no ground-truth face (in
all, and inside persons), and BCubed F (precision) per mode.

    python -m benchmarks tracks [--seeds 7,11,23,3,5,13] [--append]
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np


from benchmarks.harness import commit, report, six_videos

from clusterer import FaceAnalyzer, cluster, extract, probe
from clusterer.settings import default
from clusterer.evaluate import evaluate, load_ground_truth, predictions
from clusterer.faces.analyzer import box_iou
from clusterer.clothing.embedders import make_embedder

MODES = ("faces", "two-stage", "fused")


def run_seed(video: Path, track_score: float) -> dict:
    info = probe(video)
    t0 = time.perf_counter()
    ex = extract(video, info, FaceAnalyzer(track_score=track_score), make_embedder(None, "cpu"))
    wall = time.perf_counter() - t0
    gt = load_ground_truth(video.with_suffix(".gt.json"), ex.sampled, info.fps)
    by_frame: dict[int, list] = {}
    for fr, _, box in gt:
        by_frame.setdefault(fr, []).append(box)
    row = {"video": video.stem, "track_score": track_score, "n_faces": len(ex.faces), "extract_s": round(wall, 1)}
    for mode in MODES:
        persons, unknown = cluster(ex, mode=mode)
        f = evaluate(predictions(persons, unknown), ex.sampled, gt)
        row[mode] = (round(f["bcubed_f"], 3), round(f["bcubed_p"], 3))
        row["det_recall"], row["false_faces"] = round(f["det_recall"], 3), f["false_faces"]
        if mode == default("mode"):
            row["false_in_persons"] = sum(
                1 for p in persons for s in p.sightings
                if not any(box_iou(s.face.box_xyxy, b) >= 0.3 for b in by_frame.get(s.face.frame, [])))
    print(row, flush=True)
    return row


def markdown(rows: list[dict], commit_id: str) -> str:
    out = [f"## Tracks on weak detections (`benchmarks/bench_tracks.py`, commit `{commit_id}`)", "",
           "`--track-score 0` keeps only detections over dlib's cut-off; the default "
           f"({default('track_score')}) lets a track continue on weaker ones that overlap it. Same "
           "videos, side by side in one run. Extraction seconds include clothing.", "",
           "| video | track_score | det_recall | faces | false faces (in persons) | "
           + " | ".join(f"{m} F (P)" for m in MODES) + " | extract s |",
           "|" + "---|" * (6 + len(MODES))]
    for r in rows:
        out.append(f"| {r['video']} | {r['track_score']:g} | {r['det_recall']:.3f} | {r['n_faces']} | "
                   f"{r['false_faces']} ({r['false_in_persons']}) | "
                   + " | ".join(f"{r[m][0]:.3f} ({r[m][1]:.3f})" for m in MODES) + f" | {r['extract_s']} |")
    for ts in dict.fromkeys(r["track_score"] for r in rows):
        sel = [r for r in rows if r["track_score"] == ts]
        out.append(f"| mean (min P) | {ts:g} | {np.mean([r['det_recall'] for r in sel]):.3f} | "
                   f"{sum(r['n_faces'] for r in sel)} | {sum(r['false_faces'] for r in sel)} "
                   f"({sum(r['false_in_persons'] for r in sel)}) | "
                   + " | ".join(f"{np.mean([r[m][0] for r in sel]):.3f} ({min(r[m][1] for r in sel):.3f})"
                                for m in MODES)
                   + f" | {sum(r['extract_s'] for r in sel):.1f} |")
    return "\n".join(out) + "\n"


def main() -> None:
    commit_id = commit()
    videos, append = six_videos(__doc__.split("\n")[0])
    # warm-up: torch's import and the models' loading happen here, not in the first timed run
    extract(videos[0], probe(videos[0]), FaceAnalyzer(), make_embedder(None, "cpu"), end=2.0)
    # alternate the two settings video by video, so a slower minute of the host hits both
    rows = [run_seed(v, ts) for v in videos for ts in (0.0, default("track_score"))]
    rows.sort(key=lambda r: r["track_score"], reverse=True)
    report(markdown(rows, commit_id), append)


if __name__ == "__main__":
    main()
