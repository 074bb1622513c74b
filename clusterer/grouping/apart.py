"""Look-alikes told apart by the video's own faces: cannot-links from a metric fitted to the video.

The face network places some pairs of people (brothers, two men of an age in
dark suits) nearer each other than one person's faces from two shots. A video
that shows such people together says where they differ: two tracks on screen
at once are two people (negatives), the faces of one track are one
(positives). Fisher's discriminant on those two scatters (unsupervised metric
learning from tracks, after Cinbis, Verbeek and Schmid, ICCV 2011) weighs each
direction of the face space by how far the video's known-different pairs lie
along it against one track's own spread. Two tracks close by face but far
apart in that metric get a cannot-link: a token added to both spans, so every
grouping step keeps them apart as it keeps apart two faces seen together.

Used only as a veto, never to join: distances and thresholds stay the face
network's (face_recognition's) own.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..settings import default
from ..types import Extraction
from .linkage import close_pairs
from .table import TrackTable

APART_NEGATIVE = 0.6
"""Two tracks seen together count as a negative (they teach the metric) when
their faces lie under this distance: look-alikes, the pairs the network
confuses. With every pair seen together (up to 0.7) a precision gain on
fotb_dinner's brothers with HOG was lost and sweden_psa's F fell 0.928 → 0.921
(benchmarks/RESULTS.md, "Session 24")."""

APART_NEAR = 0.45
"""Only tracks closer than this by face get a cannot-link: the pairs that a
join (--join-threshold 0.5) could otherwise make one person. At 0.5 two
photos of one person on seed 53 were cut apart (F 0.983 → 0.898)."""

APART_MIN_NEGATIVES = 3
"""Fewer negatives than this (most composites, any video of one person at a
time) fit no metric: the table is left as it is."""

APART_MIN_FACES = 10
"""Nor without this many faces in tracks of two or more encoded faces, from
which one person's own spread is measured."""

APART_SHRINK = 1.0
"""The within-track scatter is regularised by this share of its mean variance
on every direction, so that the few directions a short video's tracks vary
along do not dominate (AUC of wrong against right candidate pairs: 0.851 raw,
0.896 / 0.901 / 0.903 at 0.3 / 1 / 3)."""


def video_metric(within: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """A projection (d × negatives): the distance of two encodings under it
    weighs each direction of the face space by how far the known-different
    pairs lie along it (`negatives`: rows of their encodings' differences)
    against one track's own spread (`within`: rows of faces' deviations from
    their track's mean), shrunk by APART_SHRINK: its square is the mean, over
    the negatives, of the squared product of a negative with the difference
    whitened by that spread (Δᵀ R⁻¹ S_b R⁻¹ Δ; the metric of Fisher's
    discriminant with the negatives' scatter S_b as between-class)."""
    d = within.shape[1]
    spread = within.T @ within / len(within)
    spread += APART_SHRINK * np.trace(spread) / d * np.eye(d)
    return np.linalg.solve(spread, negatives.T) / np.sqrt(len(negatives))


def within_track(ex: Extraction, tracks) -> np.ndarray:
    """The deviations of each face's encoding from its track's mean, over the
    given tracks (indices into ex.tracks) with two or more encoded faces."""
    rows = []
    for k in tracks:
        e = [ex.faces[i].encoding for i in ex.tracks[k].items if ex.faces[i].encoding is not None]
        if len(e) > 1:
            e = np.asarray(e, dtype=np.float64)
            rows.append(e - e.mean(axis=0))
    return np.concatenate(rows) if rows else np.zeros((0, 0))


def apart_pairs(x: np.ndarray, spans, within: np.ndarray,
                cut: float = default("apart_cut")) -> list[tuple[int, int]]:
    """The pairs (i < j) of rows of `x` (track encodings; `spans` their frames)
    to keep apart: closer than APART_NEAR, sharing no frame, and at least
    `cut` apart in the metric fitted to this video (video_metric), in units
    of its negatives' median distance. None when it has too few negatives or
    faces to fit one.

    The cut (--apart-cut): over 92 extractions (46 videos, MTCNN and HOG) and
    18 dark and hazy copies, 0.7 keeps apart 47 pairs of two people and none
    of one; 0.6 also cut three pairs of one person on the 7-minute composite
    (F 0.948 → 0.870; benchmarks/RESULTS.md, "Session 24")."""
    if len(within) < APART_MIN_FACES or not (within * within).sum() > 0:
        return []
    a, b, d = close_pairs(x, max(APART_NEGATIVE, APART_NEAR))
    apart = np.array([not spans[i] & spans[j] for i, j in zip(a, b)], dtype=bool)
    together = ~apart & (d < APART_NEGATIVE)
    if together.sum() < APART_MIN_NEGATIVES:
        return []
    neg = x[a[together]] - x[b[together]]
    metric = video_metric(within, neg)
    unit = float(np.median(np.linalg.norm(neg @ metric, axis=1)))
    if not unit > 0:
        return []
    near = apart & (d < APART_NEAR)
    a, b = a[near], b[near]
    far = np.linalg.norm((x[a] - x[b]) @ metric, axis=1) >= cut * unit
    return [(int(i), int(j)) for i, j in zip(a[far], b[far])]


def apart_rows(table: TrackTable, ex: Extraction, cut: float = default("apart_cut")) -> list[tuple[int, int]]:
    """The pairs of the table's rows (indices into ex.tracks) that apart_pairs
    keeps apart at `cut`, among its confirmed tracks with a good face."""
    rows = np.flatnonzero(table.good & ~table.unconfirmed)
    x = np.asarray(table.encoding, dtype=np.float64)[rows]
    pairs = apart_pairs(x, [table.spans[k] for k in rows], within_track(ex, rows), cut)
    return [(int(rows[i]), int(rows[j])) for i, j in pairs]


def told_apart_ids(ex: Extraction, s: dict[str, Any]) -> set[tuple[int, int]]:
    """The track ids of each pair (both orders) that grouping at settings `s`
    (a run's clustering settings, or a report's: one from before --apart-cut
    gets its default) kept apart as look-alikes."""
    cut = float(s.get("apart_cut", default("apart_cut")))
    if not cut > 0:
        return set()
    table = TrackTable.of(ex, min_quality=float(s.get("min_quality", default("min_quality"))),
                          budget=int(s.get("track_encodings", default("track_encodings"))),
                          min_confidence=float(s.get("min_confidence", default("min_confidence"))), with_clothing=False)
    ids = [t.id for t in ex.tracks]
    return {pair for i, j in apart_rows(table, ex, cut) for pair in ((ids[i], ids[j]), (ids[j], ids[i]))}


def with_cannot_links(table: TrackTable, pairs) -> TrackTable:
    """The table with a cannot-link (a shared token in their spans, past every
    frame) between each pair of rows in `pairs`; the same table when there is none."""
    if not pairs:
        return table
    spans = list(table.spans)
    token = 1 + max(max(s) for s in spans if s)
    for i, j in pairs:
        spans[i] = spans[i] | {token}
        spans[j] = spans[j] | {token}
        token += 1
    return replace(table, spans=tuple(spans))

