#!/usr/bin/env python3
"""Can faces alone join one person across photos? The ceiling issue #4 meets.

Stage-1 groups are pure (bench_clothing.py's person oracle reaches F ≈ 1.0
from them); what splits a person is that their shots use different photos
(other day, light, clothes), which only the face can join. This measures how
well dlib's encodings separate those pairs, side by side on the same tracks:

  * pairs of tracks whose ground truth differs in person or photo; positive
    when the person is the same (another photo of them), negative otherwise;
  * each track's encoding three ways: the mean of its best faces (what
    clustering uses), the mean of every face, and the best-faces mean after a
    whitening learned from the video's own within-track spread (unsupervised
    metric learning from track constraints, shrunk towards the identity);
  * ROC AUC by encoding distance, and how many positive pairs lie closer
    than the closest negative pair (those a face threshold could join
    without merging two people).

Every face is encoded (track_encodings unbounded) so the three see the same faces.

    python -m benchmarks faces [--seeds 7,11,23,3,5,13] [--append]
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


from benchmarks.harness import auc, track_truth
from benchmarks.harness import study

from clusterer import FaceAnalyzer, extract, probe
from clusterer.settings import default
from clusterer.grouping.table import encode_tracks

SHRINK = 0.9
"""Whitening: within-track covariance shrunk this far towards a multiple of the
identity (the best of 0.1–0.9 on these videos; lower shrinkage did worse)."""

WAYS = ("best faces", "every face", "whitened")


def whitening(ex, shrink: float = SHRINK) -> np.ndarray:
    """(128, 128) inverse square root of the shrunk within-track covariance."""
    res = []
    for t in ex.tracks:
        e = np.array([ex.faces[i].encoding for i in t.items if ex.faces[i].encoding is not None])
        if len(e) >= 2:
            res.append(e - e.mean(0))
    cov = np.cov(np.concatenate(res).T)
    cov = (1 - shrink) * cov + shrink * np.trace(cov) / len(cov) * np.eye(len(cov))
    w, v = np.linalg.eigh(cov)
    return v @ np.diag(w ** -0.5) @ v.T


def encodings(ex) -> tuple[dict[str, np.ndarray], np.ndarray]:
    best, good = encode_tracks(ex, min_quality=default("min_quality"), budget=default("track_encodings"))
    every = np.array([np.mean([ex.faces[i].encoding for i in t.items], axis=0) for t in ex.tracks])
    return {"best faces": best, "every face": every, "whitened": best @ whitening(ex)}, good


def run_seed(video: Path) -> dict:
    ex = extract(video, probe(video), FaceAnalyzer(), track_encodings=10**6)
    truth = track_truth(ex, json.loads(video.with_suffix(".gt.json").read_text()))
    enc, good = encodings(ex)
    idx = [k for k, t in enumerate(truth) if t[0] and good[k]]
    pairs = [(a, b) for i, a in enumerate(idx) for b in idx[i + 1:] if truth[a] != truth[b]]
    y = np.array([truth[a][0] == truth[b][0] for a, b in pairs], dtype=bool)
    row = {"video": video.stem, "tracks": len(idx), "positive": int(y.sum()), "negative": int((~y).sum())}
    for way in WAYS:
        e = enc[way]
        d = np.array([np.linalg.norm(e[a] - e[b]) for a, b in pairs])
        row[way] = {"auc": auc(y, d), "separable": int((d[y] < d[~y].min()).sum()) if (~y).any() else 0}
        if way == WAYS[0]:
            row["median_pos"] = float(np.median(d[y])) if y.any() else float("nan")
            row["min_neg"] = float(d[~y].min()) if (~y).any() else float("nan")
    print(json.dumps(row), flush=True)
    return row


def markdown(rows: list[dict], commit_id: str) -> str:
    out = [f"## Faces across photos: the ceiling of issue #4 (`benchmarks/bench_faces.py`, commit `{commit_id}`)",
           "",
           "Pairs of tracks that differ in person or photo; positive = the same person in another photo. "
           "AUC by encoding distance, and positive pairs closer than every negative pair (joinable by a "
           "face threshold without merging two people). Best faces: what clustering uses; every face: "
           "the mean of all; whitened: best faces after whitening by the video's within-track spread "
           f"(shrinkage {SHRINK}).", "",
           "| video | tracks | positive / negative pairs | median positive d | closest negative d | "
           + " | ".join(f"{w}: AUC, joinable" for w in WAYS) + " |",
           "|" + "---|" * (5 + len(WAYS))]
    for r in rows:
        out.append(f"| {r['video']} | {r['tracks']} | {r['positive']} / {r['negative']} | "
                   f"{r['median_pos']:.3f} | {r['min_neg']:.3f} | "
                   + " | ".join(f"{r[w]['auc']:.3f}, {r[w]['separable']}/{r['positive']}" for w in WAYS) + " |")
    pos = sum(r["positive"] for r in rows)
    out.append("| all | | | | | " + " | ".join(
        f"{np.mean([r[w]['auc'] for r in rows]):.3f}, {sum(r[w]['separable'] for r in rows)}/{pos}" for w in WAYS)
               + " |")
    return "\n".join(out) + "\n"


def main() -> None:
    study(__doc__, run_seed, markdown)


if __name__ == "__main__":
    main()
