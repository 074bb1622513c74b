#!/usr/bin/env python3
"""Dark footage: faces searched, placed and encoded on dark pictures brightened (the default) or as they are.

Night scenes, dim rooms and underexposed home video are common; the
networks were trained on well-exposed photos. This study makes two copies of
the three tuned composites and the six real clips with ffmpeg (H.264 CRF 18):
"dark", every channel × 0.3 throughout, and "half dark", × 0.3 from the
middle on, so that each person is seen both lit and dark, and whether the two
are grouped as one shows whether the encodings agree across the change. The
pipeline runs at its defaults on each, in one process, with
clusterer.faces.exposure on and off (`exposure.gain` patched to 1), the order
alternated video by video: detection recall, two-stage BCubed F (P),
persons, detections matching no labelled face (all; in persons) and wall
seconds. `--colour` adds the originals.

    python -m benchmarks dark [--colour] [--append]
"""
from __future__ import annotations

import argparse
import json
import subprocess
from unittest import mock
from pathlib import Path

from benchmarks.harness import CLIPS, LABELS, REAL, ROOT, build_video, commit, report, scored_run, side_by_side, side_by_side_section, transcoded
from clusterer.faces import exposure

OUT = ROOT / "bench-out" / "dark"
SEEDS = (7, 11, 23)
KINDS = ("half dark", "dark", "colour")
"""The copies (and the originals), as the end of a case's name reads."""
DIM = 0.3
"""Every channel's factor in the dark copies."""


def duration(video: Path) -> float:
    """`video`'s length in seconds (ffprobe)."""
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(video)],
                       capture_output=True, text=True, check=True)
    return float(json.loads(r.stdout)["format"]["duration"])


def copies(video: Path) -> list[tuple[str, Path]]:
    """(kind, path) of `video`'s dark and half-dark copies (made when missing)."""
    lut = f"lutrgb=r=val*{DIM}:g=val*{DIM}:b=val*{DIM}"
    half = duration(video) / 2
    return [("dark", transcoded(video, OUT / f"{video.stem}_dark.mp4", lut, 18)),
            ("half dark", transcoded(video, OUT / f"{video.stem}_halfdark.mp4", f"{lut}:enable='gte(t,{half:.2f})'", 18))]


def one(video: Path, truth: Path, on: bool) -> dict:
    """The default run of `video`, dark pictures brightened or not."""
    with mock.patch.object(exposure, "gain", exposure.gain if on else lambda rgb: 1.0):
        return scored_run(video, truth)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--colour", action="store_true", help="also the original videos")
    ap.add_argument("--append", action="store_true", help="write the section into benchmarks/RESULTS.md")
    a = ap.parse_args()
    commit_id = commit()
    originals = [(f"hard_s{seed}_60s", build_video(ROOT / "bench-out", seed, 60, "hard")) for seed in SEEDS]
    originals += [(name, REAL / f"{name}.mp4") for name in CLIPS]
    cases = []
    for name, video in originals:
        truth = video.with_suffix(".gt.json") if name.startswith("hard") else LABELS / f"{name}.csv"
        cases += [(f"{name} {kind}", copy, truth) for kind, copy in copies(video)]  # (KINDS)
        if a.colour:
            cases.append((f"{name} colour", video, truth))
    rows = side_by_side(cases, {"as it is": lambda v, t: one(v, t, False), "brightened": lambda v, t: one(v, t, True)},
                        group=lambda name: next(k for k in KINDS if name.endswith(" " + k)))
    report(side_by_side_section(
        f"Dark footage: dark pictures brightened (`benchmarks/bench_dark.py`, commit `{commit_id}`)",
        f"Copies (ffmpeg `lutrgb`, every channel × {DIM}: \"dark\" throughout, \"half dark\" from the middle on) "
        "of the tuned composites 7, 11, 23 and the six real clips, the pipeline at its defaults, dark pictures "
        "brightened (clusterer.faces.exposure, the default) or as they are.", "dark pictures", rows), a.append)


if __name__ == "__main__":
    main()
