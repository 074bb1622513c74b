"""Stage 2 of two-stage clustering: clothing joins what faces alone left apart.

After stage 1 (faces at the strict threshold), a cluster A joins another
cluster B when all of these hold:
  * clothing: A's clothing is close to B's clothing *seen nearby in time*
    (people change clothes between scenes, so far-apart sightings are not
    compared): the median, over A's faces with clothing, of the distance to
    the closest clothing of B within `window` seconds, is under `cloth_threshold`;
  * faces: the average face distance between A's and B's items is under
    `loose_threshold`
    (face_recognition's tolerance, 0.6, by default);
  * ratio test: B is clearly the best: its clothing distance is at most
    `ratio` × that of the second-best cluster seen nearby;
  * never two faces of one frame in one cluster.
Merges happen best-first, one at a time, so the result does not depend on the
input order. Clothing never splits a cluster made by faces.

Then, once no such join is left, the same test on the clothing's layout
(where its colours are: clothing.embedders.layout_vector) by a strict bound,
`layout_threshold`, and margin, LAYOUT_RATIO: the same clothes in the same
framing, which blur, low resolution and light hide from the embedding.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .linkage import pairwise_distances
from ..settings import default
from .table import TrackTable


LAYOUT_RATIO = 0.5
"""A join by layout needs the nearest layout closer than this share of the
second nearest. Stricter than --cloth-ratio: by layout, a person's tracks in
one framing lie far closer to each other (a median 0.02) than to anyone
else's, and at 0.75 a layout join made people of two on dark and hazy
copies of the real clips (brothers at one table, two women in one row of
seats) (benchmarks/RESULTS.md, "Session 18")."""


@dataclass(frozen=True)
class Join:
    """A stage-2 decision: cluster `source` joined cluster `target`, by
    clothing (`cloth`: the clothing distance) or, with `by` "layout", by its
    layout (`cloth`: the layout distance)."""

    source: int
    target: int
    cloth: float
    face: float
    by: str = "clothing"


class ClothingRefiner:
    """Merge stage-1 clusters by clothing (see module docstring).

    fit(labels, table): labels are stage-1 cluster ids (>= 0 for every row) of
    a TrackTable's rows (TrackTable.rows builds one from parallel rows): its
    encodings, clothing (a vector or None), first and last times in seconds,
    the frames each row spans and the faces each row stands for. Results:
    labels_ (merged cluster ids) and joins_ (list of Join).
    """

    def __init__(self, *, loose_threshold: float = default("loose_threshold"),
                 cloth_threshold: float = default("cloth_threshold"),
                 ratio: float = default("cloth_ratio"), window: float = default("cloth_window"),
                 layout_threshold: float = default("layout_threshold"), layout_ratio: float = LAYOUT_RATIO):
        self.loose_threshold = loose_threshold
        self.cloth_threshold = cloth_threshold
        self.ratio = ratio
        self.window = window
        self.layout_threshold = layout_threshold
        self.layout_ratio = layout_ratio

    def fit(self, labels, table: TrackTable) -> "ClothingRefiner":
        labels = np.asarray(labels)
        members = {int(k): np.flatnonzero(labels == k) for k in np.unique(labels)}
        joins = self._joins(members, table, table.clothing, self.cloth_threshold, self.ratio, "clothing")
        joins += self._joins(members, table, table.layout, self.layout_threshold, self.layout_ratio, "layout")
        out = np.empty(len(labels), dtype=int)
        for k, m in members.items():
            out[m] = k
        self.labels_ = out
        self.joins_ = joins
        return self

    def _joins(self, members: dict[int, np.ndarray], table: TrackTable, vectors, threshold: float, ratio: float,
               by: str) -> list[Join]:
        """Join clusters (`members`: id → rows, updated in place) by `vectors`
        (the rows' clothing or layouts, None where missing), best first, until
        no pair passes the tests of the module docstring at `threshold` and
        `ratio`; return the joins."""
        has = np.array([c is not None for c in vectors], dtype=bool)
        if threshold <= 0 or not has.any():
            return []
        cvec = np.zeros((len(vectors), len(next(c for c in vectors if c is not None))), np.float32)
        for i, c in enumerate(vectors):
            if c is not None:
                cvec[i] = c
        enc = np.asarray(table.encoding, dtype=np.float64)
        times = np.asarray(table.times, dtype=float)
        start, end = times[:, 0], times[:, 1]
        w = np.asarray(table.size, dtype=float)
        fr = {k: frozenset().union(*(table.spans[i] for i in m)) for k, m in members.items()}

        def cloth_dist(a: int, b: int) -> float:
            """Median over a's items with clothing of the nearest nearby clothing of b."""
            ia, ib = members[a][has[members[a]]], members[b][has[members[b]]]
            if len(ia) == 0 or len(ib) == 0:
                return np.inf
            gap = np.maximum(start[ia][:, None], start[ib][None, :]) - np.minimum(end[ia][:, None], end[ib][None, :])
            near = gap <= self.window
            if not near.any():
                return np.inf
            d = 1.0 - cvec[ia] @ cvec[ib].T
            d = np.where(near, d, np.inf).min(axis=1)
            d = d[np.isfinite(d)]
            return float(np.median(d))

        def face_dist(a: int, b: int) -> float:
            """Average face distance between the two clusters' items (weighted)."""
            ma, mb = members[a], members[b]
            d = pairwise_distances(enc[ma], enc[mb])
            return float(np.average(d, weights=np.outer(w[ma], w[mb])))

        cache: dict[tuple[int, int], float] = {}

        def cd(a, b):
            if (a, b) not in cache:
                cache[(a, b)] = cloth_dist(a, b)
            return cache[(a, b)]

        joins: list[Join] = []
        while True:
            best = None
            keys = sorted(members)
            for a in keys:
                scored = sorted((cd(a, b), b) for b in keys if b != a and np.isfinite(cd(a, b)))
                if not scored:
                    continue
                c1, b = scored[0]
                if c1 >= threshold or fr[a] & fr[b]:
                    continue
                if len(scored) > 1 and c1 > ratio * scored[1][0]:
                    continue  # ambiguous: another cluster's clothing is nearly as close
                fd = face_dist(a, b)
                if fd >= self.loose_threshold:
                    continue
                # smaller clusters join larger ones; ties by id, for determinism
                src, dst = (a, b) if (w[members[a]].sum(), -a) < (w[members[b]].sum(), -b) else (b, a)
                cand = (c1, fd, min(a, b), max(a, b), src, dst)
                if best is None or cand < best:
                    best = cand
            if best is None:
                return joins
            c1, fd, _, _, src, dst = best
            joins.append(Join(src, dst, c1, fd, by))
            members[dst] = np.concatenate([members[dst], members.pop(src)])
            fr[dst] = fr[dst] | fr.pop(src)
            cache = {k: v for k, v in cache.items() if src not in k and dst not in k}
