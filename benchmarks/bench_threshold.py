#!/usr/bin/env python3
"""Threshold advice, checked on videos it was not chosen on.

The README advises --threshold 0.44 (or --mode fused) when one person is
split over folders; 0.44 was picked on the six videos of the side-by-side
studies. This sweeps two-stage over thresholds, with fused beside it, on
those six and on four more seeds never used to choose anything (held out),
each from one extraction at the defaults; BCubed F (precision) per video,
then mean F and min P of each set.

    python -m benchmarks threshold [--seeds 7,11,23,3,5,13,17,19,29,31] [--append]
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


from benchmarks.harness import SIX_SEEDS, study

from clusterer import FaceAnalyzer, cluster, extract, probe
from clusterer.evaluate import evaluate, load_ground_truth, predictions
from clusterer.clothing.embedders import make_embedder

HELD_OUT = "17,19,29,31"
"""Seeds first generated after the advice was given: nothing was tuned on them."""

THRESHOLDS = (0.36, 0.40, 0.44, 0.48)
ROWS = tuple(f"two-stage {t:.2f}" for t in THRESHOLDS) + ("fused",)


def run_seed(video: Path) -> dict:
    info = probe(video)
    ex = extract(video, info, FaceAnalyzer(), make_embedder())
    gt = load_ground_truth(video.with_suffix(".gt.json"), ex.sampled, info.fps)
    out = {"video": video.stem}
    for name, kw in zip(ROWS, [{"threshold": t} for t in THRESHOLDS] + [{"mode": "fused"}]):
        f = evaluate(predictions(*cluster(ex, **kw)), ex.sampled, gt)
        out[name] = (f["bcubed_f"], f["bcubed_p"])
    print(out, flush=True)
    return out


def markdown(rows: list[dict], commit_id: str) -> str:
    tuned = {f"hard_s{s}_60s" for s in SIX_SEEDS.split(",")}
    sets = [("tuning six", [r for r in rows if r["video"] in tuned]),
            ("held out", [r for r in rows if r["video"] not in tuned])]
    out = [f"## Threshold advice on held-out videos (`benchmarks/bench_threshold.py`, commit `{commit_id}`)", "",
           "Two-stage at each --threshold and fused, one extraction per video at the defaults. "
           f"BCubed F (precision). The held-out seeds ({HELD_OUT}) were never used to choose a setting.", "",
           "| video | " + " | ".join(ROWS) + " |", "|" + "---|" * (1 + len(ROWS))]
    for r in rows:
        out.append(f"| {r['video']} | " + " | ".join(f"{r[k][0]:.3f} ({r[k][1]:.3f})" for k in ROWS) + " |")
    for name, sel in sets:
        if sel:
            out.append(f"| **{name}: mean F (min P)** | " + " | ".join(
                f"{np.mean([r[k][0] for r in sel]):.3f} ({min(r[k][1] for r in sel):.3f})" for k in ROWS) + " |")
    return "\n".join(out) + "\n"


def main() -> None:
    study(__doc__, run_seed, markdown, seeds=f"{SIX_SEEDS},{HELD_OUT}")


if __name__ == "__main__":
    main()
