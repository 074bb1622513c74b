#!/usr/bin/env python3
"""Black and white footage: MTCNN's search of colourless frames tinted (the default) or as they are.

Archives hold black and white film; MTCNN was trained on colour photos. This
study makes grey copies (ffmpeg's hue=s=0, H.264 CRF 18) of the three tuned
composites and the six real clips, and runs the whole pipeline at its defaults
on each, in one process, with colourless frames searched tinted
(faces.detectors.GREY_TINT, the default) and as they are (`colourless` patched
to say no), the order alternated video by video: detection recall, two-stage
BCubed F (P), persons, detections matching no labelled face (all; in persons)
and wall seconds.

    python -m benchmarks grey [--append]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import CLIPS, LABELS, REAL, ROOT, build_video, commit, report, transcoded
from clusterer import run
from clusterer.evaluate import evaluate, load_ground_truth, predictions
from clusterer.faces import detectors
from clusterer.geometry import box_iou

OUT = ROOT / "bench-out" / "grey"
SEEDS = (7, 11, 23)


def grey_copy(video: Path) -> Path:
    """`video` without its colour (made when missing)."""
    return transcoded(video, OUT / f"{video.stem}_grey.mp4", "hue=s=0", 18)


def one(video: Path, truth: Path, tint: bool) -> dict:
    """The default run of `video`, its colourless frames searched tinted or not."""
    real = detectors.colourless
    if not tint:
        detectors.colourless = lambda rgb: False
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            res, _ = run(video, out=tmp)
            wall = time.perf_counter() - t0
    finally:
        detectors.colourless = real
    gt = load_ground_truth(truth, res.sampled, res.video.fps)
    boxes: dict[int, list] = {}
    for frame, _, box in gt:
        boxes.setdefault(frame, []).append(box)
    f = evaluate(predictions(res.persons, res.unknown), res.sampled, gt)
    stray = sum(1 for p in res.persons for s in p.sightings
                if max((box_iou(s.face.box_xyxy, b) for b in boxes.get(s.face.frame, [])), default=0) < 0.3)
    return {"det": f["det_recall"], "f": f["bcubed_f"], "p": f["bcubed_p"], "persons": f["persons"],
            "false": f["false_faces"], "false_in": stray, "wall": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--append", action="store_true", help="write the section into benchmarks/RESULTS.md")
    a = ap.parse_args()
    commit_id = commit()
    cases = []
    for seed in SEEDS:
        video = build_video(ROOT / "bench-out", seed, 60, "hard")
        cases.append((video.stem, grey_copy(video), video.with_suffix(".gt.json")))
    cases += [(name, grey_copy(REAL / f"{name}.mp4"), LABELS / f"{name}.csv") for name in CLIPS]
    rows, results = [], {True: [], False: []}
    for k, (name, video, truth) in enumerate(cases):
        got = {}
        for tint in ((True, False) if k % 2 == 0 else (False, True)):
            got[tint] = one(video, truth, tint)
            print(name, tint, got[tint], file=sys.stderr, flush=True)
        for tint in (False, True):
            g = got[tint]
            results[tint].append(g)
            rows.append(f"| {name} | {'tinted' if tint else 'as it is'} | {g['det']:.3f} | {g['f']:.3f} ({g['p']:.3f}) | "
                        f"{g['persons']} | {g['false']} ({g['false_in']}) | {g['wall']:.1f} |")
    for tint in (False, True):
        rs = results[tint]
        rows.append(f"| mean (sum) | {'tinted' if tint else 'as it is'} | {sum(r['det'] for r in rs) / len(rs):.3f} | "
                    f"{sum(r['f'] for r in rs) / len(rs):.3f} | | ({sum(r['false_in'] for r in rs)}) | "
                    f"({sum(r['wall'] for r in rs):.1f}) |")
    text = "\n".join([
        "", f"## Black and white footage: colourless frames searched tinted (`benchmarks/bench_grey.py`, commit `{commit_id}`)", "",
        "Grey copies (ffmpeg `hue=s=0`) of the tuned composites 7, 11, 23 and the six real clips, the pipeline at "
        "its defaults, colourless frames searched by MTCNN tinted (GREY_TINT, the default) or as they are; one "
        "process, the order alternated video by video. false: detections matching no labelled face (in persons).", "",
        "| video | colourless frames searched | det_recall | two-stage F (P) | persons | false (in persons) | wall s |",
        "|---|---|---|---|---|---|---|", *rows, ""])
    report(text, a.append)


if __name__ == "__main__":
    main()
