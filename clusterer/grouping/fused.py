"""Fused mode: one distance from face and clothing, clustered with HDBSCAN.

The distance between two faces is (1 - w)·face distance + w·clothing distance
when both have clothing, and the face distance alone when either lacks it
(missing clothing is never replaced by a made-up vector). HDBSCAN's noise
goes to unknown; within a cluster, two faces of one frame cannot both stay:
the less typical one (lower HDBSCAN membership) goes to unknown.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .linkage import pairwise_distances
from .table import TrackTable
from ..settings import check, default
from ..types import Reason


def fused_distances(enc: np.ndarray, cloth: Sequence[np.ndarray | None], weight: float) -> np.ndarray:
    """(n, n) fused distance matrix (see module docstring)."""
    d = pairwise_distances(enc, enc)
    has = np.array([c is not None for c in cloth], dtype=bool)
    if weight > 0 and has.any():
        idx = np.flatnonzero(has)
        v = np.stack([cloth[i] for i in idx]).astype(np.float64)
        both = np.ix_(idx, idx)
        d[both] = (1 - weight) * d[both] + weight * (1.0 - v @ v.T)
    np.fill_diagonal(d, 0.0)
    return np.maximum(d, 0.0)


class FusedClusterer:
    """HDBSCAN over fused face + clothing distances (scikit-learn conventions).

    fit(table): a TrackTable (TrackTable.rows builds one from parallel rows):
    its encodings, clothing, the frames each row spans and the faces each row
    stands for (min_faces counts faces). Results in labels_ (-1 = unknown) and
    reasons_ (None, "noise" or "same-frame" per row).
    """

    def __init__(self, *, cloth_weight: float = default("cloth_weight"),
                 epsilon: float = default("fused_epsilon"), min_faces: int = default("min_faces")):
        self.cloth_weight = cloth_weight
        self.epsilon = epsilon
        self.min_faces = min_faces

    def fit(self, table: TrackTable) -> "FusedClusterer":
        import hdbscan

        check("cloth_weight", self.cloth_weight)
        check("fused_epsilon", self.epsilon)
        check("min_faces", self.min_faces)
        enc = np.asarray(table.encoding, dtype=np.float64)
        cloth = list(table.clothing)
        spans = list(table.spans)
        w = np.asarray(table.size, dtype=float)
        n = len(enc)
        labels = np.full(n, -1, dtype=int)
        reasons: list[Reason | None] = [Reason.NOISE] * n
        if n >= 2:
            d = fused_distances(enc, cloth, self.cloth_weight)
            # min_cluster_size 2: a single track of many faces is still a person
            # (the min_faces rule counts faces, after)
            hd = hdbscan.HDBSCAN(metric="precomputed", min_cluster_size=2,
                                 min_samples=1, cluster_selection_epsilon=self.epsilon)
            labels = hd.fit_predict(d)
            prob = hd.probabilities_
            # an item HDBSCAN leaves alone but that holds enough faces (a track
            # seen in one shot only) is a person of its own
            for i in np.flatnonzero((labels < 0) & (w >= self.min_faces)):
                labels[i] = labels.max() + 1
            reasons = [None if lab >= 0 else Reason.NOISE for lab in labels]
            # one face per frame and person: keep the most typical item (ties: first index)
            taken: dict[int, set[int]] = {}
            for i in sorted(np.flatnonzero(labels >= 0), key=lambda i: (-prob[i], i)):
                used = taken.setdefault(int(labels[i]), set())
                if used & spans[i]:
                    labels[i], reasons[i] = -1, Reason.SAME_FRAME
                else:
                    used |= spans[i]
        self.labels_ = labels
        self.reasons_ = reasons
        return self
