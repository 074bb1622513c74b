"""Linking the persons of many videos into library persons, by face.

A unit is one person of one video (the video's own clustering, which the
user may have corrected in its folder), as the mean of its tracks' face
encodings (weighted by faces): clothes change between episodes, so only
faces link. Units are linked with the same care as tracks inside a video:

- centroid linkage, closest pair first, while the means are under the
  link threshold (clustering.constrained_centroid_linkage's rule), with
  candidate pairs from a faiss k-nearest-neighbour graph instead of all
  pairs, so that it scales to tens of thousands of units; a merged cluster's
  candidates are its members' neighbours;
- never two faces of one frame in a person: two units of one video that
  share a frame share a conflict token, and clusters with a common token
  never merge (so a video's two on-screen-together persons stay apart);
- then clustering.join_unambiguous, at the looser join threshold, for
  clusters that are clearly each other's nearest; and attach_smaller, for a
  smaller cluster (a person seen briefly, or in one pose, in one video) whose
  nearest is a larger one, under the join threshold and clearly nearer than
  the next (a person's turned or dark faces lie far from their mean, but
  nearer to it than to anyone else's; a face between two people is near both);
- names decide: units with one name start as one cluster, and two names
  never merge (a token per pair of names).

Deterministic for a given unit order (the library sorts videos by name).
"""
from __future__ import annotations

import heapq
from itertools import combinations
from typing import Hashable, Sequence

import numpy as np

from ..grouping.linkage import join_unambiguous, number_clusters
from . import index
from .settings import default


ATTACH_FACTOR = 3
"""attach_smaller moves only clusters of fewer than this × min_faces faces:
it is for a person seen briefly; larger clusters link by the linkage and
the mutual join alone (in high dimensions distances crowd together, so a
ratio test between two large clusters says little)."""

NEIGHBOURS = 8
"""Candidate neighbours per unit from the faiss search."""


def link(x: np.ndarray, weights: np.ndarray, tokens: Sequence[frozenset[Hashable]],
         names: Sequence[str | None], *, threshold: float = default("link_threshold"),
         join_threshold: float = default("link_join_threshold"),
         join_ratio: float = default("link_join_ratio"), attach_ratio: float = default("link_attach_ratio"),
         min_faces: int = default("link_min_faces"), k: int = NEIGHBOURS) -> np.ndarray:
    """Library person of each unit: labels 0, 1, … (most faces first, then
    earliest unit). x: (n, 128) unit encodings; weights: faces per unit;
    tokens: each unit's conflict tokens; names: a unit's forced name or None."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=int)
    w = np.asarray(weights, dtype=np.float64)
    spans = _with_name_tokens(tokens, names)
    groups = _start_groups(names)
    small = {g[0] for g in groups if len(g) == 1 and w[g[0]] < min_faces and not names[g[0]]}
    big = [g for g in groups if g[0] not in small]
    labels = np.full(n, -1)
    if big:
        sub = np.array(sorted(i for g in big for i in g))
        at = {int(u): j for j, u in enumerate(sub)}
        clusters = _graph_linkage(x[sub], w[sub], [spans[i] for i in sub], [[at[i] for i in g] for g in big],
                                  threshold, k)
        for c, members in enumerate(clusters):
            labels[sub[members]] = c
    if join_threshold > threshold:
        labels = join_unambiguous(labels, x, spans, join_threshold, join_ratio, w)
    for i in sorted(small):  # alone: only a clear nearest takes them
        labels[i] = labels.max() + 1
    if join_threshold > threshold:
        labels = attach_smaller(labels, x, spans, join_threshold, attach_ratio, w, ATTACH_FACTOR * min_faces)
    final = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    return number_clusters(final, w, np.arange(n), 0, n)


def _with_name_tokens(tokens, names) -> list[frozenset]:
    """Conflict tokens plus one per pair of distinct names, held by every unit of either name."""
    distinct = sorted({nm for nm in names if nm})
    by_name = {nm: set() for nm in distinct}
    for a, b in combinations(distinct, 2):
        by_name[a].add(("name", a, b))
        by_name[b].add(("name", a, b))
    return [frozenset(t) | frozenset(by_name.get(nm, ())) for t, nm in zip(tokens, names)]


def _start_groups(names) -> list[list[int]]:
    """Units of one name together, the others alone; in unit order."""
    first: dict[str, list[int]] = {}
    out: list[list[int]] = []
    for i, nm in enumerate(names):
        if nm and nm in first:
            first[nm].append(i)
            continue
        out.append([i])
        if nm:
            first[nm] = out[-1]
    return out


def _graph_linkage(x: np.ndarray, w: np.ndarray, spans: list[frozenset], groups: list[list[int]],
                   threshold: float, k: int) -> list[list[int]]:
    """constrained_centroid_linkage's merges over the candidate graph: the
    units' k nearest neighbours, mapped to their clusters. With k >= n - 1 the
    graph is complete and the result is the same as the all-pairs linkage."""
    n = len(x)
    g = len(groups)
    cap = 2 * g
    cent, sq, mass = np.zeros((cap, x.shape[1])), np.zeros(cap), np.zeros(cap)
    alive = np.zeros(cap, dtype=bool)
    members: dict[int, list[int]] = {}
    frames: dict[int, frozenset] = {}
    key = [0] * cap
    of_unit = np.zeros(n, dtype=int)
    for c, m in enumerate(groups):
        mass[c] = w[m].sum()
        cent[c] = (x[m] * w[m, None]).sum(0) / max(mass[c], 1e-12)
        sq[c] = cent[c] @ cent[c]
        members[c], frames[c], key[c], alive[c] = list(m), frozenset().union(*(spans[i] for i in m)), m[0], True
        of_unit[m] = c
    _, nb_units = index.knn(x, min(k, n - 1))
    uu = np.repeat(np.arange(n), nb_units.shape[1])
    vv = nb_units.ravel()
    ok = vv >= 0
    ca, cb = of_unit[uu[ok]], of_unit[vv[ok]]
    lo, hi = np.minimum(ca, cb), np.maximum(ca, cb)
    pair = np.unique(lo[lo != hi].astype(np.int64) * g + hi[lo != hi])
    pa, pb = pair // g, pair % g
    src, dst = np.concatenate([pa, pb]), np.concatenate([pb, pa])
    order = np.argsort(src, kind="stable")
    cuts = np.searchsorted(src[order], np.arange(g + 1))
    dst_sorted = dst[order].tolist()
    nbrs: dict[int, set[int]] = {c: set(dst_sorted[cuts[c]:cuts[c + 1]]) for c in range(g)}
    d0 = np.sqrt(np.maximum(sq[pa] + sq[pb] - 2.0 * np.einsum("ij,ij->i", cent[pa], cent[pb]), 0.0))
    close = d0 < threshold
    heap = [(dist, min(key[a], key[b]), max(key[a], key[b]), a, b)
            for dist, a, b in zip(d0[close].tolist(), pa[close].tolist(), pb[close].tolist())
            if not frames[a] & frames[b]]
    heapq.heapify(heap)

    def push(a: int, others: set[int]) -> None:
        if not others:
            return
        oo = np.fromiter(others, dtype=np.int64, count=len(others))
        d = np.sqrt(np.maximum(sq[oo] + sq[a] - 2.0 * (cent[oo] @ cent[a]), 0.0))
        for o, dist in zip(oo[d < threshold].tolist(), d[d < threshold].tolist()):
            if not frames[o] & frames[a]:
                heapq.heappush(heap, (dist, min(key[a], key[o]), max(key[a], key[o]), min(a, o), max(a, o)))

    c = g
    while heap:
        _, _, _, a, b = heapq.heappop(heap)
        if not (alive[a] and alive[b]) or frames[a] & frames[b]:
            continue
        if c == cap:  # grow: names may have merged fewer than 2g clusters' worth up front
            cent, sq, mass, alive = (np.concatenate([v, np.zeros_like(v)]) for v in (cent, sq, mass, alive))
            key += [0] * cap
            cap *= 2
        alive[a] = alive[b] = False
        mass[c] = mass[a] + mass[b]
        cent[c] = (cent[a] * mass[a] + cent[b] * mass[b]) / mass[c]
        sq[c] = cent[c] @ cent[c]
        members[c] = members.pop(a) + members.pop(b)
        frames[c] = frames.pop(a) | frames.pop(b)
        key[c] = min(key[a], key[b])
        nbrs[c] = (nbrs.pop(a) | nbrs.pop(b)) - {a, b}
        for o in nbrs[c]:
            no = nbrs[o]
            no.discard(a)
            no.discard(b)
            no.add(c)
        alive[c] = True
        push(c, nbrs[c])
        c += 1
    return [sorted(m) for m in members.values()]


def attach_smaller(labels: np.ndarray, x: np.ndarray, spans: Sequence[frozenset], threshold: float,
                   ratio: float, weights: np.ndarray, max_faces: float = np.inf) -> np.ndarray:
    """Labels after each cluster joins its nearest cluster (by weighted mean)
    when that one is larger, closer than `threshold`, at most `ratio` × the
    next nearest cluster's distance, and shares no conflict token. In rounds:
    every cluster that may attach does so to one that does not attach in that
    round; means are recomputed between rounds."""
    labels = np.asarray(labels).copy()
    w = np.asarray(weights, dtype=np.float64)
    while True:
        ks, inv = np.unique(labels, return_inverse=True)
        if len(ks) < 3 or ks[0] < 0:
            return labels
        order = np.argsort(inv, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(inv[order]) != 0])
        mass = np.add.reduceat(w[order], starts)
        cent = np.add.reduceat(x[order] * w[order, None], starts) / mass[:, None]
        members = np.split(order, starts[1:])
        dist, near = index.knn(cent, min(NEIGHBOURS, len(ks) - 1))
        d1, d2, b = dist[:, 0], dist[:, 1], near[:, 0]
        may = np.flatnonzero((d1 < threshold) & (d1 <= ratio * d2) & (b >= 0) & (mass[b] > mass)
                             & (mass < max_faces))
        moves: dict[int, int] = {}
        for a in may[np.argsort(mass[may], kind="stable")].tolist():  # smallest first
            t = int(b[a])
            if t in moves or a in moves.values():
                continue
            ta = frozenset().union(*(spans[i] for i in members[a]))
            if ta and ta & frozenset().union(*(spans[i] for i in members[t])):
                continue
            moves[a] = t
        if not moves:
            return labels
        new = np.arange(len(ks))
        for a, t in moves.items():
            new[a] = t
        labels = ks[new[inv]]
