"""Names for persons: known people (--known DIR) and names a user gave by
renaming a result folder, kept across re-runs.

Known people: DIR holds one folder per name with a few photos of that person.
A person gets a known name when the distance from the person's mean face
encoding to that name's photos (their median) is under KNOWN_BOUND and clearly
better than the next name (ratio test, KNOWN_RATIO). Each name goes to one
person at most: the closest.

Renamed folders: a user renames person_003/ to Alice/ (or moves face crops
into Alice/). On the next run into the same output folder, the faces in
Alice/ are found in the previous clusters.json by file name, and the new
person that holds most of those faces (same frame, boxes overlapping) is
Alice again. Folder names of the form person_NNN carry no name.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import ClusterVideoError
from .result import Person

log = logging.getLogger("clusterer")

KNOWN_BOUND = 0.5
"""Face distance (face_recognition's scale) under which a person may take a
known name; stricter than its 0.6 tolerance, since a wrong name is worse
than none."""

KNOWN_RATIO = 0.8
"""The best known name must be at most this share of the second best's distance."""

IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
RESERVED = {"unknown", "cache"}
GENERIC = re.compile(r"person_\d+")


@dataclass(frozen=True)
class KnownPerson:
    """A name and the encodings of its photos, (k, 128)."""

    name: str
    encodings: np.ndarray


def load_known(folder: str | Path, analyzer) -> list[KnownPerson]:
    """One KnownPerson per sub-folder of `folder` with at least one usable photo."""
    import cv2

    root = Path(folder)
    if not root.is_dir():
        raise ClusterVideoError(f"--known {root}: not a folder")
    out = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        if d.name in RESERVED or GENERIC.fullmatch(d.name) or d.name.startswith("."):
            log.warning("--known: folder name %r is reserved, skipped", d.name)
            continue
        encs = []
        for f in sorted(d.iterdir()):
            img = cv2.imread(str(f)) if f.suffix.lower() in IMAGE_EXT else None
            if img is None:
                continue
            rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
            found = analyzer.detect(rgb)
            if not found:
                log.warning("--known: no face in %s, skipped", f)
                continue
            encs.append(analyzer.encode(rgb, [found[0][0]])[0])  # the largest face
        if encs:
            out.append(KnownPerson(d.name, np.stack(encs)))
    if not out:
        raise ClusterVideoError(f"--known {root}: no sub-folder with a photo of a face")
    return out


def person_encoding(p: Person) -> np.ndarray | None:
    encs = [s.face.encoding for s in p.sightings if s.face.encoding is not None]
    return np.mean(encs, axis=0) if encs else None


def match_known(persons: Sequence[Person], known: Sequence[KnownPerson]) -> list[str | None]:
    """The known name of each person, or None (see the module docstring)."""
    cands = []
    for i, p in enumerate(persons):
        e = person_encoding(p)
        if e is None or not known:
            continue
        d = sorted((float(np.median(np.linalg.norm(k.encodings - e, axis=1))), k.name) for k in known)
        d1, name = d[0]
        d2 = d[1][0] if len(d) > 1 else np.inf
        if d1 < KNOWN_BOUND and d1 <= KNOWN_RATIO * d2:
            cands.append((d1, i, name))
    names: list[str | None] = [None] * len(persons)
    used = set()
    for _, i, name in sorted(cands):
        if name not in used:
            names[i], used = name, used | {name}
    return names


def user_named_faces(dest: Path) -> dict[str, list[tuple[int, list[float]]]]:
    """Name → (frame, box) of the previous run's faces that now lie in a folder
    the user named (not person_NNN, unknown or cache)."""
    try:
        old = json.loads((dest / "clusters.json").read_text())
    except (OSError, ValueError):
        return {}
    by_file = {}
    for rec in [f for p in old.get("persons", []) for f in p["faces"]] + old.get("unknown", []):
        by_file[Path(rec["file"]).name] = (int(rec["frame"]), [float(v) for v in rec["box"]])
    out: dict[str, list[tuple[int, list[float]]]] = {}
    for d in sorted(p for p in dest.iterdir() if p.is_dir()):
        if d.name in RESERVED or GENERIC.fullmatch(d.name):
            continue
        faces = [by_file[f.name] for f in sorted(d.iterdir()) if f.name in by_file]
        if faces:
            out[d.name] = faces
    return out


def _overlap(p: Person, faces: list[tuple[int, list[float]]]) -> int:
    from .faces import box_iou as iou

    by_frame: dict[int, list[list[float]]] = {}
    for fr, box in faces:
        by_frame.setdefault(fr, []).append(box)
    return sum(any(iou(s.face.box_xyxy, b) >= 0.5 for b in by_frame.get(s.face.frame, []))
               for s in p.sightings)


def name_persons(persons: Sequence[Person], dest: Path,
                 known: Sequence[KnownPerson] = ()) -> tuple[Person, ...]:
    """Persons with ids: a user's folder name first, else a known name, else
    person_NNN (numbered in order, most faces first)."""
    names: list[str | None] = [None] * len(persons)
    user = user_named_faces(dest) if dest.is_dir() else {}
    pairs = sorted(((-_overlap(p, faces), name, i) for name, faces in user.items()
                    for i, p in enumerate(persons)))
    used: set[str] = set()
    for neg, name, i in pairs:
        if neg < 0 and names[i] is None and name not in used:
            names[i], used = name, used | {name}
    for i, name in enumerate(match_known(persons, known)):
        if name and names[i] is None and name not in used:
            names[i], used = name, used | {name}
    out, k = [], 0
    for p, name in zip(persons, names):
        if name is None:
            k += 1
            name = f"person_{k:03d}"
            while name in used:
                k += 1
                name = f"person_{k:03d}"
        out.append(replace(p, id=name))
    return tuple(out)
