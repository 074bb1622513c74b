#!/usr/bin/env python3
"""Dark and faded footage: faces searched, placed and encoded on such pictures corrected (the default) or as they are.

Night scenes, dim rooms, underexposed home video, haze and washed-out
transfers are common; the networks were trained on well-exposed photos. This
study makes three copies of the three tuned composites and the six real clips
with ffmpeg (H.264 CRF 18): "dark", every channel × 0.3 throughout; "half
dark", × 0.3 from the middle on, so that each person is seen both lit and
dark, and whether the two are grouped as one shows whether the encodings
agree across the change; "haze", every channel × 0.35 + 120. The pipeline
runs at its defaults on each, in one process, with clusterer.faces.exposure
on and off (`exposure.levels` patched to none), the order alternated video by
video: detection recall, two-stage BCubed F (P), F over every labelled face,
persons, detections matching no labelled face (all; in persons) and wall
seconds. `--colour` adds the originals.

    python -m benchmarks dark [--colour] [--kinds dark,haze] [--append]
"""
from __future__ import annotations

import argparse
import json
import subprocess
from unittest import mock
from pathlib import Path

from benchmarks.harness import (CLIPS, LABELS, REAL, ROOT, build_video, commit, report, scored_run, side_by_side,
                                side_by_side_section, transcoded)
from clusterer.faces import exposure

OUT = ROOT / "bench-out" / "dark"
SEEDS = (7, 11, 23)
KINDS = ("half dark", "dark", "haze", "colour")
"""The copies (and the originals), as the end of a case's name reads."""
DIM = 0.3
"""Every channel's factor in the dark copies."""
HAZE = (0.35, 120)
"""Every channel's factor and offset in the hazy copies."""


def duration(video: Path) -> float:
    """`video`'s length in seconds (ffprobe)."""
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(video)],
                       capture_output=True, text=True, check=True)
    return float(json.loads(r.stdout)["format"]["duration"])


def copies(video: Path, kinds: set[str]) -> list[tuple[str, Path]]:
    """(kind, path) of `video`'s copies of these kinds (made when missing)."""
    lut = f"lutrgb=r=val*{DIM}:g=val*{DIM}:b=val*{DIM}"
    haze = f"lutrgb=r=val*{HAZE[0]}+{HAZE[1]}:g=val*{HAZE[0]}+{HAZE[1]}:b=val*{HAZE[0]}+{HAZE[1]}"
    out = []
    if "dark" in kinds:
        out.append(("dark", transcoded(video, OUT / f"{video.stem}_dark.mp4", lut, 18)))
    if "half dark" in kinds:
        half = f"{lut}:enable='gte(t,{duration(video) / 2:.2f})'"
        out.append(("half dark", transcoded(video, OUT / f"{video.stem}_halfdark.mp4", half, 18)))
    if "haze" in kinds:
        out.append(("haze", transcoded(video, OUT / f"{video.stem}_haze.mp4", haze, 18)))
    return out


def one(video: Path, truth: Path, on: bool) -> dict:
    """The default run of `video`, dark and faded pictures corrected or not."""
    with mock.patch.object(exposure, "levels", exposure.levels if on else lambda rgb: exposure.AS_IT_IS):
        return scored_run(video, truth)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--colour", action="store_true", help="also the original videos")
    ap.add_argument("--kinds", default="dark,half dark,haze", help="the copies, comma-separated")
    ap.add_argument("--append", action="store_true", help="write the section into benchmarks/RESULTS.md")
    a = ap.parse_args()
    commit_id = commit()
    originals = [(f"hard_s{seed}_60s", build_video(ROOT / "bench-out", seed, 60, "hard")) for seed in SEEDS]
    originals += [(name, REAL / f"{name}.mp4") for name in CLIPS]
    cases = []
    for name, video in originals:
        truth = video.with_suffix(".gt.json") if name.startswith("hard") else LABELS / f"{name}.csv"
        cases += [(f"{name} {kind}", copy, truth) for kind, copy in copies(video, set(a.kinds.split(",")))]
        if a.colour:
            cases.append((f"{name} colour", video, truth))
    rows = side_by_side(cases, {"as it is": lambda v, t: one(v, t, False), "corrected": lambda v, t: one(v, t, True)},
                        group=lambda name: next(k for k in KINDS if name.endswith(" " + k)))
    report(side_by_side_section(
        f"Dark and faded footage: such pictures corrected (`benchmarks/bench_dark.py`, commit `{commit_id}`)",
        f"Copies (ffmpeg `lutrgb`; every channel × {DIM}: \"dark\" throughout, \"half dark\" from the middle on; "
        f"× {HAZE[0]} + {HAZE[1]}: \"haze\") of the tuned composites 7, 11, 23 and the six real clips, the pipeline "
        "at its defaults, dark and faded pictures corrected (clusterer.faces.exposure, the default) or as they are.",
        "dark and faded pictures", rows), a.append)


if __name__ == "__main__":
    main()
