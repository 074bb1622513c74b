"""Library operations: add videos, remove them, re-link, name, write.

Every operation holds the library folder (outdir.claim: one at a time,
links refused, staged, library.json moved into place last) and ends with a
re-link from library.json and units.npz: videos already in the library are
never extracted again (their units are kept); a new or changed video is run
as `cluster-video` runs it, into LIB/videos/<stem>/, by the executor.

Names (see link.py for the linking itself), strongest first:
1. a folder of LIB/people/ that is not person_NNNN: every unit with a crop
   in it is that name (rename person_0003/ to Alice/; move a crop into
   Alice/ to move its video's person there, a split or a merge);
2. a video's own name for its person: a folder renamed in the video's
   result folder (read at once, no re-run needed) or a --known name;
then the library person carries the name, and every video's person that
is linked to it and has no name of its own is named after it in that
video's folder too (its video re-clustered from the cache, names only).
"""
from __future__ import annotations

import json
import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..cache import video_identity
from ..errors import ClusterVideoError, OutputError
from ..grouping.persons import faces_at
from ..output.export import REPORT, output_dir
from ..output.outdir import claim
from ..settings import default as run_default
from ..settings import split_settings
from ..version import __version__
from . import store
from .chunks import prepare
from .executor import Job, make_executor
from .gallery import gallery_html
from .link import link
from .settings import check, default


log = logging.getLogger("clusterer")

GENERIC = re.compile(r"person_\d+")
VIDEO_EXT = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".ts", ".flv"}
LINK = ("link_threshold", "link_pair_threshold", "link_join_threshold", "link_join_ratio", "link_attach_ratio",
        "link_cast_ratio", "link_rival_ratio", "link_min_faces", "link_layout_threshold")


@dataclass(frozen=True)
class Linked:
    """A linking: each unit's library person (index into ids), the ids, and
    the units that joined their library person by clothes (link's layout
    join: library.json and the page say so, for a reviewer to check)."""

    labels: np.ndarray
    ids: tuple[str, ...]
    by_layout: frozenset[int] = frozenset()


def videos_of(inputs: Sequence[str | Path]) -> list[Path]:
    """The video files named, a folder standing for the videos in it (by extension)."""
    out = []
    for i in map(Path, inputs):
        if i.is_dir():
            out += sorted(p for p in i.iterdir() if p.suffix.lower() in VIDEO_EXT and p.is_file())
        elif i.is_file():
            out.append(i)
        else:
            raise ClusterVideoError(f"{i}: no such file or folder")
    if not out:
        raise ClusterVideoError(f"no video in {', '.join(map(str, inputs))}")
    return out


def link_settings(data: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The library's link settings: those given, else the ones it was linked with, else the defaults."""
    s = {k: given.get(k) if given.get(k) is not None else data.get("settings", {}).get(k, default(k)) for k in LINK}
    for k, v in s.items():
        check(k, v)
    return s


def add(root: str | Path, inputs: Sequence[str | Path], *, executor: str = default("executor"),
        ray_address: str | None = None, known: str | None = None, crops: int = default("crops"),
        chunk_seconds: float | None = default("chunk_seconds"), settings: dict[str, Any] | None = None,
        **link_given) -> tuple[list[str], list[str], dict[str, Any]]:
    """Add videos (files or folders of them) to the library at `root`; re-link.
    Returns the videos run, those already in the library (unchanged), and library.json."""
    root = Path(root)
    check("crops", crops)
    check("chunk_seconds", chunk_seconds)
    paths = videos_of(inputs)
    names = [output_dir(root / store.VIDEOS, p).name for p in paths]
    dup = [n for n, c in Counter(names).items() if c > 1]
    if dup:
        raise ClusterVideoError(f"two videos would share the folder {root / store.VIDEOS / dup[0]}: rename one")
    run_settings = dict(settings or {})
    split_settings(run_settings)  # bad values refused before anything runs
    with claim(root, store.check_library) as stage:
        data, videos = store.load(root)
        have = {v.name: v for v in videos}
        jobs, kept = [], []
        for p, name in zip(paths, names):
            v = have.get(name)
            if v is not None and Path(v.path).resolve() != p.resolve():
                raise ClusterVideoError(f"{p}: the library already has a video {name} ({v.path}): rename one")
            if v is not None and v.identity == video_identity(p) and v.settings == run_settings and v.known == known:
                kept.append(name)
                continue
            jobs.append(Job(str(p.resolve()), str(root / store.VIDEOS), run_settings,
                            str(Path(known).resolve()) if known else None, crops))
        ex = make_executor(executor, ray_address)
        if chunk_seconds:
            prepare(jobs, chunk_seconds, ex)  # long videos: their caches made from chunks
        got = ex.map(jobs)
        for v in got:
            have[v.name] = v
        videos = [have[n] for n in sorted(have)]
        data = _relink(root, stage, data, videos, link_settings(data, link_given), crops, ex)
    return [j.name for j in jobs], kept, data


def remove(root: str | Path, names: Sequence[str], **link_given) -> dict[str, Any]:
    """Take videos (by name, as `list` shows them) out of the library and re-link.
    Their result folders under LIB/videos/ stay as they are."""
    root = Path(root)
    with claim(root, store.check_library) as stage:
        data, videos = store.load(root)
        if not (root / store.LIBRARY).exists():
            raise ClusterVideoError(f"{root}: not a library (no {store.LIBRARY})")
        have = {v.name for v in videos}
        missing = [n for n in names if n not in have]
        if missing:
            raise ClusterVideoError(f"{missing[0]}: not in the library ({', '.join(sorted(have)) or 'empty'})")
        videos = [v for v in videos if v.name not in set(names)]
        return _relink(root, stage, data, videos, link_settings(data, link_given), _crops(data),
                       make_executor("serial"))


def relink(root: str | Path, *, executor: str = default("executor"), ray_address: str | None = None,
           **link_given) -> dict[str, Any]:
    """Re-link the library (after renaming or moving crops, or with other link settings)."""
    root = Path(root)
    if not (root / store.LIBRARY).exists():
        raise ClusterVideoError(f"{root}: not a library (no {store.LIBRARY})")
    with claim(root, store.check_library) as stage:
        data, videos = store.load(root)
        return _relink(root, stage, data, videos, link_settings(data, link_given), _crops(data),
                       make_executor(executor, ray_address))


def _crops(data: dict[str, Any]) -> int:
    return int(data.get("settings", {}).get("crops", default("crops")))


def unit_names(root: Path, videos: list[store.Video], written: Sequence[str] = ()) -> list[str | None]:
    """Each unit's name from the folders (see the module docstring), or None.
    A crop counts in a folder of people/ only where the user put it: not at
    a path the library wrote (`written`, from library.json)."""
    where = {(v.name, Path(c).name): k for k, (v, u) in enumerate(_units(videos)) for c in u.crops}
    ours = set(written)  # files the library itself put where they are: no one's decision
    lib_votes: dict[int, Counter] = {}
    people = root / store.PEOPLE
    if people.is_dir():
        for d in sorted(p for p in people.iterdir() if p.is_dir() and not p.is_symlink()):
            if GENERIC.fullmatch(d.name) or d.name.startswith("."):
                continue
            for f in d.iterdir():
                if f"{store.PEOPLE}/{d.name}/{f.name}" in ours:
                    continue
                video, _, crop = f.name.rpartition("__")
                k = where.get((video, crop))
                if k is not None:
                    lib_votes.setdefault(k, Counter())[d.name] += 1
    names: list[str | None] = []
    k0 = 0
    for v in videos:
        renamed = _renamed_in_video(root / store.VIDEOS / v.name, v)
        for j, u in enumerate(v.units):
            k = k0 + j
            if k in lib_votes:
                names.append(min(lib_votes[k].items(), key=lambda kv: (-kv[1], kv[0]))[0])
            elif j in renamed:
                names.append(renamed[j])
            else:
                names.append(None if GENERIC.fullmatch(u.person) else u.person)
        k0 += len(v.units)
    return names


def _renamed_in_video(dest: Path, v: store.Video) -> dict[int, str]:
    """Units of `v` whose crops the user put into a named folder of the video's
    result folder since its last run (unit index → the folder's name)."""
    if not dest.is_dir():
        return {}
    persons = {u.person for u in v.units}
    named = [d for d in dest.iterdir() if d.is_dir() and not d.is_symlink() and d.name not in persons
             and not GENERIC.fullmatch(d.name) and d.name not in ("unknown", "cache") and not d.name.startswith(".")]
    if not named:
        return {}
    try:
        report = json.loads((dest / REPORT).read_text())
        owner = {Path(f["file"]).name: p["id"] for p in report["persons"] for f in p["faces"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    index = {u.person: j for j, u in enumerate(v.units)}
    votes: dict[int, Counter] = {}
    for d in named:
        for f in d.iterdir():
            j = index.get(owner.get(f.name))
            if j is not None:
                votes.setdefault(j, Counter())[d.name] += 1
    return {j: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for j, c in votes.items()}


def _units(videos: list[store.Video]):
    return [(v, u) for v in videos for u in v.units]


def tokens_of(videos: list[store.Video]) -> list[frozenset]:
    """Each unit's conflict tokens: one per pair of its video's units that share a frame."""
    out = []
    token = 0  # an int a pair: cheap to hash and to join at 1,000 hours
    for v in videos:
        t: list[list[int]] = [[] for _ in v.units]
        for a, b in v.conflicts:
            t[a].append(token)
            t[b].append(token)
            token += 1
        out += [frozenset(s) for s in t]
    return out


def unit_weights(units) -> np.ndarray:
    """Each (video, unit)'s weight in the link: its faces, counted as grouping
    counts them (grouping.persons.faces_at): a unit of a video sampled faster
    than the default weighs the faces its seconds would hold at the default
    rate, so that --link-min-faces means the same at every --fps."""
    return np.array([u.faces / faces_at(1.0, float(v.settings.get("fps", run_default("fps"))))
                     for v, u in units])


def link_videos(videos: list[store.Video], names: Sequence[str | None], settings: dict[str, Any]) -> Linked:
    """The library persons of these videos' units."""
    units = _units(videos)
    if not units:
        return Linked(np.zeros(0, dtype=int), ())
    by_layout: set[int] = set()
    labels = link(store.encodings(videos), unit_weights(units), tokens_of(videos), names,
                  threshold=settings["link_threshold"], pair_threshold=settings["link_pair_threshold"],
                  join_threshold=settings["link_join_threshold"],
                  join_ratio=settings["link_join_ratio"], attach_ratio=settings["link_attach_ratio"],
                  cast_ratio=settings["link_cast_ratio"], rival_ratio=settings["link_rival_ratio"],
                  videos=[v.name for v, _ in units],
                  min_faces=settings["link_min_faces"],
                  layouts=[(u.layouts, u.layout_weights) for _, u in units],
                  layout_threshold=settings["link_layout_threshold"], layout_joined=by_layout)
    named: dict[int, set[str]] = {}
    for n, lab in zip(names, labels):
        if n:
            named.setdefault(int(lab), set()).add(n)
    ids: list[str] = []
    k = 0
    for c in range(labels.max() + 1):
        if c in named:
            ids.append(min(named[c]))
        else:
            k += 1
            ids.append(f"person_{k:04d}")
    return Linked(labels, tuple(ids), frozenset(by_layout))


def _relink(root: Path, stage, data: dict[str, Any], videos: list[store.Video], settings: dict[str, Any],
            crops: int, ex) -> dict[str, Any]:
    names = unit_names(root, videos, data.get("written", []))
    linked = link_videos(videos, names, settings)
    videos, linked = _propagate(root, videos, linked, ex, crops)
    return write(root, stage, data, videos, linked, {**settings, "crops": crops})


def _propagate(root: Path, videos: list[store.Video], linked: Linked, ex, crops: int):
    """Name the videos' unnamed persons after their named library person
    (their videos re-clustered from the cache); the linking carried over by track."""
    jobs, k = [], 0
    for v in videos:
        rename = {}
        for u in v.units:
            lib = linked.ids[linked.labels[k]]
            if GENERIC.fullmatch(u.person) and not GENERIC.fullmatch(lib):
                rename.update({t: lib for t in u.tracks})
            k += 1
        if rename:
            jobs.append(Job(v.path, str(root / store.VIDEOS), v.settings, v.known, crops, rename))
    if not jobs:
        return videos, linked
    label_of = {(v.name, t): int(lab) for (v, u), lab in zip(_units(videos), linked.labels) for t in u.tracks}
    clothes = {(v.name, t) for k, (v, u) in enumerate(_units(videos)) if k in linked.by_layout for t in u.tracks}
    redone = {v.name: v for v in ex.map(jobs)}
    videos = [redone.get(v.name, v) for v in videos]
    labels = [label_of.get((v.name, u.tracks[0]), -1) for v, u in _units(videos)]
    by_layout = {k for k, (v, u) in enumerate(_units(videos)) if (v.name, u.tracks[0]) in clothes}
    return videos, Linked(np.array(labels), linked.ids, frozenset(by_layout))


def write(root: Path, stage, data: dict[str, Any], videos: list[store.Video], linked: Linked,
          settings: dict[str, Any]) -> dict[str, Any]:
    """People folders, units.npz, the gallery and library.json (last), through `stage`."""

    old = set(data.get("written", []))
    people = root / store.PEOPLE
    present: dict[str, str] = {}  # crop file name → where it lies in people/ now (moved by the user, or ours)
    if people.is_dir():
        for d in people.iterdir():
            if d.is_dir() and not d.is_symlink():
                for f in d.iterdir():
                    present.setdefault(f.name, f"{store.PEOPLE}/{d.name}/{f.name}")
    written: set[str] = set()
    persons: dict[int, dict[str, Any]] = {}
    for k, ((v, u), lab) in enumerate(zip(_units(videos), linked.labels)):
        pid = linked.ids[lab]
        p = persons.setdefault(int(lab), {"id": pid, "faces": 0, "videos": []})
        lib_crops = []
        for c in u.crops:
            fname = f"{v.name}__{Path(c).name}"
            at = present.get(fname)
            if at is None or (at in old and GENERIC.fullmatch(at.split("/")[1]) and at.split("/")[1] != pid):
                at = f"{store.PEOPLE}/{pid}/{fname}"
                src = root / store.VIDEOS / v.name / c
                target = root / at
                if target.exists() and at not in old and target.read_bytes() != src.read_bytes():
                    continue  # a file of the user's by that name: never replaced
                stage.write(at, src.read_bytes())
                written.add(at)
            elif at in old:
                written.add(at)
            lib_crops.append(at)
        p["faces"] += u.faces
        p["videos"].append({"video": v.name, "person": u.person, "faces": u.faces, "first": u.first,
                            "last": u.last, "appearances": [list(a) for a in u.appearances],
                            "crops": lib_crops, "linked": "clothes" if k in linked.by_layout else "face"})
    out_persons = [persons[k] for k in sorted(persons)]
    written |= {store.UNITS, store.GALLERY, store.LIBRARY}
    out = {"format": store.FORMAT, "tool_version": __version__, "settings": settings,
           "videos": [v.to_json() for v in videos], "persons": out_persons, "written": sorted(written)}
    stage.write(store.UNITS, store.units_npz(videos))
    stage.write(store.GALLERY, gallery_html(out).encode())
    # one line: the C encoder (indent= takes the pure-Python one, 10× slower at 1,000 hours)
    stage.write(store.LIBRARY, json.dumps(out, allow_nan=False).encode())
    stale = [n for n in sorted(old - written) if n.startswith(store.PEOPLE + "/")
             and GENERIC.fullmatch(n.split("/")[1]) and (root / n).is_file()]
    try:
        stage.commit(last=store.LIBRARY, delete=stale)
    except OSError as e:
        raise OutputError(f"{root}: cannot write the library ({e.strerror or e})") from None
    return out
