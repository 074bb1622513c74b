"""Synthetic extractions whose tracks lie at chosen points: face distances
read off a plane (tests of grouping's joins)."""
from __future__ import annotations

import numpy as np

from clusterer.settings import default
from clusterer.types import Extraction, Face, Track


def tracks_at(points, faces: int = 6, rate: float | None = None, quality=0.9) -> Extraction:
    """One track of `faces` faces at each 2-d point (the other 126 dimensions
    0), on frames of its own, sampled at `rate` a second (None: not recorded),
    its faces of `quality` (one for all, or one a point)."""
    out, tracks, frame = [], [], 0
    qualities = [quality] * len(points) if np.isscalar(quality) else list(quality)
    for k, point in enumerate(points):
        enc = np.zeros(128)
        enc[:2] = point
        items = []
        for _ in range(faces):
            out.append(Face(frame, frame / (rate or default("fps")), (10, 10, 60, 60), 1.0, enc.copy(), b"",
                            qualities[k]))
            items.append(len(out) - 1)
            frame += 1
        tracks.append(Track(k, 0, tuple(items)))
    return Extraction(tuple(out), None, tuple(range(frame)), (), tuple(tracks), None, rate)
