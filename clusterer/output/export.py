"""Export: one folder per person, an `unknown` folder and `clusters.json`.

The tool never deletes what it did not write. It refuses a non-empty output
folder unless told to overwrite, and then replaces only the files listed in
the previous run's `clusters.json` ("written"); anything a user added stays.
A folder whose clusters.json this tool did not write, or that holds a
gallery, CSV or feature cache no clusters.json lists, is refused. Files in
named folders (not person_NNN or unknown) are never removed (but for the
tool's own copy of a crop now written elsewhere), and a file the tool did
not write is never replaced: the new crop takes another name.
Everything is staged and then moved into place, `clusters.json` last
(outdir.py: links refused, one run at a time, interrupted runs recovered).
"""
from __future__ import annotations

import functools
import itertools
import json
import os
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from ..settings import default
from ..errors import OutputError
from .outdir import TOOL_NAMES, Staging, claim, refuse_links, safe_name
from .report import appearances_csv, gallery_html, video_link
from ..types import Face, Result, Sighting, person_encoding

CACHE_DIR = "cache"
"""Sub-folder of the feature cache (see cache.py)."""

FEATURES = f"{CACHE_DIR}/features.npz"
META = f"{CACHE_DIR}/features.json"
"""The feature cache's two files (their format: cache.py)."""

REPORT = "clusters.json"
"""Name of the machine-readable report inside the output folder."""

UNKNOWN = "unknown"
"""Folder of faces that belong to no person."""

_OWN_FILE = re.compile(r"[^/]+/(clothing/)?t[0-9.]+_f[0-9]+(_x-?[0-9]+y-?[0-9]+)?(_[0-9]+)?\.jpg|cache/features\.(npz|json)")
_DISPOSABLE = re.compile(r"person_\d+|unknown|cache")
"""Folders whose stale files an overwrite may remove: the generic ones. A
folder with a name (the user's, or a known person's) is never emptied."""

FORMAT_VERSION = 1
"""Version of the clusters.json layout; bumped on incompatible changes."""


def output_dir(out_root: str | os.PathLike, video: str | os.PathLike) -> Path:
    """OUT/<video file name without extension>/, that name made a plain folder name."""
    return Path(out_root) / safe_name(Path(video).stem)


def check_folder(dest: Path, overwrite: bool) -> None:
    """Refuse an existing folder that may not be written: not empty without
    `overwrite` (a feature cache alone counts as empty), a clusters.json this
    tool did not write, or a file of the tool's names that no clusters.json
    lists (the user's own index.html, appearances.csv or cache files)."""
    if not overwrite and any(p.name not in (CACHE_DIR, *TOOL_NAMES) for p in dest.iterdir()):
        raise OutputError(f"{dest}: folder exists and is not empty; pass --overwrite to replace "
                          f"the files of the earlier run (your own files are kept) or choose --out")
    listed = previous_files(dest, load_report(dest))
    own_cache = _own_cache(dest / META)
    for name in (GALLERY, APPEARANCES, FEATURES, META):
        path = dest / name
        if (path.exists() or path.is_symlink()) and name not in listed and not (
                name in (FEATURES, META) and own_cache):
            raise OutputError(f"{path}: not written by cluster-video (no clusters.json lists it): "
                              f"move it away, or choose another --out")


def _own_cache(meta: Path) -> bool:
    """Whether `meta` describes a feature cache as cache.save writes it."""
    try:
        data = json.loads(meta.read_text())
        return isinstance(data, dict) and {"format", "key", "sha256"} <= set(data)
    except (OSError, ValueError):
        return False


def prepare_output(dest: Path, overwrite: bool) -> None:
    """Fail early, before any decoding, if `dest` may not or cannot be written
    (check_folder), then create it. app.run holds it with outdir.claim."""
    if dest.exists() and not dest.is_dir():
        raise OutputError(f"{dest}: exists and is not a folder")
    refuse_links(dest)
    if dest.is_dir():
        check_folder(dest, overwrite)
    try:
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=dest, prefix=".write-test-"):
            pass
    except OSError as e:
        raise OutputError(f"{dest}: cannot write there ({e.strerror or e})") from None


def load_report(dest: Path) -> dict[str, Any] | None:
    """The previous run's clusters.json (None when there is none); OutputError
    when it is not one this tool wrote (not JSON, `[]`, `null`, keys missing)."""
    path = dest / REPORT
    if not (path.exists() or path.is_symlink()):
        return None
    try:
        data = json.loads(path.read_text())
        _check_report(data)
        return data
    except (OSError, ValueError) as e:
        why = e.strerror if isinstance(e, OSError) else "not JSON" if isinstance(e, json.JSONDecodeError) else e
        raise OutputError(f"{path}: not a report cluster-video wrote ({why}); move it away, "
                          f"or choose another --out") from None


def _check_report(data: Any) -> None:
    """ValueError saying what is missing from a clusters.json: the parts a
    later run reads (persons, unknown, each face's file, frame and box; written)."""
    def face_ok(f: Any) -> bool:
        return (isinstance(f, dict) and isinstance(f.get("file"), str) and isinstance(f.get("frame"), int)
                and isinstance(f.get("box"), list) and len(f["box"]) == 4
                and all(isinstance(v, (int, float)) for v in f["box"]))

    if not isinstance(data, dict):
        raise ValueError(f"a JSON {type(data).__name__}, not an object")
    if not isinstance(data.get("persons"), list) or not all(
            isinstance(p, dict) and isinstance(p.get("id"), str) and isinstance(p.get("faces"), list)
            and all(map(face_ok, p["faces"])) for p in data["persons"]):
        raise ValueError("no valid 'persons' list")
    if not isinstance(data.get("unknown"), list) or not all(map(face_ok, data["unknown"])):
        raise ValueError("no valid 'unknown' list")
    if not isinstance(data.get("written", []), list) or not all(isinstance(n, str) for n in data.get("written", [])):
        raise ValueError("no valid 'written' list")


def previous_files(dest: Path, report: dict[str, Any] | None = None) -> set[str]:
    """Files the previous run wrote (relative paths), from its clusters.json
    (`report`, else read; none without one)."""
    try:
        report = report if report is not None else load_report(dest)
    except OutputError:
        return set()
    if report is None:
        return set()
    # Only names of our own shape, inside dest: a hand-edited report must not
    # make the tool delete anything else.
    own = {n for n in report.get("written", []) if _OWN_FILE.fullmatch(n) and ".." not in n.split("/")}
    return own | {REPORT, GALLERY, APPEARANCES}


def face_name(face: Face, taken: set[str], folder: str, free=lambda name: True, shared: bool = False) -> str:
    """`folder/t0012.48_f000312.jpg`: the face's own name, the same in every
    run that finds it (naming/folders.py finds a crop a user moved by its file name).
    A face that `shared` its frame with another adds its box's corner
    (`_x540y120`), so that no name depends on the order of faces or persons.
    Only a name in `taken` (file names, not paths) or a path that is not
    `free` (a file the tool did not write) gets a `_2` suffix; adds it to taken."""
    stem = f"t{face.time:07.2f}_f{face.frame:06d}"
    if shared:
        stem += f"_x{int(face.box_xyxy[0])}y{int(face.box_xyxy[1])}"
    file, k = f"{stem}.jpg", 1
    while file in taken or not free(f"{folder}/{file}"):
        k += 1
        file = f"{stem}_{k}.jpg"
    taken.add(file)
    return f"{folder}/{file}"


CLOTHING = "clothing"
"""Sub-folder of each person's folder holding the clothing crops that were compared."""


def sighting_record(s: Sighting, file: str, cloth_file: str | None) -> dict[str, Any]:
    f = s.face
    rec: dict[str, Any] = {"frame": f.frame, "time": f.time, "box": list(f.box_xyxy),
                           "score": round(f.score, 4), "quality": f.quality, "file": file, "assigned": s.assigned}
    if s.reason:
        rec["reason"] = s.reason
    if s.track is not None:
        rec["track"] = s.track
    if s.clothing is not None:
        rec["clothing"] = (None if s.clothing.box_xyxy is None else
                           {"box": list(s.clothing.box_xyxy), "file": cloth_file})
    return rec


def closest_persons(persons, apart=frozenset()) -> list[dict[str, Any] | None]:
    """For each person, the other person whose mean face is nearest, and that
    distance: where a user looks first when one person is split in two. When
    the two are known to be two people, "apart" says why: "seen together"
    (they share a frame) or "look-alikes" (they hold tracks that grouping kept
    apart, `apart`: track id pairs, grouping.apart) — else a distance under
    --threshold would read as a missed join."""
    import numpy as np

    encs = [person_encoding(p) for p in persons]
    frames = [{s.face.frame for s in p.sightings} for p in persons]
    tracks = [{s.track for s in p.sightings if s.track is not None} for p in persons]
    out: list[dict[str, Any] | None] = []
    for i, e in enumerate(encs):
        d = [(float(np.linalg.norm(e - f)), persons[j].id, j) for j, f in enumerate(encs)
             if j != i and e is not None and f is not None]
        if not d:
            out.append(None)
            continue
        dist, pid, j = min(d)
        c: dict[str, Any] = {"id": pid, "distance": round(dist, 3)}
        if frames[i] & frames[j]:
            c["apart"] = "seen together"
        elif any((a, b) in apart for a in tracks[i] for b in tracks[j]):
            c["apart"] = "look-alikes"
        out.append(c)
    return out


def track_records(result: Result) -> list[dict[str, Any]]:
    """One entry per face track: its id, person (or null), frames and time span."""
    tracks: dict[int, dict[str, Any]] = {}
    for pid, sightings in [(p.id, p.sightings) for p in result.persons] + [(None, result.unknown)]:
        for s in sightings:
            if s.track is None:
                continue
            t = tracks.setdefault(s.track, {"id": s.track, "person": pid, "frames": []})
            t["frames"].append(s.face.frame)
            t["start"] = min(t.get("start", s.face.time), s.face.time)
            t["end"] = max(t.get("end", s.face.time), s.face.time)
    for t in tracks.values():
        t["frames"].sort()
    return [tracks[k] for k in sorted(tracks)]


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` so that a reader sees the old file or the new one,
    never half; with the mode a new file gets (mkstemp's is 0600)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@functools.cache
def file_mode() -> int:
    """The mode open() gives a new file: 0666 less the umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


GALLERY = "index.html"
APPEARANCES = "appearances.csv"


def export(result: Result, dest: Path, extra: Sequence[str] = (),
           merge_gap: float = default("merge_gap"), stage: Staging | None = None) -> dict[str, Any]:
    """Write crops and clusters.json into `dest` (checked by check_folder); return
    the report. `extra` names other files this run wrote there (the feature
    cache). The files go through `stage` (the run's, from outdir.claim; else
    one of its own) and are moved into place together, clusters.json last."""
    if stage is None:
        with claim(dest) as own:
            return export(result, dest, extra, merge_gap, own)
    old = previous_files(dest)
    taken: set[str] = set()  # paths this run writes
    files: set[str] = set()  # face crops' file names, unique across folders
    plan: list[tuple[str, bytes]] = []  # every crop this run writes, as (path, bytes)
    per_frame = Counter(s.face.frame for s in itertools.chain(*(p.sightings for p in result.persons),
                                                              result.unknown))

    def free(name: str, data: bytes) -> bool:
        """A name we may use: new, ours from the last run, or already holding these
        very bytes (a crop the user moved into a named folder). Never another file."""
        path = dest / name
        return not path.exists() or name in old or (path.is_file() and path.read_bytes() == data)

    def records(folder: str, sightings) -> list[dict[str, Any]]:
        recs = []
        for s in sightings:
            name = face_name(s.face, files, folder, lambda n: free(n, s.face.crop_jpeg),
                             shared=per_frame[s.face.frame] > 1)
            taken.add(name)
            plan.append((name, s.face.crop_jpeg))
            cloth_name = None
            if s.clothing is not None and s.clothing.crop_jpeg:
                cloth_name = f"{folder}/{CLOTHING}/{name.split('/', 1)[1]}"
                if cloth_name in taken or not free(cloth_name, s.clothing.crop_jpeg):
                    cloth_name = face_name(s.face, set(files), f"{folder}/{CLOTHING}",
                                           lambda n: n not in taken and free(n, s.clothing.crop_jpeg),
                                           shared=per_frame[s.face.frame] > 1)
                taken.add(cloth_name)
                plan.append((cloth_name, s.clothing.crop_jpeg))
            recs.append(sighting_record(s, name, cloth_name))
        return recs

    persons = [{"id": p.id, "faces": records(p.id, p.sightings), "closest": c}
               for p, c in zip(result.persons, closest_persons(result.persons, result.apart))]
    unknown = records(UNKNOWN, result.unknown)
    try:
        for name, data in plan:
            if not _holds(dest / name, data):  # a re-run (the review page's) stages only what changed
                stage.write(name, data)
        v = result.video
        report = {
            "version": FORMAT_VERSION,
            "video": {"path": v.path, "fps": v.fps, "frames": v.frames, "duration": round(v.duration, 4),
                      "width": v.width, "height": v.height},
            "sampled": list(result.sampled),
            "settings": result.settings,
            "persons": persons,
            "unknown": unknown,
            "scenes": [{"frame": 0 if not result.sampled else result.sampled[0], "time": 0.0}]
                      + [{"frame": f, "time": t} for f, t in result.cuts],
            "tracks": track_records(result),
            "written": sorted(taken | set(extra) | {GALLERY, APPEARANCES}),
        }
        if result.coverage is not None:
            c = result.coverage
            report["video"]["decoded"] = {"start": c.start, "until": round(c.until, 4), "end": round(c.end, 4),
                                          "complete": not c.broken}
        stage.write(APPEARANCES, appearances_csv(report, merge_gap).encode())
        stage.write(GALLERY, gallery_html(report, merge_gap, video_link(v.path, dest)).encode())
        stage.write(REPORT, _json(report).encode())
        # the earlier run's leftovers, ours only, and never in a folder the user named
        gone = sorted(old - taken - set(extra) - {REPORT, GALLERY, APPEARANCES})
        stale = [n for n in gone if _DISPOSABLE.fullmatch(n.split("/")[0])]
        stale += _duplicates(dest, [n for n in gone if n not in stale], [d for _, d in plan])
        stage.commit(last=REPORT, delete=stale)
    except OSError as e:
        raise OutputError(f"{dest}: cannot write results ({e.strerror or e})") from None
    return report


def _holds(path: Path, data: bytes) -> bool:
    """Whether `path` is a plain file holding exactly `data`: it is left in place,
    as replacing it would change nothing (free() has let this run use the name)."""
    try:
        return (not path.is_symlink() and path.is_file() and path.stat().st_size == len(data)
                and path.read_bytes() == data)
    except OSError:
        return False


def _duplicates(dest: Path, names: Sequence[str], crops: Sequence[bytes]) -> list[str]:
    """Of `names` (files the previous run wrote into folders a user named,
    that this run does not write there), those still holding the very bytes
    of a crop this run writes elsewhere: the face moved (a correction) and a
    copy left behind would be a duplicate. Nothing else there is removed."""
    import hashlib

    def digest(data: bytes) -> bytes:
        return hashlib.blake2b(data, digest_size=16).digest()

    now = {digest(d) for d in crops}
    out = []
    for n in names:
        path = dest / n
        if path.is_file() and not path.is_symlink() and digest(path.read_bytes()) in now:
            out.append(n)
    return out


def _json(report: dict[str, Any]) -> str:
    """The report as strict JSON: a NaN or infinity in it is a bug, not a value to write."""
    try:
        return json.dumps(report, indent=1, allow_nan=False)
    except ValueError as e:
        raise RuntimeError(f"clusters.json would not be valid JSON: {e}") from None
