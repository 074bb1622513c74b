""""Same person?" suggestions: pairs of persons ranked by the distance
between their mean face encodings (from the feature cache), nearest first,
as Immich and Google Photos ask. Pairs that cannot be one person (on screen
together) and pairs already answered "no" are left out."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..output.export import FEATURES

SUGGESTIONS = 5
"""Pairs shown at a time: answering one brings the next."""


def face_encodings(dest: Path) -> dict[tuple[int, tuple[int, ...]], np.ndarray]:
    """(frame, box) → encoding of every encoded face in the feature cache."""

    try:
        with np.load(dest / FEATURES, allow_pickle=False) as a:
            frames, boxes, encs = a["face_frame"], a["face_box"], a["face_encoding"]
    except (OSError, KeyError, ValueError):
        return {}
    return {(int(f), tuple(int(round(v)) for v in b)): e
            for f, b, e in zip(frames, boxes, encs) if not np.isnan(e).any()}


def _key(face: dict[str, Any]) -> tuple[int, tuple[int, ...]]:
    return int(face["frame"]), tuple(int(round(v)) for v in face["box"])


def suggest(dest: Path, report: dict[str, Any], not_same: Iterable[Iterable[str]] = (),
            hidden: Iterable[str] = (), limit: int = SUGGESTIONS,
            encodings: dict | None = None) -> list[dict[str, Any]]:
    """Up to `limit` pairs {"a", "b", "distance"} of persons, nearest first."""
    encodings = face_encodings(dest) if encodings is None else encodings
    hidden = set(hidden)
    persons = [p for p in report["persons"] if p["id"] not in hidden]
    means, frames, files = [], [], []
    for p in persons:
        e = [encodings[_key(f)] for f in p["faces"] if _key(f) in encodings]
        means.append(np.mean(e, axis=0) if e else None)
        frames.append({f["frame"] for f in p["faces"]})
        files.append({Path(f["file"]).name for f in p["faces"]})
    answered = [tuple(p) for p in not_same]
    pairs = []
    for i in range(len(persons)):
        for j in range(i + 1, len(persons)):
            if means[i] is None or means[j] is None or frames[i] & frames[j]:
                continue
            if any((x in files[i] and y in files[j]) or (y in files[i] and x in files[j]) for x, y in answered):
                continue
            pairs.append((float(np.linalg.norm(means[i] - means[j])), i, j))
    pairs.sort()
    return [{"a": persons[i]["id"], "b": persons[j]["id"], "distance": round(d, 3)} for d, i, j in pairs[:limit]]
