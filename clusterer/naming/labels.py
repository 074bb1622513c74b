"""Ground truth from a corrected result folder: `cluster-video labels OUT/<video> -o truth.csv`.

The labelling loop: run at high recall, rename the person folders and move
crops between them (the correction workflow of naming/folders.py), then export; the
CSV is what `cluster-video evaluate` reads (frame, time, box, identity), so
later runs, other thresholds and other detectors are scored against it.

What is written: one row per crop in a folder you named, its identity the
folder's name. Crops still in a person_NNN/ folder are the tool's guesses,
not yours: left out, unless `include_generic` (--all), then with that
folder's name as identity. Crops in unknown/ have no identity and are never
written. A crop is recognised by its file name in clusters.json, so move
crops, do not rename them; a file the last run did not write is skipped and
counted.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import ClusterVideoError
from .folders import GENERIC

HEADER = ("frame", "time", "left", "top", "right", "bottom", "identity")
"""The columns of the CSV (evaluate.load_ground_truth reads them)."""


@dataclass(frozen=True)
class LabelRow:
    """One labelled face."""

    frame: int
    time: float
    box_xyxy: tuple[float, float, float, float]
    identity: str


@dataclass(frozen=True)
class Labels:
    """The rows, and what was left out: crops in person_NNN/ folders and files
    no run wrote."""

    rows: tuple[LabelRow, ...]
    generic_left_out: int
    unrecognised: int


def crop_records(dest: Path) -> dict[str, dict]:
    """Crop file name → its face record in the folder's clusters.json (crop
    names are unique across a result, so a moved crop keeps its record)."""
    try:
        data = json.loads((dest / "clusters.json").read_text())
        records = [f for p in data["persons"] for f in p["faces"]] + list(data.get("unknown", []))
        return {Path(r["file"]).name: r for r in records}
    except FileNotFoundError:
        raise ClusterVideoError(f"{dest}: no clusters.json (give a result folder, OUT/<video name>/)") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ClusterVideoError(f"{dest}: not a cluster-video result ({type(e).__name__}: {e})") from None


def collect(dest: str | Path, include_generic: bool = False) -> Labels:
    """The labelled faces of a result folder (see the module doc)."""
    dest = Path(dest)
    by_name = crop_records(dest)
    rows, generic, unrecognised = [], 0, 0
    for folder in sorted(p for p in dest.iterdir() if p.is_dir()):
        if folder.name in ("cache", "unknown") or folder.name.startswith("."):
            continue
        crops = [f for f in sorted(folder.iterdir()) if f.is_file() and f.suffix.lower() == ".jpg"]
        if GENERIC.fullmatch(folder.name) and not include_generic:
            generic += len(crops)
            continue
        for f in crops:
            rec = by_name.get(f.name)
            if rec is None:
                unrecognised += 1
                continue
            box = tuple(float(v) for v in rec["box"])
            rows.append(LabelRow(int(rec["frame"]), float(rec["time"]), box, folder.name))
    rows.sort(key=lambda r: (r.frame, r.box_xyxy))
    return Labels(tuple(rows), generic, unrecognised)


def to_csv(labels: Labels) -> str:
    """The CSV text of the rows."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for r in labels.rows:
        w.writerow([r.frame, round(r.time, 3), *(round(v, 1) for v in r.box_xyxy), r.identity])
    return buf.getvalue()


def write(dest: str | Path, out: str | Path, include_generic: bool = False) -> Labels:
    """Write the labels of `dest` to the new file `out` (an existing file is
    never replaced: that may be someone's ground truth)."""
    out = Path(out)
    labels = collect(dest, include_generic)
    if not labels.rows:
        raise ClusterVideoError(f"{dest}: no face in a folder you named (rename person_NNN/ folders first, "
                                f"or pass --all)")
    try:
        with open(out, "x", newline="") as fh:
            fh.write(to_csv(labels))
    except FileExistsError:
        raise ClusterVideoError(f"{out}: exists; give another file name (it is never replaced)") from None
    except OSError as e:
        raise ClusterVideoError(f"{out}: cannot write ({e.strerror or e})") from None
    return labels
