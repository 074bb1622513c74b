"""Stage 2 of two-stage clustering: clothing joins what faces alone left apart.

After stage 1 (faces at the strict threshold), a cluster A joins another
cluster B when all of these hold:
  * clothing: A's clothing is close to B's clothing *seen nearby in time*
    (people change clothes between scenes, so far-apart sightings are not
    compared): the median, over A's faces with clothing, of the distance to
    the closest clothing of B within `window` seconds, is under `cloth_threshold`;
  * faces: the average face distance between A's and B's items is under
    `loose_threshold`
    (face_recognition's tolerance, 0.6, by default; LAYOUT_FACE for a join by layout);
  * ratio test: B is clearly the best: its clothing distance is at most
    `ratio` × that of the second-best cluster seen nearby that could stand
    as a person (a face scored at least `rival_score`): a cluster of barely
    detected faces, never a person on its own, is most often a hand or a
    pattern on someone's clothes, whose crop shows their clothes again;
  * never two faces of one frame in one cluster.
Merges happen best-first, one at a time, so the result does not depend on the
input order. Clothing never splits a cluster made by faces.

Then, once no such join is left, the same test on the clothing's layout
(where its colours are: clothing.embedders.layout_vector) by a strict bound,
`layout_threshold`, and margin, LAYOUT_RATIO: the same clothes in the same
framing, which blur, low resolution and light hide from the embedding. Such
a join holds the faces to a looser bound, LAYOUT_FACE, than the embedding's.
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


LAYOUT_FACE = 0.75
"""A join by layout needs the faces under this distance (or --loose-threshold,
if higher), where a join by the clothing embedding needs --loose-threshold:
the same clothes in the same framing, by half the next nearest, are evidence
enough that faces 0.6-0.75 apart (small, dark, blurred or turned; a face too
poor to shape an encoding) are one person's: on the benchmark's 46 videos
(MTCNN and HOG), 51 of the 52 joins it let through (faces 0.60-0.75 apart) put
a cluster with its own identity's person, the other an already mixed one, and
precision fell only where a person already held two people
(benchmarks/RESULTS.md, "Session 22")."""


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
                 layout_threshold: float = default("layout_threshold"), layout_ratio: float = LAYOUT_RATIO,
                 layout_face: float = LAYOUT_FACE, rival_score: float = -np.inf):
        self.loose_threshold = loose_threshold
        self.cloth_threshold = cloth_threshold
        self.ratio = ratio
        self.window = window
        self.layout_threshold = layout_threshold
        self.layout_ratio = layout_ratio
        self.layout_face = layout_face
        self.rival_score = rival_score

    def fit(self, labels, table: TrackTable) -> "ClothingRefiner":
        labels = np.asarray(labels)
        members = {int(k): np.flatnonzero(labels == k) for k in np.unique(labels)}
        joins = self._joins(members, table, table.clothing, self.cloth_threshold, self.ratio, "clothing",
                            self.loose_threshold)
        joins += self._joins(members, table, table.layout, self.layout_threshold, self.layout_ratio, "layout",
                             max(self.loose_threshold, self.layout_face))
        out = np.empty(len(labels), dtype=int)
        for k, m in members.items():
            out[m] = k
        self.labels_ = out
        self.joins_ = joins
        return self

    def _joins(self, members: dict[int, np.ndarray], table: TrackTable, vectors, threshold: float, ratio: float,
               by: str, face_bound: float) -> list[Join]:
        """Join clusters (`members`: id → rows, updated in place) by `vectors`
        (the rows' clothing or layouts, None where missing), best first, until
        no pair passes the tests of the module docstring at `threshold`,
        `ratio` and faces under `face_bound`; return the joins."""
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
        stands = {k: bool((table.top[m] >= self.rival_score).any()) for k, m in members.items()}

        def cloth_dists(srcs: list[int], dsts: list[int]) -> np.ndarray:
            """(len(srcs), len(dsts)): for each pair, the median over the source's
            items with clothing of the nearest clothing of the target seen within
            the window (inf where none is)."""
            out = np.full((len(srcs), len(dsts)), np.inf)
            ia = [members[k][has[members[k]]] for k in srcs]
            ib = [members[k][has[members[k]]] for k in dsts]
            na, nb = np.array([len(i) for i in ia]), np.array([len(i) for i in ib])
            if not na.sum() or not nb.sum():
                return out
            ra, rb = np.concatenate(ia), np.concatenate(ib)
            gap = np.maximum(start[ra][:, None], start[rb][None, :]) - np.minimum(end[ra][:, None], end[rb][None, :])
            d = np.where(gap <= self.window, 1.0 - cvec[ra] @ cvec[rb].T, np.inf)
            d = np.minimum.reduceat(d, _offsets(nb[nb > 0]), axis=1)  # each item's nearest, by target
            out[np.ix_(na > 0, nb > 0)] = _medians(d, na[na > 0])
            return out

        def face_dist(a: int, b: int) -> float:
            """Average face distance between the two clusters' items (weighted)."""
            ma, mb = members[a], members[b]
            d = pairwise_distances(enc[ma], enc[mb])
            return float(np.average(d, weights=np.outer(w[ma], w[mb])))

        # a cluster's clothing is compared only with clusters whose clothing
        # was seen within the window of its own (elsewhere the distance is
        # inf, and an hour holds many such pairs): each cluster is filed under
        # the window-wide periods of time its clothing was seen in, and their
        # neighbours; clusters filed under one period are compared
        width = max(self.window, 1.0)
        periods: dict[int, set[int]] = {}
        filed: dict[int, set[int]] = {}
        for k, m in members.items():
            periods[k] = set()
            if np.isfinite(width):
                for i in m[has[m]]:
                    periods[k].update(range(int(start[i] // width) - 1, int(end[i] // width) + 2))
            elif has[m].any():
                periods[k].add(0)  # no window: everyone with clothing is compared
            for t in periods[k]:
                filed.setdefault(t, set()).add(k)

        def nearby(a: int) -> list[int]:
            return sorted(set().union(*(filed[t] for t in periods[a])) - {a})

        def ranked(a: int) -> tuple:
            """a's nearest cluster by clothing and its nearest rival (the next
            nearest that stands as a person): (d1, b1, d2, b2)."""
            bs = nearby(a)
            scored = sorted((float(d), b) for d, b in zip(cloth_dists([a], bs)[0], bs) if np.isfinite(d))
            if not scored:
                return ()
            rival = next(((d, b) for d, b in scored[1:] if stands[b]), (np.inf, -1))
            return scored[0][0], scored[0][1], *rival

        def candidate(a: int):
            """a's join with its nearest, as (clothing, face, ids…, source, target)
            for ordering, or None where a test of the module docstring fails."""
            if not best[a]:
                return None
            c1, b, c2, _ = best[a]
            if c1 >= threshold or fr[a] & fr[b]:
                return None
            if c1 > ratio * c2:
                return None  # ambiguous: another cluster's clothing is nearly as close
            fd = face_dist(a, b)
            if fd >= face_bound:
                return None
            # smaller clusters join larger ones; ties by id, for determinism
            src, dst = (a, b) if (w[members[a]].sum(), -a) < (w[members[b]].sum(), -b) else (b, a)
            return c1, fd, min(a, b), max(a, b), src, dst

        best = {a: ranked(a) for a in members}
        cand = {a: candidate(a) for a in members}
        joins: list[Join] = []
        while True:
            pick = min((c for c in cand.values() if c is not None), default=None)
            if pick is None:
                return joins
            c1, fd, _, _, src, dst = pick
            joins.append(Join(src, dst, c1, fd, by))
            members[dst] = np.concatenate([members[dst], members.pop(src)])
            fr[dst] = fr[dst] | fr.pop(src)
            stands[dst] = stands[dst] or stands.pop(src)
            for t in periods[src]:
                filed[t].discard(src)
                filed[t].add(dst)
            periods[dst] |= periods.pop(src)
            del best[src], cand[src]
            # judged again: dst; whoever ranked src or dst first or second; and
            # whoever dst's clothing now comes nearer than its second
            redo = {dst} | {a for a, r in best.items() if r and {r[1], r[3]} & {src, dst}}
            near = [a for a in nearby(dst) if a not in redo]
            for a, d in zip(near, cloth_dists(near, [dst])[:, 0]):
                if not best[a] or d < best[a][2]:
                    redo.add(a)
            for a in redo:
                best[a] = ranked(a)
                cand[a] = candidate(a)


def _offsets(lengths: np.ndarray) -> np.ndarray:
    """Where each of consecutive segments of these lengths starts."""
    return np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int)


def _medians(d: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(len(lengths), columns): the median of the finite values of each column
    within each segment of rows (rows in segments of `lengths`), inf where a
    segment has none; as np.median of those values, in d's precision."""
    out = np.full((len(lengths), d.shape[1]), np.inf)
    if len(lengths) == 1:  # one source against many: every column sorted at once
        v = np.sort(d, axis=0)
        n = np.isfinite(v).sum(axis=0)
        k = np.flatnonzero(n)
        out[0, k] = (v[(n[k] - 1) // 2, k] + v[n[k] // 2, k]) / 2
        return out
    first = _offsets(lengths)
    seg = np.repeat(np.arange(len(lengths)), lengths)
    for j in range(d.shape[1]):
        v = d[np.lexsort((d[:, j], seg)), j]  # each segment's values in order, inf last
        n = np.add.reduceat(np.isfinite(v), first)
        k = np.flatnonzero(n)
        lo, hi = v[first[k] + (n[k] - 1) // 2], v[first[k] + n[k] // 2]
        out[k, j] = (lo + hi) / 2
    return out
