"""Linking the persons of many videos into library persons, by face.

A unit is one person of one video (the video's own clustering, which the
user may have corrected in its folder), as the quality-weighted mean of
its faces' encodings (store.unit_encoding): clothes change between
episodes, so only faces link. Units are linked with the same care as tracks inside a video:

- centroid linkage, closest pair first, while the means are under the
  link threshold (clustering.constrained_centroid_linkage's rule), or the
  stricter pair threshold when each side is still drawn from one video only
  (two videos' persons that nothing else links: on the real clips, which
  share no one, such pairs lay 0.37–0.41 apart, on the composites every
  such link of one person was under 0.32; a person then seen in two or more
  videos is confirmed, and others join it under the link threshold), with
  candidate pairs from a faiss k-nearest-neighbour graph instead of all
  pairs, so that it scales to tens of thousands of units; a merged cluster's
  candidates are its members' neighbours. Two margins keep different people
  at 0.37–0.42 apart (benchmarks/RESULTS.md, "Issue 17, round three"):
  clusters link only along a graph edge under the threshold, i.e. some unit of
  one lies within it of some unit of the other (the mean of many units drifts
  to the crowded middle of the face space, so a stranger near no one of them
  can lie near their mean); and a unit still alone links to another video's
  cluster only when nearer than rival_ratio × its distance to the nearest
  other person of its own video, whom that video's run judged someone else
  (a unit whose own video holds a near look-alike is no evidence at that
  distance; the join and the attach below keep this test too);
- never two faces of one frame in a person: two units of one video that
  share a frame, or that its grouping kept apart as look-alikes
  (store.unit_conflicts), share a conflict token, and clusters with a
  common token never merge (so a video's two on-screen-together persons
  stay apart);
- then clustering.join_unambiguous, at the looser join threshold, for
  clusters that are clearly each other's nearest; and attach_smaller, for a
  smaller cluster (a person seen briefly, or in one pose, in one video) whose
  nearest is a larger one, holding the unit nearest to it (a support edge,
  as in the linkage), under the join threshold and clearly nearer than
  the next (a person's turned or dark faces lie far from their mean, but
  nearer to it than to anyone else's; a face between two people is near both),
  by a looser margin (cast_ratio) for a brief cluster (under min_faces, of
  one video or drawn from several) to one already drawn from two or more
  videos: one of the cast, confirmed across videos by the linkage (a cluster
  as large as the linkage's units is a person in its own right, whether of
  one video, which had its chance there, or of several: the strict margin;
  by the looser one, a person seen briefly in three videos joined another
  of the cast), while a person of one video only is as likely another brief
  stranger (on the real clips, which share no one, every wrong attach went to
  one); towards one of the cast, the margin is taken to the next cluster of
  min_faces or more, a brief one near both being as likely a fragment of it;
- then clothes.join_by_layout: a cluster of under ATTACH_FACTOR × min_faces faces
  joins the one whose clothing layouts (the units' largest tracks') are
  nearest, across videos, when that is under the layout threshold, at most
  LAYOUT_RATIO × the next nearest, and their faces lie under
  LAYOUT_FACE_BOUND: the same clothes in the same framing in two videos
  (rushes of one shoot, one photo reused) link a brief person whose faces
  alone lie as near another identity as its own (the video's own layout
  pass, grouping.refine, at the library's scale);
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
from .clothes import LAYOUT_RATIO, join_by_layout
from .settings import default


ATTACH_FACTOR = 3
"""attach_smaller moves only clusters of fewer than this × min_faces faces:
it is for a person seen briefly; larger clusters link by the linkage and
the mutual join alone (in high dimensions distances crowd together, so a
ratio test between two large clusters says little)."""

NEIGHBOURS = 8
"""Candidate neighbours per unit from the faiss search."""

RIVALS = 4
"""Nearest other units of its own video kept per unit for the rival test
(the nearest one not in the cluster it would join is the rival)."""


def link(x: np.ndarray, weights: np.ndarray, tokens: Sequence[frozenset[Hashable]],
         names: Sequence[str | None], *, threshold: float = default("link_threshold"),
         pair_threshold: float = default("link_pair_threshold"),
         join_threshold: float = default("link_join_threshold"),
         join_ratio: float = default("link_join_ratio"), attach_ratio: float = default("link_attach_ratio"),
         cast_ratio: float = default("link_cast_ratio"), rival_ratio: float = default("link_rival_ratio"),
         videos: Sequence[Hashable] | None = None, min_faces: int = default("link_min_faces"),
         layouts: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
         layout_threshold: float = default("link_layout_threshold"), layout_ratio: float = LAYOUT_RATIO,
         layout_joined: set[int] | None = None, k: int = NEIGHBOURS, margins: bool = True) -> np.ndarray:
    """Library person of each unit: labels 0, 1, … (most faces first, then
    earliest unit). x: (n, 128) unit encodings; weights: faces per unit;
    tokens: each unit's conflict tokens; names: a unit's forced name or None;
    videos: each unit's video, for cast_ratio and rival_ratio (None: attach_ratio
    for all, no rival test, no layout join); layouts: each unit's clothing
    layouts (m, 27) and their weights (m,) (store.unit_layouts; None: no
    layout join), joined under layout_threshold at layout_ratio, the units
    that joined by layout added to `layout_joined` when given.
    margins=False: round two's rule (no support, rival test or brief-only
    cast ratio), kept to measure against."""
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
    rivals = None if videos is None or not margins else (*own_video_rivals(x, videos), rival_ratio)
    if big:
        sub = np.array(sorted(i for g in big for i in g))
        at = {int(u): j for j, u in enumerate(sub)}
        sub_rivals = None
        if rivals is not None:
            rd, ri, _ = rivals
            sub_rivals = (rd[sub], np.array([at.get(j, -1) for j in ri[sub].ravel().tolist()],
                                            dtype=np.int64).reshape(ri[sub].shape), rival_ratio)
        single = None if videos is None or not margins else ([videos[i] for i in sub], min(pair_threshold, threshold))
        clusters = _graph_linkage(x[sub], w[sub], [spans[i] for i in sub], [[at[i] for i in g] for g in big],
                                  threshold, k, sub_rivals, supported=margins, single=single)
        for c, members in enumerate(clusters):
            labels[sub[members]] = c
    if join_threshold > threshold:
        labels = join_unambiguous(labels, x, spans, join_threshold, join_ratio, w, _rival_veto(rivals))
    for i in sorted(small):  # alone: only a clear nearest takes them
        labels[i] = labels.max() + 1
    if join_threshold > threshold:
        labels = attach_smaller(labels, x, spans, join_threshold, attach_ratio, w, ATTACH_FACTOR * min_faces,
                                videos, cast_ratio, cast_max=max(min_faces, 1) if margins else np.inf,
                                rivals=rivals)
    if layouts is not None and videos is not None and layout_threshold > 0:
        labels = join_by_layout(labels, x, w, spans, layouts, videos, layout_threshold, layout_ratio,
                                max_faces=ATTACH_FACTOR * min_faces, moved=layout_joined)
    final = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    return number_clusters(final, w, np.arange(n), 0, n)


def own_video_rivals(x: np.ndarray, videos: Sequence[Hashable], m: int = RIVALS) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's `m` nearest other units of its own video: distances (n, m),
    ascending, inf where there are fewer, and unit indices (n, m), -1 there."""
    n = len(x)
    dist, idx = np.full((n, m), np.inf), np.full((n, m), -1, dtype=np.int64)
    _, vid = np.unique(np.asarray(videos), return_inverse=True)
    order = np.argsort(vid, kind="stable")
    for same in np.split(order, np.flatnonzero(np.diff(vid[order])) + 1):
        if len(same) < 2:
            continue
        v = x[same]
        d = np.sqrt(np.maximum(((v[:, None] - v[None]) ** 2).sum(-1), 0.0))
        np.fill_diagonal(d, np.inf)
        j = np.argsort(d, axis=1, kind="stable")[:, :m]
        c = j.shape[1]
        dist[same, :c] = np.take_along_axis(d, j, 1)
        idx[same, :c] = np.where(np.isfinite(dist[same, :c]), same[j], -1)
    return dist, idx


def _with_name_tokens(tokens, names) -> list[frozenset]:
    """Conflict tokens plus one per pair of distinct names, held by every unit of either name."""
    distinct = sorted({nm for nm in names if nm})
    if len(distinct) < 2:
        return list(tokens)
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
                   threshold: float, k: int, rivals: tuple[np.ndarray, np.ndarray, float] | None = None,
                   supported: bool = True, single: tuple[Sequence[Hashable], float] | None = None) -> list[list[int]]:
    """constrained_centroid_linkage's merges over the candidate graph: the
    units' k nearest neighbours, mapped to their clusters; with `supported`,
    only the neighbours under the threshold (two clusters link only where a
    unit of one lies within it of a unit of the other). Without it and with
    k >= n - 1 the graph is complete and the result is the same as the
    all-pairs linkage. `rivals` (distances (n, m), units (n, m), -1 for a unit
    outside x, and a ratio): a cluster of one unit (its start group) links only
    at a distance under ratio × its nearest rival not in the other cluster.
    `single` (each unit's video, a distance): two clusters each drawn from
    one video only link only under that distance.

    The bookkeeping is in arrays: a cluster's candidates are the start
    clusters next to any of its members (`nb`, concatenated on a merge) mapped
    through `owner` (each start cluster's current cluster, set for the merged
    members on a merge), so a merge costs a few numpy calls, not a Python loop
    over its neighbours. Conflicting pairs enter the heap and are dropped
    when popped (as stale ones are)."""
    n = len(x)
    g = len(groups)
    cap = 2 * g
    cent, sq, mass = np.zeros((cap, x.shape[1])), np.zeros(cap), np.zeros(g)
    members: dict[int, list[int]] = {}  # cluster → its start clusters
    frames: dict[int, frozenset] = {}
    key = np.zeros(g, dtype=np.int64)
    of_unit = np.zeros(n, dtype=np.int64)
    for c, m in enumerate(groups):
        of_unit[m] = c
    first = np.array([m[0] for m in groups], dtype=np.int64)
    mass[:g] = w[first]  # a start cluster of one unit (most): its own vector, as the loop below makes it
    cent[:g] = x[first] * w[first, None] / np.maximum(w[first], 1e-12)[:, None]
    # each cluster's video while it is drawn from one only (None: several, or no `single`)
    only_in = [None if single is None or len({single[0][i] for i in m}) > 1 else single[0][m[0]] for m in groups]
    for c, m in enumerate(groups):
        members[c] = [c]
        frames[c] = spans[m[0]]
        if len(m) > 1:  # units of one name
            mass[c] = w[m].sum()
            cent[c] = (x[m] * w[m, None]).sum(0) / max(mass[c], 1e-12)
            frames[c] = frozenset().union(*(spans[i] for i in m))
    sq[:g] = np.einsum("ij,ij->i", cent[:g], cent[:g])
    key[:g] = first
    owner = np.arange(g, dtype=np.int64)  # start cluster → its cluster now
    nb_dist, nb_units = index.knn(x, min(k, n - 1))
    uu = np.repeat(np.arange(n), nb_units.shape[1])
    vv = nb_units.ravel()
    ok = (vv >= 0) & (nb_dist.ravel() < threshold) if supported else vv >= 0
    alone = [len(m) == 1 for m in groups]  # start clusters of one unit: the rival test applies to them
    if rivals is not None:  # ratio × the nearest rival: no pair under it needs a closer look
        ratio = rivals[2]
        near_rival = (ratio * rivals[0][first, 0]).tolist() if rivals[0].shape[1] else [np.inf] * g
    ca, cb = of_unit[uu[ok]], of_unit[vv[ok]]
    lo, hi = np.minimum(ca, cb), np.maximum(ca, cb)
    pair = np.unique(lo[lo != hi].astype(np.int64) * g + hi[lo != hi])
    pa, pb = pair // g, pair % g
    src, dst = np.concatenate([pa, pb]), np.concatenate([pb, pa])
    order = np.argsort(src, kind="stable")
    cuts = np.searchsorted(src[order], np.arange(g + 1))
    dst_sorted = dst[order]
    nb: dict[int, np.ndarray] = {}  # a merged cluster's candidate start clusters (stale ids included)
    d0 = np.sqrt(np.maximum(sq[pa] + sq[pb] - 2.0 * np.einsum("ij,ij->i", cent[pa], cent[pb]), 0.0))
    close = d0 < threshold
    d0, pa, pb = d0[close], pa[close], pb[close]
    kmin, kmax = np.minimum(key[pa], key[pb]), np.maximum(key[pa], key[pb])
    first_order = np.lexsort((pb, pa, kmax, kmin, d0))  # the start pairs in heap order, sorted at once
    start = list(zip(*(v[first_order].tolist() for v in (d0, kmin, kmax, pa, pb))))
    live = [True] * g  # lists: cheaper to index and grow in the loop than numpy arrays
    ms, ks = mass[:g].tolist(), key[:g].tolist()
    heap: list[tuple] = []  # the pairs of merged clusters; popped in turn with `start`, smallest first
    i, n_start = 0, len(start)
    c = g
    while True:
        if i < n_start and (not heap or start[i] <= heap[0]):
            dab, _, _, a, b = start[i]
            i += 1
        elif heap:
            dab, _, _, a, b = heapq.heappop(heap)
        else:
            break
        if not (live[a] and live[b]) or frames[a] & frames[b]:
            continue
        if only_in[a] is not None and only_in[b] is not None and dab >= single[1]:
            continue  # dropped, as below
        if rivals is not None and (
                a < g and alone[a] and dab > near_rival[a] and dab > ratio * _rival(rivals, first[a], lambda j: owner[of_unit[j]] == b)
                or b < g and alone[b] and dab > near_rival[b]
                and dab > ratio * _rival(rivals, first[b], lambda j: owner[of_unit[j]] == a)):
            continue  # dropped: a new pair is pushed when the other side changes
        if c == cap:  # grow: names may have merged fewer than 2g clusters' worth up front
            cent, sq = (np.concatenate([v, np.zeros_like(v)]) for v in (cent, sq))
            cap *= 2
        live[a] = live[b] = False
        only_in.append(only_in[a] if only_in[a] == only_in[b] else None)
        ms.append(ms[a] + ms[b])
        cent[c] = (cent[a] * ms[a] + cent[b] * ms[b]) / ms[c]
        sq[c] = cent[c] @ cent[c]
        members[c] = members.pop(a) + members.pop(b)
        frames[c] = frames.pop(a) | frames.pop(b)
        kc = min(ks[a], ks[b])
        ks.append(kc)
        near = np.concatenate([nb.pop(a) if a >= g else dst_sorted[cuts[a]:cuts[a + 1]],
                               nb.pop(b) if b >= g else dst_sorted[cuts[b]:cuts[b + 1]]])
        owner[members[c]] = c
        nb[c] = near
        live.append(True)
        oo = np.unique(owner[near])
        oo = oo[oo != c]
        if len(oo):
            d = np.sqrt(np.maximum(sq[oo] + sq[c] - 2.0 * (cent[oo] @ cent[c]), 0.0))
            hit = d < threshold
            for o, dist in zip(oo[hit].tolist(), d[hit].tolist()):
                heapq.heappush(heap, (dist, min(kc, ks[o]), max(kc, ks[o]), min(c, o), max(c, o)))
        c += 1
    return [sorted(i for s in m for i in groups[s]) for m in members.values()]


def _rival(rivals: tuple[np.ndarray, np.ndarray, float], u: int, inside) -> float:
    """Unit u's distance to the nearest unit of its own video that is not
    `inside(unit)` the other cluster (inf when none is kept; a unit outside
    the units linked, -1, is always a rival)."""
    dist, units, _ = rivals
    return next((d for d, j in zip(dist[u].tolist(), units[u].tolist()) if j < 0 or not inside(j)), np.inf)


def _rival_veto(rivals: tuple[np.ndarray, np.ndarray, float] | None):
    """The rival test for join_unambiguous and attach_smaller: (members of one
    cluster, of the other, their distance) → True when a side of one unit has
    a rival of its own video, not in the other cluster, nearer than the
    distance / ratio. None without rivals."""
    if rivals is None:
        return None
    ratio = rivals[2]

    def veto(ma: np.ndarray, mb: np.ndarray, d: float) -> bool:
        return any(len(m) == 1 and d > ratio * _rival(rivals, int(m[0]), set(other.tolist()).__contains__)
                   for m, other in ((ma, mb), (mb, ma)))
    return veto


def attach_smaller(labels: np.ndarray, x: np.ndarray, spans: Sequence[frozenset], threshold: float,
                   ratio: float, weights: np.ndarray, max_faces: float = np.inf,
                   videos: Sequence[Hashable] | None = None, cast_ratio: float | None = None,
                   cast_max: float = np.inf, rivals: tuple[np.ndarray, np.ndarray, float] | None = None
                   ) -> np.ndarray:
    """Labels after each cluster joins its nearest cluster (by weighted mean)
    when that one is larger, closer than `threshold`, at most `ratio` × the
    next nearest cluster's distance (`cast_ratio` × when it holds units of two
    or more `videos` and the joining one has fewer than `cast_max` faces,
    whether of one video or several; towards such a cast member the
    next nearest counts only if it holds `cast_max` faces or more: a brief
    cluster near both is as likely a fragment of it, "Session 17"),
    shares no conflict token, passes the rival test where either side is
    one unit (`rivals`: own_video_rivals' distances and units, and the ratio;
    see _graph_linkage), and holds the unit nearest to the joining cluster
    (its support: a cluster's mean drifts to the middle of the face space, so
    a cluster holding one mixed unit drew brief strangers to it by their
    means alone; benchmarks/RESULTS.md, "Session 16"). In rounds:
    every cluster that may attach does so to one that does not attach in that
    round; means are recomputed between rounds."""
    labels = np.asarray(labels).copy()
    w = np.asarray(weights, dtype=np.float64)
    veto = _rival_veto(rivals)
    unit_d, unit_near = index.knn(x, NEIGHBOURS)

    def nearest_outside(rows: np.ndarray, label: int) -> int:
        """The unit nearest to any of `rows` outside their cluster (-1: none among their neighbours)."""
        d, u = unit_d[rows].ravel(), unit_near[rows].ravel()
        out = (u >= 0) & (labels[np.maximum(u, 0)] != label)
        return int(u[out][d[out].argmin()]) if out.any() else -1

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
        r = np.full(len(ks), ratio)
        cast = np.zeros(len(ks), dtype=bool)
        if videos is not None and cast_ratio is not None:
            _, vid = np.unique(np.asarray(videos), return_inverse=True)
            cast = np.array([len(np.unique(vid[m])) for m in members]) >= 2
            r = np.where(cast, cast_ratio, ratio)
        # the looser margin is for a brief cluster (a fragment or a stranger);
        # one of cast_max faces or more, though drawn from two videos, is a
        # person in its own right: two such people of the cast joined by it
        # ("Session 18")
        r = np.where(mass < cast_max, r[b], ratio)
        if cast.any() and np.isfinite(cast_max):
            # towards one of the cast, the rival is the next nearest cluster
            # of cast_max faces or more (a brief one near both is as likely a
            # fragment of it; none among the neighbours: the next nearest)
            nb = near[:, 1:]
            heavy = (nb >= 0) & (mass[np.maximum(nb, 0)] >= cast_max)
            rival = np.where(heavy.any(axis=1), dist[np.arange(len(ks)), 1 + heavy.argmax(axis=1)], d2)
            d2 = np.where((b >= 0) & cast[np.maximum(b, 0)], rival, d2)
        may = np.flatnonzero((d1 < threshold) & (d1 <= r * d2) & (b >= 0) & (mass[b] > mass)
                             & (mass < max_faces))
        moves: dict[int, int] = {}
        for a in may[np.argsort(mass[may], kind="stable")].tolist():  # smallest first
            t = int(b[a])
            if t in moves or a in moves.values():
                continue
            ta = frozenset().union(*(spans[i] for i in members[a]))
            if ta and ta & frozenset().union(*(spans[i] for i in members[t])):
                continue
            if veto and veto(members[a], members[t], float(d1[a])):
                continue
            u = nearest_outside(members[a], ks[a])
            if u < 0 or inv[u] != t:
                continue  # no support: its nearest unit lies elsewhere
            moves[a] = t
        if not moves:
            return labels
        new = np.arange(len(ks))
        for a, t in moves.items():
            new[a] = t
        labels = ks[new[inv]]
