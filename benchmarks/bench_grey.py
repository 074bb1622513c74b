#!/usr/bin/env python3
"""Black and white footage: MTCNN's search of colourless frames tinted (the default) or as they are.

Archives hold black and white film; MTCNN was trained on colour photos. This
study makes grey copies (ffmpeg's hue=s=0, H.264 CRF 18) of the three tuned
composites and the six real clips, and runs the whole pipeline at its defaults
on each, in one process, with colourless frames searched tinted
(faces.exposure.GREY_TINT, the default) and as they are (`colourless` patched
to say no), the order alternated video by video: detection recall, two-stage
BCubed F (P), persons, detections matching no labelled face (all; in persons)
and wall seconds.

    python -m benchmarks grey [--append]
"""
from __future__ import annotations

import argparse
from unittest import mock
from pathlib import Path

from benchmarks.harness import (CLIPS, LABELS, REAL, ROOT, build_video, commit, report, scored_run, side_by_side,
                                side_by_side_section, transcoded)
from clusterer.faces import exposure

OUT = ROOT / "bench-out" / "grey"
SEEDS = (7, 11, 23)


def grey_copy(video: Path) -> Path:
    """`video` without its colour (made when missing)."""
    return transcoded(video, OUT / f"{video.stem}_grey.mp4", "hue=s=0", 18)


def one(video: Path, truth: Path, tint: bool) -> dict:
    """The default run of `video`, its colourless frames searched tinted or not."""
    with mock.patch.object(exposure, "colourless", exposure.colourless if tint else lambda rgb: False):
        return scored_run(video, truth)


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
    rows = side_by_side(cases, {"as it is": lambda v, t: one(v, t, False), "tinted": lambda v, t: one(v, t, True)})
    report(side_by_side_section(
        f"Black and white footage: colourless frames searched tinted (`benchmarks/bench_grey.py`, commit `{commit_id}`)",
        "Grey copies (ffmpeg `hue=s=0`) of the tuned composites 7, 11, 23 and the six real clips, the pipeline at "
        "its defaults, colourless frames searched by MTCNN tinted (GREY_TINT, the default) or as they are.",
        "colourless frames searched", rows), a.append)


if __name__ == "__main__":
    main()
