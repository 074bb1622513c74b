"""Library persons joined by the same clothes in another video.

After the face link (link.py), a brief library person whose faces lie as
near another identity as its own may still be placed by its clothes: the
layouts of its units' largest tracks (store.unit_layouts; where the colours
of the torso are, clothing.embedders.layout_vector) against every other
library person's, from other videos. The same clothes in the same framing
(rushes of one shoot, one set-up filmed again, one photo reused) are the
evidence; clothes change between episodes, so this only ever adds what is
the same (benchmarks/RESULTS.md, "Session 19").
"""
from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np

from ..settings import default as video_default
from . import index


LAYOUT_NEIGHBOURS = 32
"""Candidate layouts per layout of a cluster that may join by layout (its
own video's, which do not count, among them)."""

LAYOUT_RATIO = 0.3
"""A join by layout needs the nearest library person's layouts closer than
this share of the next nearest's: stricter than inside a video (0.5,
grouping.refine), as a wrong join across videos is the costlier error and
real footage's clothes vary more between videos. On the real clips cut in
halves (benchmarks/RESULTS.md, "Session 19"), every layout under the bound
from another identity came with a runner-up at a ratio of 0.58 or more
(louis and his son evan, faces 0.588 apart); on the composites every
join but one was at 0.18 or less."""

LAYOUT_FACE_BOUND = video_default("loose_threshold")
"""A join by layout needs the clusters' faces (their units' mean distance,
weighted by faces) under this: face_recognition's tolerance, as in a video."""


def join_by_layout(labels: np.ndarray, x: np.ndarray, weights: np.ndarray, spans: Sequence[frozenset],
                   layouts: Sequence[tuple[np.ndarray, np.ndarray]], videos: Sequence[Hashable],
                   threshold: float, ratio: float = LAYOUT_RATIO, face_bound: float = LAYOUT_FACE_BOUND,
                   max_faces: float = np.inf, moved: set[int] | None = None) -> np.ndarray:
    """Labels after each cluster of fewer than `max_faces` faces joins the
    cluster, as large or larger, whose clothing layouts are nearest to its
    own across videos (the weighted median, over its layouts, of the cosine
    distance to the other's nearest layout from another video: a video's own
    run had its say on its persons), when that is under `threshold`, at most
    `ratio` × the next nearest cluster's, their faces' mean distance (units
    weighted by faces) is under `face_bound` and they share no conflict
    token. In rounds, as link.attach_smaller: nearest first, a cluster joined
    in a round does not move in it. layouts: each unit's (layouts (m, d),
    weights (m,)); the units of every cluster that moved are added to
    `moved` when given."""
    labels = np.asarray(labels).copy()
    w = np.asarray(weights, dtype=np.float64)
    counts = [len(lw) for _, lw in layouts]
    if not sum(counts):
        return labels
    rep = np.concatenate([np.asarray(v, np.float32) for v, lw in layouts if len(lw)])
    rep_w = np.concatenate([np.asarray(lw, np.float64) for _, lw in layouts])
    rep_unit = np.repeat(np.arange(len(layouts)), counts)
    _, vid = np.unique(np.asarray(videos), return_inverse=True)
    rep_vid = vid[rep_unit]
    _, inv0 = np.unique(labels, return_inverse=True)
    mass0 = np.bincount(inv0, weights=w)
    query = np.flatnonzero(mass0[inv0[rep_unit]] < max_faces)  # the layouts of clusters that may move
    if not len(query):
        return labels
    # unit vectors: the cosine distance is half the squared Euclidean one
    nd, ni = index.search(rep, rep[query], LAYOUT_NEIGHBOURS)
    nd = nd ** 2 / 2.0
    # a cluster not among a layout's neighbours lies at least its farthest neighbour's distance away
    floor = nd[:, -1]
    at = {int(r): j for j, r in enumerate(query.tolist())}
    rep_of_unit = np.split(np.arange(len(rep)), np.cumsum(counts)[:-1])

    def median(d: np.ndarray, wt: np.ndarray) -> float:
        ok = np.isfinite(d)
        if not ok.any():
            return np.inf
        d, wt = d[ok], wt[ok]
        o = np.argsort(d, kind="stable")
        c = np.cumsum(wt[o])
        return float(d[o][np.searchsorted(c, c[-1] / 2.0)])

    while True:
        ks, inv = np.unique(labels, return_inverse=True)
        mass = np.bincount(inv, weights=w)
        order = np.argsort(inv, kind="stable")
        members = np.split(order, np.flatnonzero(np.diff(inv[order])) + 1)  # each cluster's units
        cache: dict[int, np.ndarray] = {}

        def reps(c: int) -> np.ndarray:
            """Cluster c's layouts (rows of rep), made when first asked for in a round."""
            if c not in cache:
                cache[c] = np.concatenate([rep_of_unit[u] for u in members[c]])
            return cache[c]

        best = []
        for a in np.flatnonzero(mass < max_faces).tolist():
            ra = np.array([r for r in reps(a).tolist() if r in at], dtype=np.int64)
            if not len(ra):
                continue
            rows = np.array([at[r] for r in ra.tolist()])
            near = ni[rows]
            cand = np.unique(inv[rep_unit[near[near >= 0]]])
            cand = cand[cand != a]
            if not len(cand):
                continue
            scored = []
            for b in cand.tolist():
                rb = reps(b)
                d = 1.0 - rep[ra] @ rep[rb].T
                d = np.where(rep_vid[ra][:, None] != rep_vid[rb][None, :], d, np.inf).min(axis=1)
                scored.append((median(d, rep_w[ra]), b))
            scored.sort()
            d1, b = scored[0]
            d2 = min(scored[1][0] if len(scored) > 1 else np.inf, median(floor[rows], rep_w[ra]))
            if d1 >= threshold or d1 > ratio * d2 or mass[b] < mass[a]:
                continue  # the smaller of two moves (and is the one marked as joined by clothes)
            ma, mb = members[a], members[b]
            face = np.linalg.norm(x[ma][:, None] - x[mb][None], axis=-1)
            if float(np.average(face, weights=np.outer(w[ma], w[mb]))) >= face_bound:
                continue
            if frozenset().union(*(spans[i] for i in ma)) & frozenset().union(*(spans[i] for i in mb)):
                continue
            best.append((d1, a, b))
        moves: dict[int, int] = {}
        for _, a, b in sorted(best):
            if b in moves or a in moves.values():
                continue
            moves[a] = b
        if not moves:
            return labels
        new = np.arange(len(ks))
        for a, b in moves.items():
            new[a] = b
            if moved is not None:
                moved.update(members[a].tolist())
        labels = ks[new[inv]]
