#!/usr/bin/env python3
"""What clothing can and cannot do on the hard benchmark.

For each video (built by ../shared/bench/benchgen.py, as run_bench.py does),
one extraction at the defaults, then, side by side on the same features:

  * same-outfit ROC AUC: pairs of tracks from different shots, labelled
    "same outfit" when the ground truth gives them the same person in the
    same photo; scored by clothing distance for the CNN alone, the colour
    histogram alone, the default mix (--cloth-colour) and the layout (where
    the colours are: a second, strict pass in two-stage grouping);
  * BCubed F / precision of two-stage and fused with the CNN alone and with
    the default mix (the clothing vectors are split back into their parts:
    WithColour keeps both, scaled by known weights), and two-stage without
    the layout pass;
  * two upper bounds for any clothing stage built on stage 1 (faces at 0.36):
    an oracle that joins every stage-1 group showing the same person in the
    same outfit (perfect clothing matching), and one that joins every group of
    the same person (perfect re-identification), never across a shared frame.

    python -m benchmarks clothing [--seeds 7,11,23,3,5,13] [--append]
"""
from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import numpy as np


from benchmarks.harness import auc, study, track_truth

from clusterer import FaceAnalyzer, cluster, extract, probe
from clusterer.clothing.embedders import Clothing
from clusterer.settings import default
from clusterer.evaluate import evaluate, load_ground_truth, predictions
from clusterer.clothing.embedders import make_embedder
from clusterer.types import group

CNN_DIM = 1280


def split(vec: np.ndarray, w: float) -> tuple[np.ndarray, np.ndarray]:
    """The CNN and colour parts of a WithColour vector of weight w (both unit)."""
    return vec[:CNN_DIM] / np.sqrt(1 - w), vec[CNN_DIM:] / np.sqrt(w)


def remix(ex, w_built: float, w: float):
    """`ex` with every clothing vector re-weighted to colour weight `w`."""
    worn = []
    for c in ex.clothing:
        if c.embedding is None:
            worn.append(c)
            continue
        cnn, col = split(c.embedding, w_built)
        v = np.concatenate([np.sqrt(1 - w) * cnn, np.sqrt(w) * col]).astype(np.float32)
        worn.append(Clothing(c.box_xyxy, v, c.crop_jpeg))
    return dataclasses.replace(ex, clothing=tuple(worn))


def outfit_auc(ex, truth, w_built: float) -> dict[str, float]:
    parts = []
    for t in ex.tracks:
        worn = [ex.clothing[i] for i in t.items if ex.clothing[i].embedding is not None]
        if not worn:
            parts.append(None)
            continue
        cnn, col = zip(*(split(c.embedding, w_built) for c in worn))
        parts.append((np.mean(cnn, 0), np.mean(col, 0), np.mean([c.layout for c in worn], 0)))
    idx = [k for k, p in enumerate(parts) if p is not None and truth[k][0]]
    pairs = [(a, b) for i, a in enumerate(idx) for b in idx[i + 1:] if ex.tracks[a].scene != ex.tracks[b].scene]
    y = np.array([truth[a] == truth[b] for a, b in pairs], dtype=bool)

    def cos_d(u, v):
        return 1 - (u @ v) / (np.linalg.norm(u) * np.linalg.norm(v))

    d_cnn = np.array([cos_d(parts[a][0], parts[b][0]) for a, b in pairs])
    d_col = np.array([cos_d(parts[a][1], parts[b][1]) for a, b in pairs])
    d_lay = np.array([cos_d(parts[a][2], parts[b][2]) for a, b in pairs])
    w = default("cloth_colour")
    return {"pairs": len(pairs), "same_outfit": int(y.sum()), "auc_cnn": auc(y, d_cnn),
            "auc_colour": auc(y, d_col), "auc_mix": auc(y, (1 - w) * d_cnn + w * d_col),
            "auc_layout": auc(y, d_lay)}


def oracle(ex, truth, key):
    """Stage 1 (faces at the default threshold, every group kept), then every two
    groups with the same key(truth) joined unless they share a frame; then the
    usual size rule. Unconfirmed tracks stay unknown, as in two-stage."""
    persons, unknown = cluster(ex, mode="faces", min_faces=1)
    frames = {t.id: {ex.faces[i].frame for i in t.items} for t in ex.tracks}
    groups = [sorted({s.track for s in p.sightings}) for p in persons]
    groups += [[s.track] for s in unknown if s.reason == "low-quality"]
    groups = [sorted(set(g)) for g in groups]
    groups = list({tuple(g): g for g in groups}.values())
    label = {g[0]: Counter(key(truth[t]) for t in g).most_common(1)[0][0] for g in groups}
    merged: dict = {}
    for g in groups:
        k = label[g[0]]
        for m in merged.setdefault(k, []):
            if not (set().union(*(frames[t] for t in m)) & set().union(*(frames[t] for t in g))):
                m.extend(g)
                break
        else:
            merged[k].append(list(g))
    lab = {t: n for n, m in enumerate(m for ms in merged.values() for m in ms) for t in m}
    size = Counter()
    for t in ex.tracks:
        size[lab.get(t.id, -1)] += len(t.items)
    sights = [s for p in persons for s in p.sightings] + list(unknown)
    labels = [lab.get(s.track, -1) if (s.reason in (None, "low-quality") and size[lab.get(s.track, -1)]
                                       >= default("min_faces")) else -1 for s in sights]
    return group(sights, labels)


def run_seed(video: Path) -> dict:
    info = probe(video)
    gt = json.loads(video.with_suffix(".gt.json").read_text())
    w = default("cloth_colour")
    ex = extract(video, info, FaceAnalyzer(), make_embedder(None, "cpu", w))
    gt_faces = load_ground_truth(video.with_suffix(".gt.json"), ex.sampled, info.fps)
    truth = track_truth(ex, gt)

    def score(persons_unknown):
        f = evaluate(predictions(*persons_unknown), ex.sampled, gt_faces)
        return round(f["bcubed_f"], 3), round(f["bcubed_p"], 3)

    cnn_only = remix(ex, w, 0.0)
    row = {"video": video.stem, **outfit_auc(ex, truth, w),
           "faces": score(cluster(ex, mode="faces")),
           "two-stage cnn": score(cluster(cnn_only)), "two-stage mix": score(cluster(ex)),
           "two-stage no layout": score(cluster(ex, layout_threshold=0.0)),
           "fused cnn": score(cluster(cnn_only, mode="fused")), "fused mix": score(cluster(ex, mode="fused")),
           "oracle outfit": score(oracle(ex, truth, lambda t: t)),
           "oracle person": score(oracle(ex, truth, lambda t: t[0]))}
    print(json.dumps(row), flush=True)
    return row


def markdown(rows: list[dict], commit_id: str) -> str:
    w = default("cloth_colour")
    cols = ["faces", "two-stage cnn", "two-stage mix", "two-stage no layout", "fused cnn", "fused mix",
            "oracle outfit", "oracle person"]
    out = [f"## Clothing: what it adds, and the most it could (`benchmarks/bench_clothing.py`, commit `{commit_id}`)",
           "",
           f"Same-outfit ROC AUC over pairs of tracks from different shots, by clothing distance: CNN alone, "
           f"colour histogram alone, the default mix (--cloth-colour {w:g}) and the layout. Then BCubed F "
           "(precision) with the CNN alone (cnn) and the mix (mix), two-stage without the layout pass, and "
           "the two oracles (see the script).", "",
           "| video | pairs (same outfit) | AUC cnn | AUC colour | AUC mix | AUC layout | " + " | ".join(cols) + " |",
           "|" + "---|" * (6 + len(cols))]
    for r in rows:
        out.append(f"| {r['video']} | {r['pairs']} ({r['same_outfit']}) | {r['auc_cnn']:.3f} | "
                   f"{r['auc_colour']:.3f} | {r['auc_mix']:.3f} | {r['auc_layout']:.3f} | "
                   + " | ".join(f"{r[c][0]:.3f} ({r[c][1]:.3f})" for c in cols) + " |")
    mean = {c: np.mean([r[c][0] for r in rows]) for c in cols}
    minp = {c: min(r[c][1] for r in rows) for c in cols}
    out.append(f"| mean (min P) | | {np.mean([r['auc_cnn'] for r in rows]):.3f} | "
               f"{np.mean([r['auc_colour'] for r in rows]):.3f} | {np.mean([r['auc_mix'] for r in rows]):.3f} | "
               f"{np.mean([r['auc_layout'] for r in rows]):.3f} | "
               + " | ".join(f"{mean[c]:.3f} ({minp[c]:.3f})" for c in cols) + " |")
    return "\n".join(out) + "\n"


def main() -> None:
    study(__doc__, run_seed, markdown)


if __name__ == "__main__":
    main()
