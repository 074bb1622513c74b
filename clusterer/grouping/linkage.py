"""Face clustering: centroid-linkage agglomeration under cannot-link constraints.

Unlike the greedy running-average matching of the tool this replaces, the
result does not depend on the order of the input: items are put in a
canonical order first, and clusters merge closest-pair-first. Two items that
share a frame (two faces on screen together) are never put in one cluster.
Follows scikit-learn conventions: parameters stored in __init__, checked in
fit, results in `labels_`, -1 for unknown.
"""
from __future__ import annotations

import heapq
from typing import Callable, Iterable, Sequence

import numpy as np

from ..settings import check, default
from .table import TrackTable

_CHUNK = 2048
"""Rows per block when searching close pairs, to bound memory at O(chunk × n)."""

SPARSE_MIN = 512
"""join_unambiguous over more clusters than this keeps each cluster's two
nearest instead of all their distances: the same joins, in memory linear in
the clusters (a library of thousands of hours holds tens of thousands)."""

_NEIGHBOURS = 16
"""Initial merge candidates per item: its nearest neighbours under the threshold.
Every later merge compares the new cluster with all others, so this only
bounds the start-up work (all pairs of one person's many tracks)."""


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of `a` and `b` (face_recognition's face_distance)."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(d2, 0.0))


def close_pairs(x: np.ndarray, radius: float, k: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index pairs (i < j) whose rows are closer than `radius`, and their
    distances; with k, only each row's k nearest such neighbours."""
    ii_all, jj_all, dd_all = [], [], []
    for s in range(0, len(x), _CHUNK):
        d = pairwise_distances(x[s:s + _CHUNK], x)
        d[np.arange(len(d)), np.arange(s, s + len(d))] = np.inf
        if k is not None and d.shape[1] > k:
            nearest = np.argpartition(d, k, axis=1)[:, :k]
            mask = np.zeros_like(d, dtype=bool)
            np.put_along_axis(mask, nearest, True, axis=1)
            d = np.where(mask, d, np.inf)
        ii, jj = np.nonzero(d < radius)
        ii_all.append(ii + s)
        jj_all.append(jj)
        dd_all.append(d[ii, jj])
    ii, jj, dd = (np.concatenate(a) if a else np.zeros(0) for a in (ii_all, jj_all, dd_all))
    lo, hi = np.minimum(ii, jj).astype(int), np.maximum(ii, jj).astype(int)
    _, first = np.unique(lo * max(len(x), 1) + hi, return_index=True)  # each pair once
    return lo[first], hi[first], dd[first]


def canonical_order(x: np.ndarray, spans: Sequence[frozenset[int]]) -> np.ndarray:
    """A permutation that sorts items by first frame, then by their vector, so
    that any input order gives the same clustering."""
    keys = [x[:, k] for k in range(x.shape[1] - 1, -1, -1)]
    keys.append(np.array([min(s) if s else -1 for s in spans]))
    return np.lexsort(keys)


def constrained_centroid_linkage(x: np.ndarray, spans: Sequence[frozenset[int]], threshold: float,
                                 weights: np.ndarray | None = None) -> list[list[int]]:
    """Merge clusters closest-first while the distance between their (weighted)
    mean vectors stays below `threshold` and their frame spans do not intersect.

    Two single faces merge exactly when their distance is below the threshold;
    larger clusters compare their means, which averages out the noise of
    single blurred or dark faces. Returns clusters as lists of item indices;
    deterministic for a given order (FaceClusterer makes it order-independent).
    """
    n = len(x)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    cap = max(2 * n - 1, 1)
    cent = np.zeros((cap, x.shape[1]))  # cluster means
    cent[:n] = x
    sq = np.zeros(cap)  # their squared norms, for distances by one matrix-vector product
    sq[:n] = (x * x).sum(1)
    mass = np.zeros(cap)
    mass[:n] = w
    alive = np.zeros(cap, dtype=bool)
    alive[:n] = True
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    frames: dict[int, frozenset[int]] = {i: spans[i] for i in range(n)}
    key = list(range(n)) + [0] * (cap - n)  # smallest member: an order-free tie-break
    ii, jj, dd = close_pairs(x, threshold, _NEIGHBOURS)
    heap = list(zip(dd.tolist(), ii.tolist(), jj.tolist(), ii.tolist(), jj.tolist()))
    heapq.heapify(heap)
    c = n
    while heap:
        _, _, _, a, b = heapq.heappop(heap)
        if not (alive[a] and alive[b]) or frames[a] & frames[b]:
            continue  # stale entry, or a constraint made binding by earlier merges
        alive[a] = alive[b] = False
        mass[c] = mass[a] + mass[b]
        cent[c] = (cent[a] * mass[a] + cent[b] * mass[b]) / mass[c]
        sq[c] = cent[c] @ cent[c]
        members[c] = members.pop(a) + members.pop(b)
        frames[c] = frames.pop(a) | frames.pop(b)
        key[c] = min(key[a], key[b])
        live = np.flatnonzero(alive[:c])
        if len(live):
            d = np.sqrt(np.maximum(sq[live] + sq[c] - 2.0 * (cent[live] @ cent[c]), 0.0))
            for nb, dist in zip(live[d < threshold].tolist(), d[d < threshold].tolist()):
                if not frames[nb] & frames[c]:
                    heapq.heappush(heap, (dist, min(key[c], key[nb]), max(key[c], key[nb]), c, nb))
        alive[c] = True
        c += 1
    return list(members.values())


def _second_least(d: np.ndarray) -> np.ndarray:
    """Each row's second-least distance (a ratio test's runner-up; inf where a
    row has fewer than two columns; a square matrix's inf diagonal counts)."""
    return np.partition(d, 1, axis=1)[:, 1] if d.shape[1] > 1 else np.full(len(d), np.inf)


def join_unambiguous(labels: np.ndarray, x: np.ndarray, spans: Sequence[frozenset[int]], threshold: float,
                     ratio: float, weights: np.ndarray | None = None,
                     veto: Callable[[np.ndarray, np.ndarray, float], bool] | None = None,
                     part_weight: float = np.inf) -> np.ndarray:
    """Labels after joining clusters that are each other's nearest (by their
    weighted mean vectors), closer than `threshold`, with no frame in common,
    where for one of the two the other is clearly nearest: at most `ratio` ×
    its next nearest. Closest pair first, means updated after each join.
    Items labelled -1 take no part. `veto(members_a, members_b, distance)`,
    when given, may forbid a join (the library's rival test).

    Two clusters that each weigh at least `part_weight` (parts) are judged
    against rival parts only: runners-up of that weight that are not within
    `threshold` of the other side. A third part near both, and near enough
    to either to be the same person, makes the pair one person in three
    parts, not a face between two people; a lighter cluster near a part is
    as likely a fragment of it (see grouping.persons.PART_FACES).

    A looser bound than the centroid linkage's, made safe by the margin: a
    person's small, dark or turned faces lie further from their other faces
    than the linkage threshold, yet clearly nearest to them; a face between
    two people is nearest to neither by a margin (benchmarks/RESULTS.md,
    "Joining what faces left apart").
    """
    labels = np.asarray(labels).copy()
    w = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=float)
    ks, groups = _groups(labels)
    if len(groups) < 2:
        return labels
    mass = np.array([w[g].sum() for g in groups])
    cent = np.stack([np.average(x[g], axis=0, weights=w[g]) for g in groups])
    frames = [frozenset().union(*(spans[i] for i in g)) for g in groups]
    if len(groups) > SPARSE_MIN:
        return _join_unambiguous_sparse(labels, ks, groups, mass, cent, frames, threshold, ratio, veto, part_weight)
    d = pairwise_distances(cent, cent)
    np.fill_diagonal(d, np.inf)
    while True:
        near = d.argmin(axis=1)
        rows = np.arange(len(d))
        dn = d[rows, near]
        second = _second_least(d)
        s_a, s_b = second, second[near]
        parts = np.minimum(mass, mass[near]) >= part_weight
        if parts.any():
            # a's runner-up among the parts not within the threshold of its
            # nearest b, and b's among those not within it of a (never a or b)
            rival = mass[None, :] >= part_weight
            apart = (d[near] >= threshold) & rival
            apart[rows, near] = False
            s_a = np.where(parts, np.where(apart, d, np.inf).min(axis=1), s_a)
            apart = (d >= threshold) & rival
            apart[rows, rows] = False
            s_b = np.where(parts, np.where(apart, d[near], np.inf).min(axis=1), s_b)
        ok = (near[near] == rows) & (rows < near) & (dn < threshold) & ((dn <= ratio * s_a) | (dn <= ratio * s_b))
        pairs = sorted((dn[a], a, int(near[a])) for a in np.flatnonzero(ok) if not frames[a] & frames[near[a]]
                       and not (veto and veto(np.flatnonzero(labels == ks[a]), np.flatnonzero(labels == ks[near[a]]),
                                              float(dn[a]))))
        if not pairs:
            return labels
        _, a, b = pairs[0]
        # b takes a in; a's row and column leave the matrix
        cent[b] = (cent[a] * mass[a] + cent[b] * mass[b]) / (mass[a] + mass[b])
        mass[b] += mass[a]
        frames[b] = frames[b] | frames[a]
        labels[labels == ks[a]] = ks[b]
        row = pairwise_distances(cent[b:b + 1], cent)[0]
        row[b] = np.inf
        d[b], d[:, b] = row, row
        keep = np.arange(len(d)) != a
        d, cent, mass, ks = d[keep][:, keep], cent[keep], mass[keep], ks[keep]
        frames = [f for i, f in enumerate(frames) if i != a]


def _groups(labels: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The labels >= 0 in order, and each one's items (ascending)."""
    live = np.flatnonzero(labels >= 0)
    ks, inv = np.unique(labels[live], return_inverse=True)
    order = np.argsort(inv, kind="stable")
    return ks, np.split(live[order], np.flatnonzero(np.diff(inv[order])) + 1) if len(live) else []


def _two_nearest(cent: np.ndarray, rows: np.ndarray, alive: np.ndarray) -> tuple[np.ndarray, ...]:
    """For each of `rows`, its nearest and second-nearest other live cluster
    and their distances (-1 / inf where there are fewer), in blocks of
    _CHUNK rows (memory O(chunk × n)); ties to the lower index, as argmin."""
    n1 = np.full(len(rows), -1)
    n2 = np.full(len(rows), -1)
    d1 = np.full(len(rows), np.inf)
    d2 = np.full(len(rows), np.inf)
    dead = ~alive
    for s in range(0, len(rows), _CHUNK):
        r = rows[s:s + _CHUNK]
        d = pairwise_distances(cent[r], cent)
        d[:, dead] = np.inf
        d[np.arange(len(r)), r] = np.inf
        k = np.arange(len(r))
        a = d.argmin(axis=1)
        n1[s:s + len(r)], d1[s:s + len(r)] = a, d[k, a]
        d[k, a] = np.inf
        b = d.argmin(axis=1)
        n2[s:s + len(r)], d2[s:s + len(r)] = b, d[k, b]
    n1[~np.isfinite(d1)] = -1
    n2[~np.isfinite(d2)] = -1
    return n1, d1, n2, d2


def _join_unambiguous_sparse(labels, ks, groups, mass, cent, frames, threshold, ratio, veto,
                             part_weight=np.inf) -> np.ndarray:
    """join_unambiguous keeping each cluster's two nearest: after a join, the
    merged cluster's row is computed afresh, so are the rows whose nearest or
    runner-up was one of the two, and every other row takes the merged cluster
    in if it is now nearer than its runner-up. Two parts that are each other's
    nearest under the threshold get their rival parts from their two rows,
    computed when needed (few such pairs wait at a time)."""
    n = len(groups)
    alive = np.ones(n, dtype=bool)
    members = [list(g) for g in groups]
    idx = np.arange(n)
    n1, d1, n2, d2 = _two_nearest(cent, idx, alive)
    rivals: dict[tuple[int, int], tuple[tuple[float, int], tuple[float, int]]] = {}  # two parts → their runners-up
    while True:
        live = idx[alive]
        near = n1[live]
        has = near >= 0
        live, near = live[has], near[has]
        dn = d1[live]
        mutual = (n1[near] == live) & (live < near) & (dn < threshold)
        s_a, s_b = d2[live], d2[near]
        for j in np.flatnonzero(mutual & (np.minimum(mass[live], mass[near]) >= part_weight)):
            key = (int(live[j]), int(near[j]))
            if key not in rivals:
                rivals[key] = _rival_parts(cent, mass, alive, *key, threshold, part_weight)
            s_a[j], s_b[j] = rivals[key][0][0], rivals[key][1][0]
        ok = mutual & ((dn <= ratio * s_a) | (dn <= ratio * s_b))
        pairs = sorted((dn[j], int(live[j]), int(near[j])) for j in np.flatnonzero(ok)
                       if not frames[live[j]] & frames[near[j]]
                       and not (veto and veto(np.array(sorted(members[live[j]])), np.array(sorted(members[near[j]])),
                                              float(dn[j]))))
        if not pairs:
            break
        _, a, b = pairs[0]
        cent[b] = (cent[a] * mass[a] + cent[b] * mass[b]) / (mass[a] + mass[b])
        mass[b] += mass[a]
        frames[b] = frames[b] | frames[a]
        members[b] += members[a]
        alive[a] = False
        row = pairwise_distances(cent[b:b + 1], cent)[0]
        row[~alive] = np.inf
        row[b] = np.inf
        redo = alive & ((n1 == a) | (n1 == b) | (n2 == a) | (n2 == b))
        redo[b] = True
        rest = alive & ~redo
        closer = rest & (row < d1)
        n2[closer], d2[closer] = n1[closer], d1[closer]
        n1[closer], d1[closer] = b, row[closer]
        second = rest & ~closer & (row < d2)
        n2[second], d2[second] = b, row[second]
        r = idx[redo]
        n1[r], d1[r], n2[r], d2[r] = _two_nearest(cent, r, alive)
        rivals = _rivals_after_join(rivals, cent, mass, a, b, threshold, part_weight)
    for c in idx[alive]:
        labels[members[c]] = ks[c]
    return labels


def _rival_parts(cent, mass, alive, a: int, b: int, threshold: float, part_weight: float):
    """join_unambiguous's runners-up for two parts a and b, (distance, index):
    a's nearest part not within `threshold` of b, and b's nearest not within
    it of a ((inf, -1) where none)."""
    da, db = pairwise_distances(cent[[a, b]], cent)
    rival = alive & (mass >= part_weight)
    rival[[a, b]] = False
    out = []
    for mine, other in ((da, db), (db, da)):
        c = np.flatnonzero(rival & (other >= threshold))
        k = c[np.argmin(mine[c])] if len(c) else -1
        out.append((float(mine[k]) if k >= 0 else np.inf, int(k)))
    return tuple(out)


def _rivals_after_join(rivals: dict, cent, mass, a: int, b: int, threshold: float, part_weight: float) -> dict:
    """The runners-up of waiting pairs of parts once a has joined b: pairs
    with a or b, or whose runner-up was either, are judged afresh when next
    needed; the others take b in where it is now a nearer rival part."""
    out = {}
    for (p, q), ((sp, cp), (sq, cq)) in rivals.items():
        if {p, q, cp, cq} & {a, b}:
            continue
        if mass[b] >= part_weight:
            dp, dq = pairwise_distances(cent[b:b + 1], cent[[p, q]])[0]
            if dq >= threshold and dp < sp:
                sp, cp = float(dp), b
            if dp >= threshold and dq < sq:
                sq, cq = float(dq), b
        out[p, q] = ((sp, cp), (sq, cq))
    return out


def join_nearest_tracks(labels: np.ndarray, x: np.ndarray, spans: Sequence[frozenset[int]], threshold: float,
                        ratio: float, usable: np.ndarray | None = None, weights: np.ndarray | None = None,
                        max_smaller: float = np.inf,
                        veto: Callable[[np.ndarray, np.ndarray, float], bool] | None = None) -> np.ndarray:
    """Labels after joining each cluster to the one holding its nearest item,
    when that item is closer than `threshold` and clearly nearest (at most
    `ratio` × the nearest item of any third cluster), with no frame in
    common, and the smaller of the two weighs at most `max_smaller` (items
    weigh `weights`, default 1). Closest first; after each join a cluster's
    distance to another is the least of its parts' (single linkage). Only
    `usable` items measure (the others follow their cluster); items labelled
    -1 take no part. `veto(members_a, members_b, distance)`, when given, may
    forbid a join (as join_unambiguous's).

    What join_unambiguous's means miss: a person seen in two settings (two
    photos, two scenes) has tracks far apart on average, yet one of them lies
    clearly nearest to one of the other's (benchmarks/RESULTS.md, "Session 16")."""
    labels = np.asarray(labels).copy()
    use = (labels >= 0) if usable is None else (labels >= 0) & np.asarray(usable, dtype=bool)
    ks = np.unique(labels[labels >= 0])
    if len(ks) < 2 or not use.any():
        return labels
    rows = np.flatnonzero(use)
    rows = rows[np.argsort(np.searchsorted(ks, labels[rows]), kind="stable")]
    of = np.searchsorted(ks, labels[rows])  # each measuring row's cluster, in cluster order
    present, starts = np.unique(of, return_index=True)
    m = len(ks)
    d = np.full((m, m), np.inf)
    for s in range(0, len(rows), _CHUNK):
        part = np.minimum.reduceat(pairwise_distances(x[rows[s:s + _CHUNK]], x[rows]), starts, axis=1)
        np.minimum.at(d, (of[s:s + _CHUNK, None], present[None, :]), part)
    d = np.minimum(d, d.T)  # the two halves' rounding may differ; a pair has one distance
    np.fill_diagonal(d, np.inf)
    frames = [frozenset().union(*(spans[i] for i in np.flatnonzero(labels == k))) for k in ks]
    w = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=float)
    mass = np.array([w[labels == k].sum() for k in ks])
    while True:
        near = d.argmin(axis=1)
        dn = d[np.arange(m), near]
        second = _second_least(d)
        ok = np.flatnonzero((dn < threshold) & (dn <= ratio * second)
                            & (np.minimum(mass, mass[near]) <= max_smaller))
        pick = next(((a, int(near[a])) for _, a in sorted((dn[a], a) for a in ok)
                     if not frames[a] & frames[near[a]]
                     and not (veto and veto(np.flatnonzero(labels == ks[a]), np.flatnonzero(labels == ks[near[a]]),
                                            float(dn[a])))), None)
        if pick is None:
            return labels
        a, b = pick
        labels[labels == ks[a]] = ks[b]
        frames[b] = frames[b] | frames[a]
        mass[b] += mass[a]
        d[b] = d[:, b] = np.minimum(d[a], d[b])
        d[b, b] = np.inf
        d[a] = d[:, a] = np.inf


def join_parts(labels: np.ndarray, x: np.ndarray, spans: Sequence[frozenset[int]], threshold: float,
               ratio: float, near: float, weights: np.ndarray | None = None, usable: np.ndarray | None = None,
               min_weight: float = 0.0) -> np.ndarray:
    """Labels after joining two clusters that each weigh at least `min_weight`,
    whose weighted mean vectors lie closer than `threshold`, with no frame in
    common, when every other cluster nearer to either of the two than their
    distance / `ratio` lies within `near` of both. Closest pair first, means
    updated after each join. Only `usable` items measure (the others follow
    their cluster); items labelled -1 take no part.

    What join_unambiguous's ratio test misses: a person seen at length in
    three parts, each near the other two (seed 23: 0.36, 0.38, 0.42), is
    nobody's clear nearest; a third cluster near only one of the two is a
    rival, one near both is the same person again (benchmarks/RESULTS.md,
    "Session 20")."""
    labels = np.asarray(labels).copy()
    use = (labels >= 0) if usable is None else (labels >= 0) & np.asarray(usable, dtype=bool)
    ks, groups = _groups(np.where(use, labels, -1))
    if len(groups) < 2:
        return labels
    w = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=float)
    mass = np.array([w[g].sum() for g in groups])
    cent = np.stack([np.average(x[g], axis=0, weights=w[g]) for g in groups])
    frames = [frozenset().union(*(spans[i] for i in np.flatnonzero(labels == k))) for k in ks]
    d = pairwise_distances(cent, cent)
    np.fill_diagonal(d, np.inf)
    alive = np.ones(len(ks), dtype=bool)
    big = mass >= min_weight
    pa, pb = np.nonzero(np.triu(d < threshold, 1) & big[:, None] & big[None, :])
    verdict = np.full(len(pa), -1, dtype=np.int8)  # 1 joins, 0 does not, -1 not judged yet
    while True:
        k = _first_join(d, pa, pb, verdict, frames, ratio, near)
        if k is None:
            return labels
        a, b = int(pa[k]), int(pb[k])
        # b takes a in; a leaves
        cent[b] = (cent[a] * mass[a] + cent[b] * mass[b]) / (mass[a] + mass[b])
        mass[b] += mass[a]
        frames[b] = frames[b] | frames[a]
        labels[labels == ks[a]] = ks[b]
        alive[a] = big[a] = False
        before = np.minimum(d[a], d[b])
        row = np.where(alive, pairwise_distances(cent[b:b + 1], cent)[0], np.inf)
        row[b] = np.inf
        d[a], d[:, a] = np.inf, np.inf
        d[b], d[:, b] = row, row
        # pairs with a or b leave; b's pairs under the threshold come back, not judged
        keep = (pa != a) & (pb != a) & (pa != b) & (pb != b)
        nb = np.flatnonzero(big & (row < threshold))
        pa = np.concatenate([pa[keep], np.minimum(nb, b)])
        pb = np.concatenate([pb[keep], np.maximum(nb, b)])
        verdict = np.concatenate([verdict[keep], np.full(len(nb), -1, dtype=np.int8)])
        # a verdict stands unless a or b was, or b now is, within the pair's reach
        reach = d[pa, pb]
        moved = np.minimum(before, row)
        verdict[(moved[pa] * ratio < reach) | (moved[pb] * ratio < reach)] = -1


_PARTS_BATCH = 64
"""Pairs join_parts judges at a time, closest first: where people lie close
together most pairs are refused, and judging every pair again after each
join cost minutes on a few thousand clusters."""


def _first_join(d: np.ndarray, pa: np.ndarray, pb: np.ndarray, verdict: np.ndarray,
                frames: Sequence[frozenset[int]], ratio: float, near: float) -> int | None:
    """The closest pair (ties in index order) that join_parts joins, judging
    pairs not judged yet closest first, _PARTS_BATCH at a time, and recording
    each verdict; None when no pair joins."""
    batch = _PARTS_BATCH
    while True:
        live = np.flatnonzero(verdict != 0)
        if not len(live):
            return None
        dist = d[pa[live], pb[live]]
        if len(live) > batch:
            within = dist <= np.partition(dist, batch - 1)[batch - 1]  # every tie at the edge too
            live, dist = live[within], dist[within]
        order = live[np.lexsort((pb[live], pa[live], dist))]
        todo = order[verdict[order] < 0]
        verdict[todo] = _parts_ok(d, pa[todo], pb[todo], frames, ratio, near)
        hit = order[verdict[order] == 1]
        if len(hit):
            return int(hit[0])


def _parts_ok(d: np.ndarray, pa: np.ndarray, pb: np.ndarray, frames: Sequence[frozenset[int]],
              ratio: float, near: float) -> np.ndarray:
    """join_parts' test for each pair (pa[i], pb[i]) of clusters: no frame in
    common, and every other cluster nearer to either than their distance /
    `ratio` within `near` of both."""
    ok = np.zeros(len(pa), dtype=bool)
    for s in range(0, len(pa), 256):
        a, b = pa[s:s + 256], pb[s:s + 256]
        dab = d[a, b][:, None]
        da, db = d[a], d[b]
        close = (da * ratio < dab) | (db * ratio < dab)
        rows = np.arange(len(a))
        close[rows, a] = close[rows, b] = False
        ok[s:s + 256] = ~(close & ~((da < near) & (db < near))).any(axis=1)
    return ok & np.array([not frames[a] & frames[b] for a, b in zip(pa, pb)], dtype=bool)


def attach_by_face(labels: np.ndarray, rows: np.ndarray, x: np.ndarray, spans: Sequence[frozenset[int]],
                   threshold: float, ratio: float, weights: np.ndarray | None = None) -> np.ndarray:
    """Labels after each of `rows` (labelled -1, taking no part in the
    clusters) joins the cluster whose (weighted) mean vector is nearest, when
    closer than `threshold`, clearly nearest (at most `ratio` × the next
    nearest) and with no frame in common. The means are those of the
    clusters as given, so the result does not depend on the order of `rows`;
    joins go closest first, so that two rows of one frame never both join."""
    labels = np.asarray(labels).copy()
    w = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=float)
    ks = np.unique(labels[labels >= 0])
    rows = np.asarray(rows, dtype=int)
    if not len(ks) or not len(rows):
        return labels
    groups = [np.flatnonzero(labels == k) for k in ks]
    cent = np.stack([np.average(x[g], axis=0, weights=w[g]) for g in groups])
    frames = [frozenset().union(*(spans[i] for i in g)) for g in groups]
    d = pairwise_distances(x[rows], cent)
    near = d.argmin(axis=1)
    dn = d[np.arange(len(rows)), near]
    second = _second_least(d)
    ok = (dn < threshold) & (dn <= ratio * second)
    for _, r, g in sorted((dn[i], int(rows[i]), int(near[i])) for i in np.flatnonzero(ok)):
        if not spans[r] & frames[g]:
            labels[r] = ks[g]
            frames[g] = frames[g] | spans[r]
    return labels


def number_clusters(clusters: Iterable[Sequence[int]], weights: np.ndarray, first: np.ndarray,
                    min_size: float, n: int) -> np.ndarray:
    """Labels 0, 1, … for clusters of total weight >= min_size, most weight first
    (ties: earliest first); -1 for the rest."""
    kept = [c for c in clusters if weights[list(c)].sum() >= min_size]
    kept.sort(key=lambda c: (-weights[list(c)].sum(), first[list(c)].min()))
    labels = np.full(n, -1, dtype=int)
    for k, c in enumerate(kept):
        labels[list(c)] = k
    return labels


class FaceClusterer:
    """Cluster face encodings into persons.

    threshold: distance between mean encodings below which clusters merge
        (for two single faces: their face distance).
    min_faces: clusters with fewer faces go to unknown (-1).

    fit(table): a TrackTable (TrackTable.rows builds one from parallel rows);
    its encodings, the frames each row spans (two rows sharing a frame are
    two people) and the faces each row stands for (min_faces counts faces).
    """

    def __init__(self, threshold: float = default("threshold"), min_faces: int = default("min_faces")):
        self.threshold = threshold
        self.min_faces = min_faces

    def fit(self, table: TrackTable) -> "FaceClusterer":
        check("threshold", self.threshold)
        check("min_faces", self.min_faces)
        x = np.asarray(table.encoding, dtype=np.float64)
        spans = list(table.spans)
        w = np.asarray(table.size, dtype=float)
        order = canonical_order(x, spans) if len(x) else np.zeros(0, dtype=int)
        clusters = constrained_centroid_linkage(x[order], [spans[i] for i in order], self.threshold, w[order])
        clusters = [[int(order[i]) for i in c] for c in clusters]
        first = np.array([min(s) if s else 0 for s in spans])
        self.labels_ = number_clusters(clusters, w, first, self.min_faces, len(x))
        return self

    def fit_predict(self, table: TrackTable) -> np.ndarray:
        return self.fit(table).labels_
