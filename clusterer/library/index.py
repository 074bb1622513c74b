"""Nearest neighbours over face vectors through faiss, so that linking a
library stays interactive at thousands of hours: an exact flat index up to
EXACT_MAX vectors, an inverted-file index (IVF) beyond."""
from __future__ import annotations

import numpy as np


EXACT_MAX = 20_000
"""Up to this many vectors the search is exact (faiss IndexFlatL2: equal to
brute force); beyond, IVF over √n lists, NPROBE of them searched a query
(one person's vectors lie in one or a few neighbouring lists)."""

NPROBE = 8
"""IVF lists searched per query: recall against cost, beyond EXACT_MAX."""


def knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k nearest other rows: (distances, indices), both (n, k),
    Euclidean distances ascending; -1 / inf where fewer than k exist."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = len(x)
    if n == 0 or k == 0:
        return np.zeros((n, k)), np.full((n, k), -1, dtype=np.int64)
    d, ii = search(x, x, min(k + 1, n))
    return _drop_self(d, ii, k)


def search(base: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each query's k nearest rows of `base`: (distances, indices), both
    (len(queries), k), Euclidean distances ascending; -1 / inf where fewer
    than k are found."""
    import faiss

    base = np.ascontiguousarray(base, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    n, d = base.shape
    if n == 0 or k == 0 or len(queries) == 0:
        return np.full((len(queries), k), np.inf), np.full((len(queries), k), -1, dtype=np.int64)
    if n <= EXACT_MAX:
        index = faiss.IndexFlatL2(d)
    else:
        nlist = int(np.sqrt(n))
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, nlist)
        index.train(base[np.random.default_rng(0).choice(n, min(n, 40 * nlist), replace=False)])
        index.nprobe = NPROBE
    index.add(base)
    d2, ii = index.search(queries, min(k, n))
    dist = np.sqrt(np.maximum(d2, 0.0))
    dist[ii < 0] = np.inf
    if ii.shape[1] < k:
        dist = np.concatenate([dist, np.full((len(queries), k - ii.shape[1]), np.inf)], axis=1)
        ii = np.concatenate([ii, np.full((len(queries), k - ii.shape[1]), -1, dtype=np.int64)], axis=1)
    return dist, ii


def brute_knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """knn by numpy over all pairs: the reference the faiss search is tested against."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    d = np.sqrt(np.maximum((x * x).sum(1)[:, None] + (x * x).sum(1)[None] - 2 * x @ x.T, 0.0))
    ii = np.argsort(d, axis=1, kind="stable")[:, :min(k + 1, n)]
    return _drop_self(np.take_along_axis(d, ii, 1), ii, k)


def _drop_self(d: np.ndarray, ii: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Remove each row's own index (else its last neighbour) from its
    neighbours, padded to k columns."""
    n, kk = ii.shape
    drop = ii == np.arange(n)[:, None]
    drop[~drop.any(1), -1] = True
    keep_i, keep_d = ii[~drop].reshape(n, kk - 1), d[~drop].reshape(n, kk - 1)
    out_d, out_i = np.full((n, k), np.inf), np.full((n, k), -1, dtype=np.int64)
    out_d[:, :kk - 1], out_i[:, :kk - 1] = keep_d, keep_i
    out_d[out_i < 0] = np.inf
    return out_d, out_i
