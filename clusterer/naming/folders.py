"""Names for persons: known people (--known DIR) and names a user gave by
renaming a result folder, kept across re-runs.

Known people: DIR holds one folder per name with a few photos of that person.
A person gets a known name when the distance from the person's mean face
encoding to that name's photos (their median) is under KNOWN_BOUND and clearly
better than the next name (ratio test, KNOWN_RATIO). Each name goes to one
person at most: the closest.

Your folders decide (merge and split by moving crops): on a run into an
output folder that holds a previous result, the faces found in a folder the
user named (renamed person_003/ to Alice/, or moved crops into Alice/) are
recognised by their bytes among this run's crops (the same extraction, from
the cache, gives the same crops), else by their file name in the previous
clusters.json and then by frame and box. Each track with such faces goes to
that name; all tracks of one name become one person (crops moved from
person_005/ into Alice/ merge it into Alice); the other tracks of a cluster
follow a name that holds more than half of its faces. Faces moved into
another named folder leave with their track, or, when only part of the track
moved, split it there (_split_tracks); a face moved into unknown/ goes to
unknown (reason "moved-by-user"), alone. Folders of the form person_NNN are
the tool's numbering and carry no constraint, so a new threshold still
regroups them, until the user moves a crop into one: from then on it acts as
a named folder under that number (numbers stay with their person across
runs: name_persons).
"""
from __future__ import annotations

import hashlib
import itertools
import logging
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import ClusterVideoError
from ..geometry import box_iou as iou
from ..images import read_bgr
from ..output.export import load_report
from ..types import Assigned, Person, Reason, Sighting, in_time_order, person_encoding

log = logging.getLogger("clusterer")

KNOWN_BOUND = 0.5
"""Face distance (face_recognition's scale) under which a person may take a
known name; stricter than its 0.6 tolerance, since a wrong name is worse
than none."""

KNOWN_RATIO = 0.8
"""The best known name must be at most this share of the second best's distance."""

IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
RESERVED = {"unknown", "cache"}
TOOL_NAMES = frozenset({*RESERVED, "clusters.json", "index.html", "appearances.csv"})
"""Names the tool writes in a result folder (lower case): no known person may take one."""
GENERIC = re.compile(r"person_\d+")
MOVED_TO_UNKNOWN = ""
"""follow_user_folders' key for faces the user moved into unknown/."""
MOVED_BY_USER = Reason.MOVED_BY_USER
"""The unknown reason of a face the user moved into unknown/."""


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
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    for d in folders:  # up front: a person folder is named after it, beside the tool's own files
        if d.name.casefold() in TOOL_NAMES or GENERIC.fullmatch(d.name):
            raise ClusterVideoError(f"--known {d}: a name the tool gives its own files and folders "
                                    f"({', '.join(sorted(TOOL_NAMES))}, person_NNN): rename it")
    out = []
    for d in folders:
        if d.name.startswith("."):
            log.warning("--known: hidden folder %r skipped", d.name)
            continue
        encs = []
        for f in sorted(d.iterdir()):
            img = read_bgr(f) if f.suffix.lower() in IMAGE_EXT else None
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


def user_placed_faces(dest: Path, recognise: Callable[[bytes], tuple[int, list[float]] | None] = lambda b: None,
                      ) -> dict[str, list[tuple[int, list[float]]]]:
    """Name → (frame, box) of the faces whose crops lie in a folder the user
    named (not unknown, cache or hidden; a person_NNN folder only once the
    user moved a crop into it, _touched); under MOVED_TO_UNKNOWN,
    those the user moved into unknown/ from a person's folder. A crop is
    recognised by its bytes (`recognise`: this run's face with those very
    crop bytes, whatever the file is called), else by its file name in the
    previous run's clusters.json (other extraction settings, other crops)."""
    try:
        old = load_report(dest)  # checked: every face record has its file, frame and box
    except ClusterVideoError:
        return {}
    if old is None:
        return {}
    by_file = {}
    for rec in [f for p in old.get("persons", []) for f in p["faces"]] + old.get("unknown", []):
        path = Path(rec["file"])
        # in unknown/ by the user's hand: moved there, or kept there by an earlier run for that reason
        by_hand = path.parent.name != "unknown" or rec.get("reason") == MOVED_BY_USER
        by_file[path.name] = (int(rec["frame"]), [float(v) for v in rec["box"]], by_hand, path.parent.name,
                              rec.get("assigned") == "user")
    out: dict[str, list[tuple[int, list[float]]]] = {}
    for d in sorted(p for p in dest.iterdir() if p.is_dir()):
        if d.name == "cache" or d.name.startswith("."):
            continue
        if GENERIC.fullmatch(d.name) and not _touched(d, by_file, recognise):
            continue
        moved = d.name == "unknown"
        faces = []
        for f in sorted(d.iterdir()):
            rec = by_file.get(f.name)
            if f.suffix.lower() != ".jpg" or not f.is_file() or (moved and not (rec and rec[2])):
                continue
            hit = recognise(f.read_bytes())
            if hit or rec:
                faces.append(hit or rec[:2])
        if faces:
            out[MOVED_TO_UNKNOWN if moved else d.name] = faces
    return out


def _touched(folder: Path, by_file: dict, recognise) -> bool:
    """Whether a person_NNN folder holds a crop the user put there: one the
    previous run wrote into another folder (or under another name), or one
    an earlier correction placed (assigned "user"). Such a folder is the
    user's from then on, like a named one; an untouched one carries nothing."""
    for f in folder.iterdir():
        if f.suffix.lower() != ".jpg" or not f.is_file():
            continue
        rec = by_file.get(f.name)
        if rec is not None and (rec[3] != folder.name or rec[4]):
            return True
        if rec is None and recognise(f.read_bytes()):
            return True
    return False


def crop_digest(data: bytes) -> bytes:
    """What recognises a face crop the user moved or renamed: its bytes' hash."""
    return hashlib.blake2b(data, digest_size=16).digest()


def follow_user_folders(persons: Sequence[Person], unknown: Sequence[Sighting],
                        dest: Path) -> tuple[tuple[Person, ...], tuple[Sighting, ...]]:
    """Persons as the user's folders say (see the module docstring): a track
    with faces in a named folder goes to that name, all tracks of one name
    form one person (merge), and the other tracks of a cluster follow a name
    that holds more than half of its faces (a renamed person gaining faces
    at a new threshold); a cluster that is not mostly one name keeps its
    other tracks. Never two faces of one frame in a person: a track that
    would add one goes to unknown ("same-frame"). Persons come back most
    faces first; named ones have their name as id."""
    if not dest.is_dir():
        return tuple(persons), tuple(unknown)
    crops: dict[bytes, tuple[int, list[float]]] = {}

    def recognise(data: bytes) -> tuple[int, list[float]] | None:
        if not crops:  # hashed on first use: most runs have no folder to read
            crops.update((crop_digest(s.face.crop_jpeg), (s.face.frame, list(s.face.box_xyxy)))
                         for s in itertools.chain(*(p.sightings for p in persons), unknown)
                         if s.face.crop_jpeg)
        return crops.get(crop_digest(data))

    placed = user_placed_faces(dest, recognise)
    if not placed:
        return tuple(persons), tuple(unknown)
    at: dict[int, list[tuple[list[float], str]]] = {}
    for name, faces in placed.items():
        for frame, box in faces:
            at.setdefault(frame, []).append((box, name))

    def name_of(s: Sighting) -> str | None:
        return next((n for b, n in at.get(s.face.frame, []) if iou(s.face.box_xyxy, b) >= 0.5), None)

    # tracks, each with the cluster it is in (-1: unknown) and the user's name for it
    tracks: dict[object, list[Sighting]] = {}
    cluster_of: dict[object, int] = {}
    for k, sights in [(k, p.sightings) for k, p in enumerate(persons)] + [(-1, tuple(unknown))]:
        for s in sights:
            key = s.track if s.track is not None else id(s)
            tracks.setdefault(key, []).append(s)
            cluster_of[key] = k
    _split_tracks(tracks, cluster_of, name_of)
    votes = {t: Counter(n for n in map(name_of, ss) if n is not None) for t, ss in tracks.items()}
    own = {t: _top(c) for t, c in votes.items() if c}
    follow: dict[int, str] = {}
    for k in range(len(persons)):
        c = Counter()
        for t, n in own.items():
            if cluster_of[t] == k and n != MOVED_TO_UNKNOWN:  # one face taken out says nothing of the rest
                c[n] += sum(votes[t].values())
        if c and 2 * c[_top(c)] > len(persons[k].sightings):
            follow[k] = _top(c)
    # placed tracks first (most placed faces first), then followers; a track
    # that would put two faces of one frame into a person goes to unknown
    order = sorted(tracks, key=lambda t: (t not in own, -sum(votes[t].values()), cluster_of[t], str(t)))
    named: dict[str, list[Sighting]] = {}
    frames: dict[str, set[int]] = {}
    rest: dict[int, list[Sighting]] = {}
    left: list[Sighting] = []
    for t in order:
        ss = tracks[t]
        name = own[t] if t in own else follow.get(cluster_of[t])
        if name is None:
            (left if cluster_of[t] < 0 else rest.setdefault(cluster_of[t], [])).extend(ss)
            continue
        if name == MOVED_TO_UNKNOWN:
            left.extend(replace(s, assigned=Assigned.UNKNOWN, reason=MOVED_BY_USER) for s in ss)
            continue
        fs = {s.face.frame for s in ss}
        if fs & frames.setdefault(name, set()):
            left.extend(replace(s, assigned=Assigned.UNKNOWN, reason=Reason.SAME_FRAME) for s in ss)
            continue
        frames[name] |= fs
        named.setdefault(name, []).extend(replace(s, assigned=Assigned.USER, reason=None) if t in own else s for s in ss)
    out = [Person(n, in_time_order(ss)) for n, ss in named.items()]
    out += [replace(persons[k], sightings=in_time_order(ss)) for k, ss in sorted(rest.items())]
    out.sort(key=lambda p: (-len(p.sightings), p.first))
    return tuple(out), in_time_order(left)


def _split_tracks(tracks: dict[object, list[Sighting]], cluster_of: dict[object, int],
                  name_of: Callable[[Sighting], str | None]) -> None:
    """Split, in place, each track whose faces the user put in different
    places: a face moved into unknown/, or into a named folder other than the
    one most of the track's placed faces are in, leaves the track with the
    others put there (a new track id); the rest stays, and its unplaced faces
    follow the main name or the cluster. So moving part of a track is
    honoured, never undone by the rest of the track."""
    ids = [s.track for ss in tracks.values() for s in ss if isinstance(s.track, int)]
    fresh = itertools.count(max(ids, default=-1) + 1)
    for t in sorted(tracks, key=str):
        ss = tracks[t]
        names = [name_of(s) for s in ss]
        main = Counter(n for n in names if n not in (None, MOVED_TO_UNKNOWN))
        top = _top(main) if main else None
        parts: dict[str | None, list[Sighting]] = {}
        for s, n in zip(ss, names):
            parts.setdefault(top if n is None else n, []).append(s)
        if len(parts) == 1:
            continue
        tracks[t] = parts.pop(top)  # the unplaced faces, or those under the main name
        for n in sorted(parts, key=lambda n: n or ""):
            new = next(fresh)
            tracks[new] = [replace(s, track=new) for s in parts[n]]
            cluster_of[new] = cluster_of[t]


def _top(votes: Counter) -> str:
    """The most common name (ties: the first in sort order, for determinism)."""
    return min(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def previous_numbers(dest: Path) -> dict[int, list[tuple[list[float], str]]]:
    """Frame → (box, person_NNN) of each face the previous run's clusters.json
    put in a numbered person: what keeps a person's number across re-runs."""
    try:
        old = load_report(dest)
    except ClusterVideoError:
        return {}
    at: dict[int, list[tuple[list[float], str]]] = {}
    for p in (old or {}).get("persons", []):
        if GENERIC.fullmatch(p["id"]):
            for f in p["faces"]:
                at.setdefault(int(f["frame"]), []).append(([float(v) for v in f["box"]], p["id"]))
    return at


def name_persons(persons: Sequence[Person], known: Sequence[KnownPerson] = (),
                 before: dict[int, list[tuple[list[float], str]]] | None = None) -> tuple[Person, ...]:
    """Persons with ids: a name they already carry (follow_user_folders), else
    a known name, else person_NNN. A person keeps the number of the previous
    run's person (`before`, previous_numbers) that shared most of its faces
    (most shared first, each number once); the others are numbered in order,
    most faces first, with numbers neither in use nor used by the previous run."""
    # a number is the tool's, unless the user's folders gave it (follow_user_folders: assigned "user")
    names: list[str | None] = [None if GENERIC.fullmatch(p.id) and not any(s.assigned == "user" for s in p.sightings)
                               else p.id for p in persons]
    used = {n for n in names if n}
    for i, name in enumerate(match_known(persons, known)):
        if name and names[i] is None and name not in used:
            names[i], used = name, used | {name}
    before = before or {}
    shared = []
    for i, p in enumerate(persons):
        if names[i] is None:
            c = Counter(n for s in p.sightings for b, n in before.get(s.face.frame, ())
                        if iou(s.face.box_xyxy, b) >= 0.5)
            shared += [(-k, i, n) for n, k in c.items()]
    for _, i, n in sorted(shared):
        if names[i] is None and n not in used:
            names[i], used = n, used | {n}
    used |= {n for v in before.values() for _, n in v}
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
