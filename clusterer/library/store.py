"""The library on disk, and what it keeps of each video.

    LIB/library.json     videos (each: its file, identity, settings and
                         persons as units), the library persons (person →
                         videos → appearances, with times, and crops), and
                         every file the library wrote ("written")
    LIB/units.npz        each unit's face encoding, (n, 128) float32, its
                         track ids (track_ids, track_offsets) and its
                         clothing layouts (layout (m, 27), layout_weight,
                         layout_offsets; see unit_layouts), in the order
                         of library.json's videos and their units
    LIB/people/<id>/     the best crops of each person from each video
                         (<video>__<crop file name>), id a name or person_NNNN
    LIB/index.html       the library gallery
    LIB/videos/<stem>/   each video's own result folder, with its cache

A unit is one person of one video: its tracks, faces, times, best crops,
the quality-weighted mean of its faces' encodings (unit_encoding) and its
largest tracks' clothing layouts (unit_layouts), from the video's feature
cache. Re-linking reads only library.json and
units.npz (and the folders' names), never a video's cache.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import cache
from ..clothing.embedders import LAYOUT_DIM
from ..errors import ClusterVideoError, OutputError
from ..grouping.apart import told_apart_ids
from ..grouping.table import track_clothing
from ..output.export import load_report
from ..output.outdir import TOOL_NAMES
from ..output.report import appearances


LIBRARY = "library.json"
UNITS = "units.npz"
PEOPLE = "people"
VIDEOS = "videos"
GALLERY = "index.html"
FORMAT = 1
"""Version of library.json's layout."""

LAYOUTS_PER_UNIT = 8
"""Clothing layouts kept per unit: its largest tracks', each weighted by the
tracks it stands for (the others go to their nearest), so that units.npz
stays small at thousands of hours. The library's layout join on the
benchmark libraries is the same as with every track's layout (4 per unit:
one join fewer; benchmarks/RESULTS.md, "Session 19")."""

NO_LAYOUTS = np.zeros((0, LAYOUT_DIM), np.float32)


@dataclass(frozen=True)
class Unit:
    """One person of one video (see the module docstring)."""

    person: str
    tracks: tuple[int, ...]
    faces: int
    first: float
    last: float
    appearances: tuple[tuple[float, float], ...]
    crops: tuple[str, ...]
    encoding: np.ndarray = field(repr=False, compare=False)
    layouts: np.ndarray = field(repr=False, compare=False, default_factory=NO_LAYOUTS.copy)
    layout_weights: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.zeros(0, np.float32))


@dataclass(frozen=True)
class Video:
    """A video of the library: its name (folder under videos/), file,
    identity (cache.video_identity), the run settings, its units and the
    pairs of units that share a frame (never one library person)."""

    name: str
    path: str
    identity: dict[str, Any]
    settings: dict[str, Any]
    known: str | None
    units: tuple[Unit, ...]
    conflicts: tuple[tuple[int, int], ...]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "identity": self.identity, "settings": self.settings,
                "known": self.known, "conflicts": list(self.conflicts),  # pairs: json writes tuples as lists
                "units": [{"person": u.person, "faces": u.faces, "first": u.first,
                           "last": u.last, "appearances": [list(a) for a in u.appearances],
                           "crops": list(u.crops)} for u in self.units]}


def unit_conflicts(tracks, frames, apart: set[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """The pairs (a < b) of a video's units that are two people: they share a
    frame (`frames`: each unit's), or hold two tracks (`tracks`: each unit's
    ids) that its grouping kept apart (`apart`, grouping.apart.told_apart_ids) — else the
    library re-linked fotb_dinner's brothers, and their father with them."""
    unit_of = {t: k for k, ts in enumerate(tracks) for t in ts}
    kept = {(unit_of[a], unit_of[b]) for a, b in apart if a in unit_of and b in unit_of}
    return tuple((a, b) for a in range(len(tracks)) for b in range(a + 1, len(tracks))
                 if frames[a] & frames[b] or (a, b) in kept)


def summarise(dest: Path, video: str, settings: dict[str, Any], known: str | None, crops: int) -> Video:
    """The Video of a result folder `dest`: units from its clusters.json (as the
    user's folders left them after the run), encodings from its feature cache."""

    report = load_report(dest)
    meta = json.loads((dest / cache.META).read_text())
    ex = cache.load(dest, meta["key"])
    if report is None or ex is None:
        raise ClusterVideoError(f"{dest}: no result with a feature cache to add to the library")
    s = report["settings"]
    row = {t.id: k for k, t in enumerate(ex.tracks)}
    layout = track_clothing(ex, "layout")
    step, gap = 1.0 / float(s["fps"]), float(s.get("merge_gap", 2.0))
    units, frames = [], []
    for p in report["persons"]:
        tracks = sorted({int(f["track"]) for f in p["faces"] if f.get("track") is not None and f["track"] in row})
        if not tracks:
            continue
        e = unit_encoding([ex.faces[i] for t in tracks for i in ex.tracks[row[t]].items])
        if e is None:  # no face of this person was encoded: nothing to link it by
            continue
        times = [float(f["time"]) for f in p["faces"]]
        best = sorted(p["faces"], key=lambda f: (-float(f.get("quality", 0.0)), f["file"]))
        picked, seen = [], set()
        for f in best:  # one crop a track first, then the rest
            if f.get("track") not in seen:
                picked.append(f["file"])
                seen.add(f.get("track"))
        picked += [f["file"] for f in best if f["file"] not in picked]
        lays, lw = unit_layouts([layout[row[t]] for t in tracks], [len(ex.tracks[row[t]].items) for t in tracks])
        units.append(Unit(p["id"], tuple(tracks), len(p["faces"]), min(times), max(times),
                          tuple((round(a, 3), round(b, 3)) for a, b, _ in appearances(times, step, gap)),
                          tuple(picked[:crops]), e.astype(np.float32), lays, lw))
        frames.append({int(f["frame"]) for f in p["faces"]})
    conflicts = unit_conflicts([u.tracks for u in units], frames, told_apart_ids(ex, s))
    return Video(dest.name, str(video), cache.video_identity(video), dict(settings), known, tuple(units), conflicts)


def unit_encoding(faces) -> np.ndarray | None:
    """A unit's face encoding: the mean of all its encoded faces, each weighted
    by its quality (size, sharpness, detector confidence, frontalness), so that a
    person's clear faces speak louder than its dark, turned or tiny ones,
    which all drift towards the same crowded middle of the face space. Chosen
    on both benchmark sets ("Issue 17", second round): the six composites
    gain recall (fewer brief persons apart) and the real clips, which share
    no one, keep every person to one clip. None when no face has an encoding."""
    coded = [f for f in faces if f.encoding is not None]
    if not coded:
        return None
    q = np.maximum(np.array([f.quality for f in coded], dtype=float), 1e-6)
    return (np.array([f.encoding for f in coded], dtype=float) * q[:, None]).sum(0) / q.sum()


def unit_layouts(layouts, sizes, k: int = LAYOUTS_PER_UNIT) -> tuple[np.ndarray, np.ndarray]:
    """A unit's clothing layouts: those of its k largest tracks (by faces;
    tracks without clothing skipped), (m, 27) float32, and the tracks each
    stands for, (m,): every other track counts for its nearest."""
    have = sorted((i for i, v in enumerate(layouts) if v is not None), key=lambda i: (-sizes[i], i))
    if not have:
        return NO_LAYOUTS, np.zeros(0, np.float32)
    keep = np.array([layouts[i] for i in have[:k]], dtype=np.float32)
    weight = np.ones(len(keep), np.float32)
    for i in have[k:]:
        weight[int(np.argmax(keep @ np.asarray(layouts[i], np.float32)))] += 1
    return keep, weight


def load(root: Path) -> tuple[dict[str, Any], list[Video]]:
    """library.json (a fresh one when there is none) and its videos, encodings attached."""
    path = root / LIBRARY
    if not path.exists():
        return {"format": FORMAT, "settings": {}, "videos": [], "persons": [], "written": []}, []
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("videos"), list):
            raise ValueError("not a library.json of this version")
        n = sum(len(v["units"]) for v in data["videos"])
        with np.load(io.BytesIO((root / UNITS).read_bytes()), allow_pickle=False) as npz:
            enc, tracks, offsets = npz["encoding"], npz["track_ids"].tolist(), npz["track_offsets"].tolist()
            if "layout" in npz.files:
                lay, lay_w, lay_at = npz["layout"], npz["layout_weight"], npz["layout_offsets"].tolist()
            else:  # a library written before layouts were kept: none (re-add a video to get its)
                lay, lay_w, lay_at = NO_LAYOUTS, np.zeros(0, np.float32), [0] * (n + 1)
        if enc.shape != (n, 128) or len(offsets) != n + 1 or len(lay_at) != n + 1 or lay.shape[1:] != (LAYOUT_DIM,):
            raise ValueError(f"units.npz holds {enc.shape[0]} units for {n}")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise OutputError(f"{root}: not a library cluster-video wrote ({e}); choose another folder") from None
    videos, k = [], 0
    for v in data["videos"]:
        units = []
        for u in v["units"]:
            units.append(Unit(u["person"], tuple(tracks[offsets[k]:offsets[k + 1]]), int(u["faces"]),
                              float(u["first"]), float(u["last"]),
                              tuple(tuple(a) for a in u["appearances"]), tuple(u["crops"]), enc[k],
                              lay[lay_at[k]:lay_at[k + 1]], lay_w[lay_at[k]:lay_at[k + 1]]))
            k += 1
        videos.append(Video(v["name"], v["path"], v["identity"], v["settings"], v.get("known"), tuple(units),
                            tuple(map(tuple, v["conflicts"]))))
    return data, videos


def encodings(videos: list[Video]) -> np.ndarray:
    """All units' encodings, (n, 128) float32, in library order."""
    rows = [u.encoding for v in videos for u in v.units]
    return np.stack(rows).astype(np.float32) if rows else np.zeros((0, 128), np.float32)


def units_npz(videos: list[Video]) -> bytes:
    """units.npz: encodings (n, 128), each unit's track ids and its layouts
    with their weights (each flat, with offsets)."""
    units = [u for v in videos for u in v.units]
    tracks = [u.tracks for u in units]
    buf = io.BytesIO()
    np.savez(buf, encoding=encodings(videos), track_ids=np.array([t for ts in tracks for t in ts], dtype=np.int64),
             track_offsets=np.cumsum([0] + [len(ts) for ts in tracks]).astype(np.int64),
             layout=np.concatenate([NO_LAYOUTS] + [u.layouts for u in units]).astype(np.float32),
             layout_weight=np.concatenate([np.zeros(0)] + [u.layout_weights for u in units]).astype(np.float32),
             layout_offsets=np.cumsum([0] + [len(u.layouts) for u in units]).astype(np.int64))
    return buf.getvalue()


def check_library(root: Path) -> None:
    """Refuse a folder that holds something and is not a library (no library.json)."""

    if root.is_dir() and not (root / LIBRARY).exists() and any(
            p.name not in (VIDEOS, *TOOL_NAMES) for p in root.iterdir()):
        raise OutputError(f"{root}: folder exists, is not empty and holds no {LIBRARY}: "
                          f"choose a new or empty folder for a library")
