"""Detections on someone's body: a necklace, a tie's knot, hands holding a
phone, found below a face seen in the same frame. A face detector's weak
finds there are patterns on that person's clothes, and their clothing crop
(below them) is that person's clothes, so clothing joined them to persons.
On the six real clips every track lying there with no face scored
BODY_SCORE was no face: a necklace (best 0.46) and a tie's knot (0.27) each
made a person, hands on a phone (0.01) joined one by clothing; no labelled
face of the 70 benchmark videos lies there (benchmarks/RESULTS.md,
"Session 27")."""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..types import Extraction, Face

BODY_SCORE = 0.6
"""A track whose best face the detector scored this is a face wherever it
lies: a child held in front of a parent, clearly detected, stays a person.
The weak finds on bodies scored at most 0.46."""

BELOW_CHIN = 0.3
"""A find on the body starts at least this many of the face's heights below
its chin: a head leaning on a shoulder starts level with it (friends_episode,
-0.03); the finds on bodies started 0.39–2.6 below."""

BODY_DEPTH = 3.0
"""... and its centre lies at most this many of the face's heights below the
chin (the torso)."""

BODY_SIDE = 0.25
"""... and its centre within the face's width widened by this share on each
side."""

BODY_SCALE = 1.2
"""... and it is at most this many times the face's height: a larger face
below is someone nearer the camera. The finds on bodies measured 0.12–0.86."""


def lies_on_body(f: Face, g: Face) -> bool:
    """Whether detection `f` lies on the body below face `g` (same frame)."""
    x1, y1, x2, y2 = f.box_xyxy
    a1, b1, a2, b2 = g.box_xyxy
    w, h = a2 - a1, b2 - b1
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return (a1 - BODY_SIDE * w <= cx <= a2 + BODY_SIDE * w and y1 >= b2 + BELOW_CHIN * h
            and cy <= b2 + BODY_DEPTH * h and y2 - y1 <= BODY_SCALE * h)


def tracks_on_body(ex: Extraction) -> np.ndarray:
    """Per track: whether it is a weak find on someone's body, no face scored
    BODY_SCORE and at least half its faces lying on the body below a face of
    another track, in the same frame, that the detector scored higher."""
    by_frame: dict[int, list[tuple[int, Face]]] = defaultdict(list)
    for k, t in enumerate(ex.tracks):
        for i in t.items:
            by_frame[ex.faces[i].frame].append((k, ex.faces[i]))
    out = np.zeros(len(ex.tracks), dtype=bool)
    for k, t in enumerate(ex.tracks):
        faces = [ex.faces[i] for i in t.items]
        if not faces or max(f.score for f in faces) >= BODY_SCORE:
            continue
        on = sum(any(j != k and g.score > f.score and lies_on_body(f, g) for j, g in by_frame[f.frame])
                 for f in faces)
        out[k] = 2 * on >= len(faces)
    return out
