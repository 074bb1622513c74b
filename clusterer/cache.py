"""Feature cache: everything extraction produced, so that re-clustering with
other clustering settings never decodes the video again.

Layout, inside the output folder:
  cache/features.npz   numpy arrays (np.load, allow_pickle=False):
      sampled, cut_frames, cut_times                 frames looked at; scene cuts
      face_frame, face_time, face_box (n, 4 xyxy), face_score, face_quality
      face_encoding (n, 128; NaN rows where not encoded)
      face_jpeg (bytes, concatenated) + face_jpeg_offsets (n + 1)
      cloth_box (n, 4; -1 where missing), cloth_embedding (n, d; NaN where missing),
      cloth_layout (n, 27; NaN where missing),
      cloth_jpeg + cloth_jpeg_offsets                 (absent when clothing was off)
      track_id, track_scene, track_items + track_offsets (tracks as face indices)
      coverage [start, until, end, broken]            how much was decoded (absent: not known)
      rate [samples per second]                       (absent: the key's fps)
  cache/features.json  {"format", "key", "embedder", "sha256"}: the key (video identity and
      the extraction settings) that the features belong to, and the SHA-256 of
      features.npz. A cache whose key differs is stale; one whose checksum
      differs, or that does not load, is corrupt: both are rebuilt.

The video's identity is its size, modification time and the SHA-256 of three
1 MiB blocks (start, middle, end): cheap on hour-long files, and it changes
when the file is re-encoded or edited.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from .errors import OutputError
from .output.export import CACHE_DIR, FEATURES, META, write_atomic
from .settings import ExtractionSettings
from .types import Clothing, Coverage, Extraction, Face, Track

log = logging.getLogger("clusterer")

FORMAT = 2
"""Bumped whenever the arrays change meaning; an older cache is then stale
(2: cloth_layout added)."""

_BLOCK = 1 << 20


def video_identity(path: str | os.PathLike) -> dict[str, Any]:
    """Size, mtime and a hash of three blocks of the file."""
    p = Path(path)
    st = p.stat()
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for pos in sorted({0, max(0, st.st_size // 2 - _BLOCK // 2), max(0, st.st_size - _BLOCK)}):
            fh.seek(pos)
            h.update(fh.read(_BLOCK))
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "blocks_sha256": h.hexdigest()}


def cache_key(video: str | os.PathLike, settings: ExtractionSettings | dict[str, Any]) -> dict[str, Any]:
    """What the cached features depend on: the video and the extraction settings
    (a clothing checkpoint by its path, size and mtime)."""
    settings = settings.as_dict() if isinstance(settings, ExtractionSettings) else dict(settings)
    if settings.get("cloth_model"):
        cm = Path(settings["cloth_model"])
        st = cm.stat() if cm.exists() else None
        settings["cloth_model"] = [str(cm.resolve()), st.st_size if st else None, st.st_mtime_ns if st else None]
    return {"format": FORMAT, "video": video_identity(video), "settings": settings}


def _blob(chunks: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(c) for c in chunks])
    return np.frombuffer(b"".join(chunks), dtype=np.uint8), offsets


def _unblob(data: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    raw = data.tobytes()
    return [raw[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def to_arrays(ex) -> dict[str, np.ndarray]:
    """An Extraction as named numpy arrays (see the module docstring)."""
    n = len(ex.faces)
    enc = np.full((n, 128), np.nan)
    for i, f in enumerate(ex.faces):
        if f.encoding is not None:
            enc[i] = f.encoding
    a: dict[str, np.ndarray] = {
        "sampled": np.asarray(ex.sampled, dtype=np.int64),
        "cut_frames": np.asarray([c[0] for c in ex.cuts], dtype=np.int64),
        "cut_times": np.asarray([c[1] for c in ex.cuts], dtype=np.float64),
        "face_frame": np.asarray([f.frame for f in ex.faces], dtype=np.int64),
        "face_time": np.asarray([f.time for f in ex.faces], dtype=np.float64),
        "face_box": np.asarray([f.box_xyxy for f in ex.faces], dtype=np.int64).reshape(n, 4),
        "face_score": np.asarray([f.score for f in ex.faces], dtype=np.float64),
        "face_quality": np.asarray([f.quality for f in ex.faces], dtype=np.float64),
        "face_encoding": enc,
        "track_id": np.asarray([t.id for t in ex.tracks], dtype=np.int64),
        "track_scene": np.asarray([t.scene for t in ex.tracks], dtype=np.int64),
        "track_items": np.asarray([i for t in ex.tracks for i in t.items], dtype=np.int64),
        "track_offsets": np.cumsum([0] + [len(t.items) for t in ex.tracks]).astype(np.int64),
    }
    a["face_jpeg"], a["face_jpeg_offsets"] = _blob([f.crop_jpeg for f in ex.faces])
    if ex.coverage is not None:
        c = ex.coverage
        a["coverage"] = np.array([c.start, c.until, c.end, float(c.broken)], dtype=np.float64)
    if ex.rate is not None:
        a["rate"] = np.array([ex.rate], dtype=np.float64)
    if ex.clothing is not None:
        dim = next((len(c.embedding) for c in ex.clothing if c.embedding is not None), 0)
        ldim = next((len(c.layout) for c in ex.clothing if c.layout is not None), 0)
        emb = np.full((n, dim), np.nan, dtype=np.float32)
        lay = np.full((n, ldim), np.nan, dtype=np.float32)
        box = np.full((n, 4), -1, dtype=np.int64)
        for i, c in enumerate(ex.clothing):
            if c.embedding is not None:
                emb[i] = c.embedding
                box[i] = c.box_xyxy
            if c.layout is not None:
                lay[i] = c.layout
        a["cloth_embedding"], a["cloth_box"], a["cloth_layout"] = emb, box, lay
        a["cloth_jpeg"], a["cloth_jpeg_offsets"] = _blob([c.crop_jpeg for c in ex.clothing])
    return a


def from_arrays(a) -> Any:
    """The Extraction stored by to_arrays."""
    enc = a["face_encoding"]
    jpegs = _unblob(a["face_jpeg"], a["face_jpeg_offsets"])
    faces = tuple(
        Face(int(a["face_frame"][i]), float(a["face_time"][i]), tuple(int(v) for v in a["face_box"][i]),
             float(a["face_score"][i]), None if np.isnan(enc[i, 0]) else enc[i].copy(), jpegs[i],
             float(a["face_quality"][i]))
        for i in range(len(enc)))
    clothing = None
    if "cloth_embedding" in a:
        cj = _unblob(a["cloth_jpeg"], a["cloth_jpeg_offsets"])
        emb, box, lay = a["cloth_embedding"], a["cloth_box"], a["cloth_layout"]
        clothing = tuple(Clothing(None) if box[i, 0] < 0 else
                         Clothing(tuple(int(v) for v in box[i]), emb[i].copy(), cj[i],
                                  None if lay.shape[1] == 0 or np.isnan(lay[i, 0]) else lay[i].copy())
                         for i in range(len(faces)))
    off = a["track_offsets"]
    tracks = tuple(Track(int(a["track_id"][k]), int(a["track_scene"][k]),
                         tuple(int(v) for v in a["track_items"][off[k]:off[k + 1]]))
                   for k in range(len(a["track_id"])))
    cuts = tuple((int(f), float(t)) for f, t in zip(a["cut_frames"], a["cut_times"]))
    cov = None
    if "coverage" in a:
        start, until, end, broken = (float(v) for v in a["coverage"])
        cov = Coverage(start, until, end, bool(broken))
    rate = float(a["rate"][0]) if "rate" in a else None
    return Extraction(faces, clothing, tuple(int(v) for v in a["sampled"]), cuts, tracks, cov, rate)


def save(dest: Path, key: dict[str, Any], ex, embedder: str | None = None) -> list[str]:
    """Write the cache into dest (a run's staging folder, or the output
    folder itself: atomically, file by file); return the paths written. A
    failed write (a full disk) leaves no partial file and is an OutputError."""
    buf = io.BytesIO()
    np.savez(buf, **to_arrays(ex))
    data = buf.getvalue()
    try:
        (dest / CACHE_DIR).mkdir(parents=True, exist_ok=True)
        write_atomic(dest / FEATURES, data)
        write_atomic(dest / META, json.dumps({"format": FORMAT, "key": key, "embedder": embedder,
                                              "sha256": hashlib.sha256(data).hexdigest()}, indent=1))
    except OSError as e:
        raise OutputError(f"{dest / CACHE_DIR}: cannot write the feature cache ({e.strerror or e})") from None
    return [FEATURES, META]


def embedder_name(dest: Path) -> str | None:
    """The clothing embedder recorded with the cache."""
    try:
        return json.loads((dest / META).read_text()).get("embedder")
    except (OSError, ValueError):
        return None


def load(dest: Path, key: dict[str, Any]):
    """The cached Extraction for `key`, or None when there is none, it is stale,
    or it is corrupt (then one line is logged and the caller rebuilds it)."""
    meta_path, feat_path = dest / META, dest / FEATURES
    if not meta_path.exists() and not feat_path.exists():
        return None
    why = "features.json is not a cache description"  # what failed, in words, for the warning
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("key") != json.loads(json.dumps(key)):
            log.info("feature cache is for another video or other extraction settings: rebuilding")
            return None
        data = feat_path.read_bytes()
        why = "features.npz does not match the checksum in features.json"
        if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
            raise ValueError(why)
        why = "features.npz does not load"
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            ex = from_arrays({k: npz[k] for k in npz.files})
        if ex.rate is None and isinstance(key.get("settings"), dict) and key["settings"].get("fps"):
            # written before the rate was: the key holds the --fps it was extracted at
            ex = dataclasses.replace(ex, rate=float(key["settings"]["fps"]))
        return ex
    except OSError as e:
        why = f"a file cannot be read: {e.strerror or 'input/output error'}"
    except Exception:  # any damage at all: never trust it
        pass
    log.warning("feature cache in %s is corrupt (%s): rebuilding it", dest / CACHE_DIR, why)
    return None
