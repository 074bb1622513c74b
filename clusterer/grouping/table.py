"""The TrackTable: one row per face track, what every grouping step takes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import ENCODING_DIM, Extraction
from .body import tracks_on_body


def as_span(f) -> frozenset[int]:
    """A frame index, or a set of them (a track), as a frozenset."""
    return frozenset([int(f)]) if np.isscalar(f) else frozenset(int(v) for v in f)


def encode_tracks(ex: Extraction, *, min_quality: float, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """Each track's encoding, the mean of its best (up to `budget`) encoded faces
    of at least `min_quality`, and whether it had any such face. A track with
    none gets the mean of all its encoded faces, flagged low-quality; one with
    no face encoded at all (a detection that lost its track to another on the
    same step, with the track's budget of encodings full), NaN: not good, so
    stage 1 and the face joins skip it, and a distance to it is under no bound."""
    enc = np.zeros((len(ex.tracks), ENCODING_DIM))
    good = np.zeros(len(ex.tracks), dtype=bool)
    for k, t in enumerate(ex.tracks):
        coded = sorted((f for f in (ex.faces[i] for i in t.items) if f.encoding is not None),
                       key=lambda f: -f.quality)
        best = [f for f in coded if f.quality >= min_quality][:budget]
        good[k] = bool(best)
        enc[k] = np.mean([f.encoding for f in (best or coded)], axis=0) if coded else np.nan
    return enc, good


def track_clothing(ex: Extraction, part: str = "embedding") -> list[np.ndarray | None]:
    """Each track's clothing: the normalised mean of its faces' clothing
    embeddings (part="layout": layouts), or None when none of its faces had
    one."""
    out: list[np.ndarray | None] = []
    for t in ex.tracks:
        vecs = [v for v in (getattr(ex.clothing[i], part) for i in t.items) if v is not None] \
            if ex.clothing is not None else []
        m = np.mean(vecs, axis=0) if vecs else None
        out.append(None if m is None else m / max(float(np.linalg.norm(m)), 1e-12))
    return out


@dataclass(frozen=True, eq=False)
class TrackTable:
    """One row per face track: what every grouping decision is taken on.

    encoding (n, 128): the track's face encoding (encode_tracks); good (n,):
    whether it had a face of min_quality; size (n,): its number of faces;
    spans: the frames it covers (two tracks sharing one are two people);
    times (n, 2): its first and last face's time; clothing: its clothing
    embedding or None (track_clothing; None for all without clothing);
    layout: its clothing's layout or None, likewise;
    unconfirmed (n,): not confirmed (see confirmed: a one-face track scored
    under min_confidence, or no face at the detector's cut-off), or on_body;
    top (n,): its best face's detector score;
    on_body (n,): a weak find at the neck below another face (body.tracks_on_body);
    quality (n,): its best face's quality (faces.quality: size, sharpness, score, pose).
    Index it with a numpy index (table[rows]) for the rows a step looks at.
    """

    encoding: np.ndarray
    good: np.ndarray
    size: np.ndarray
    spans: tuple[frozenset[int], ...]
    times: np.ndarray
    clothing: tuple[np.ndarray | None, ...]
    unconfirmed: np.ndarray
    layout: tuple[np.ndarray | None, ...]
    top: np.ndarray
    on_body: np.ndarray
    quality: np.ndarray

    def __len__(self) -> int:
        return len(self.size)

    def __getitem__(self, rows) -> "TrackTable":
        rows = np.asarray(rows)
        return TrackTable(self.encoding[rows], self.good[rows], self.size[rows],
                          tuple(self.spans[k] for k in rows), self.times[rows],
                          tuple(self.clothing[k] for k in rows), self.unconfirmed[rows],
                          tuple(self.layout[k] for k in rows), self.top[rows], self.on_body[rows],
                          self.quality[rows])

    @staticmethod
    def rows(encoding, frames, size=None, *, clothing=None, times=None, layout=None, top=None) -> "TrackTable":
        """A table from parallel rows, for the clusterers used on their own:
        frames[i] a frame or a set of frames; size the faces each row stands
        for (default 1); clothing vectors and layouts or None (default none);
        times (n,) or (n, 2) in seconds (default 0); top, each row's best
        detector score (default inf). Every row good, confirmed, on no body,
        its best face of quality 1."""
        enc = np.asarray(encoding, dtype=np.float64)
        if enc.ndim != 2:
            raise ValueError(f"encodings must be 2-d (n, dim), got shape {enc.shape}")
        n = len(enc)
        spans = tuple(as_span(f) for f in frames)
        if len(spans) != n:
            raise ValueError(f"frames has {len(spans)} entries for {n} rows of encodings")
        t = np.zeros(n) if times is None else np.asarray(times, dtype=float)
        return TrackTable(enc, np.ones(n, dtype=bool), np.ones(n) if size is None else np.asarray(size, dtype=float),
                          spans, t if t.ndim == 2 else np.stack([t, t], axis=1).reshape(n, 2),
                          (None,) * n if clothing is None else tuple(clothing), np.zeros(n, dtype=bool),
                          (None,) * n if layout is None else tuple(layout),
                          np.full(n, np.inf) if top is None else np.asarray(top, dtype=float),
                          np.zeros(n, dtype=bool), np.ones(n))

    @staticmethod
    def of(ex: Extraction, *, min_quality: float, budget: int, min_confidence: float,
           with_clothing: bool) -> "TrackTable":
        faces, tracks = ex.faces, ex.tracks
        nt = len(tracks)
        enc, good = encode_tracks(ex, min_quality=min_quality, budget=budget)
        body = tracks_on_body(ex)
        return TrackTable(
            encoding=enc, good=good,
            size=np.array([len(t.items) for t in tracks]),
            spans=tuple(frozenset(faces[i].frame for i in t.items) for t in tracks),
            times=np.array([[faces[t.items[0]].time, faces[t.items[-1]].time] for t in tracks]).reshape(nt, 2),
            clothing=tuple(track_clothing(ex)) if with_clothing else (None,) * nt,
            unconfirmed=np.array([not confirmed([faces[i].score for i in t.items], min_confidence)
                                  for t in tracks], dtype=bool) | body,
            layout=tuple(track_clothing(ex, "layout")) if with_clothing else (None,) * nt,
            top=np.array([max(faces[i].score for i in t.items) for t in tracks], dtype=float).reshape(nt),
            on_body=body,
            quality=np.array([max(faces[i].quality for i in t.items) for t in tracks], dtype=float).reshape(nt))


def confirmed(scores, min_confidence: float) -> bool:
    """Whether a track's faces (their detector scores, in order) confirm it: it
    counts from its first face at the detector's cut-off (score 0), so a
    track started by weak detections (--track-start) confirms as the same
    track without them would. None such: unconfirmed; one face from there on:
    confirmed only at min_confidence."""
    first = next((k for k, v in enumerate(scores) if v >= 0.0), None)
    return first is not None and (len(scores) - first > 1 or scores[first] >= min_confidence)

