"""Detections on someone's body: a necklace or a tie's knot found at the neck
below a face seen in the same frame. A face detector's weak finds there are
patterns on that person's clothes, and their clothing crop is that person's
clothes, so they made persons of their own or joined persons by clothing.
Over the 70 benchmark videos every track with a face lying there is no face:
a necklace (best score 0.46) and a tie's knot (0.27) each made a person; no
labelled face lies there (benchmarks/RESULTS.md, "Session 27")."""
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
-0.03)."""

NECK = 1.0
"""... and at most this many below it: the neck and collar, where a necklace
(0.55–0.66), a tie's knot (0.52–0.66) or a glass held up (0.87) lay. In a
grid of pictures (a video call, a split screen) the faces of the picture
below lie under the big faces above, 0.56–2.7 heights down (those within
one height are small: BODY_SCALE); hands at the waist (1.45–1.86) are left
to the other rules."""

BODY_SIDE = 0.25
"""... and its centre within the face's width widened by this share on each
side."""

BODY_SCALE = (0.35, 1.2)
"""... and its height within these shares of the face's: larger, it is
someone nearer the camera; much smaller, a face further away (in a grid the
faces of the picture below measured 0.18–0.21 of a close-up's above; the
finds on bodies 0.42–0.71)."""


def lies_on_body(f: Face, g: Face) -> bool:
    """Whether detection `f` lies on the body below face `g` (same frame), at
    its neck or collar."""
    x1, y1, x2, y2 = f.box_xyxy
    a1, b1, a2, b2 = g.box_xyxy
    w, h = a2 - a1, b2 - b1
    cx = (x1 + x2) / 2
    return (a1 - BODY_SIDE * w <= cx <= a2 + BODY_SIDE * w and b2 + BELOW_CHIN * h <= y1 <= b2 + NECK * h
            and BODY_SCALE[0] * h <= y2 - y1 <= BODY_SCALE[1] * h)


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
