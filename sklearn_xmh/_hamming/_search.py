"""Exact search and rank statistics over ``uint64`` words: k-NN and radius by a linear scan,
and the per-query histograms every ranking metric is computed from.

The functions prepare the buffers and call the compiled kernels of :mod:`._kernels`; threads
follow ``n_jobs`` where a caller passes one (:func:`threads`), numba's thread count otherwise.
"""

from contextlib import contextmanager
from pathlib import Path

import numba
import numpy as np

from . import _kernels
from ._words import word_major


@contextmanager
def threads(n_jobs=None):
    """Run the kernels of the block on ``n_jobs`` threads: None keeps numba's thread count,
    -1 takes all of them, a negative ``n`` all but ``-n - 1``, as in scikit-learn."""
    if n_jobs is None:
        yield
        return
    available = numba.config.NUMBA_NUM_THREADS
    wanted = n_jobs if n_jobs > 0 else max(1, available + 1 + n_jobs)
    previous = numba.get_num_threads()
    numba.set_num_threads(min(wanted, available))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def boundary(counts, k):
    """The distance bucket holding rank ``k`` and how many of its items the top ``k`` takes.

    ``k`` is an int or an array of shape (n_k,); the results have shape (n_rows,) or
    (n_rows, n_k). Ranks before a bucket are the exclusive cumulative count of the buckets
    before it, so the boundary bucket is the last one that starts before rank ``k``.

    Returns
    -------
    bucket, taken, before : ndarray
        The boundary bucket, the items it contributes, and each bucket's first rank.
    """
    before = np.cumsum(counts, axis=1) - counts
    k = np.asarray(k)
    starts_before = before[:, None, :] < k.reshape(-1)[None, :, None]
    bucket = starts_before.sum(axis=2) - 1
    taken = k.reshape(-1)[None, :] - np.take_along_axis(before, bucket, axis=1)
    if k.ndim == 0:
        return bucket[:, 0], taken[:, 0], before
    return bucket, taken, before


def kneighbors_brute(query_words, db_words, n_bits, n_neighbors):
    """Exact k nearest codes by a linear scan, ties by database index.

    Returns
    -------
    distances, indices : ndarray of shape (n_queries, n_neighbors), dtype int64
    """
    n_queries = query_words.shape[0]
    distances = np.empty((n_queries, n_neighbors), dtype=np.uint16)
    indices = np.empty((n_queries, n_neighbors), dtype=np.int64)
    if n_queries:
        _kernels.kneighbors(
            query_words, word_major(db_words), n_bits, n_neighbors, distances, indices
        )
    return distances.astype(np.int64), indices


def radius_brute(query_words, db_words, n_bits, radius):
    """Every database code within Hamming distance ``radius`` of each query, by a linear scan.

    Returns
    -------
    lims : ndarray of shape (n_queries + 1,)
        Query ``i``'s results are ``distances[lims[i]:lims[i + 1]]``.
    distances, indices : ndarray of dtype int64
        Ordered by query, then distance, then index.
    """
    radius = min(int(radius), n_bits)
    db_t = word_major(db_words)
    n_queries = query_words.shape[0]
    # One pass keeps up to 32 results per query; the few queries with more are redone by a
    # counting pass and a filling pass.
    sizes = np.zeros(n_queries, dtype=np.int64)
    first_d = np.empty((n_queries, 32), dtype=np.uint16)
    first_j = np.empty((n_queries, 32), dtype=np.int64)
    if n_queries:
        _kernels.radius_capped(query_words, db_t, radius, sizes, first_d, first_j)
    lims = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    small = sizes <= 32
    kept = (np.arange(32)[None, :] < sizes[:, None]) & small[:, None]
    positions = (lims[:-1, None] + np.arange(32)[None, :])[kept]
    distances = np.empty(lims[-1], dtype=np.uint16)
    indices = np.empty(lims[-1], dtype=np.int64)
    distances[positions], indices[positions] = first_d[kept], first_j[kept]
    large = np.flatnonzero(~small)
    if large.size:
        large_lims = np.concatenate([[0], np.cumsum(sizes[large])]).astype(np.int64)
        large_d = np.empty(large_lims[-1], dtype=np.uint16)
        large_j = np.empty(large_lims[-1], dtype=np.int64)
        _kernels.radius_fill(query_words[large], db_t, radius, large_lims, large_d, large_j)
        destination = np.repeat(lims[large] - large_lims[:-1], sizes[large])
        destination += np.arange(large_lims[-1])
        distances[destination], indices[destination] = large_d, large_j
    return lims, distances.astype(np.int64), indices


def rank_statistics(query_words, db_words, n_bits, relevance, *, depth=0, ks=None):
    """Per-query histograms and stable-tie ranking statistics, in one pass over the database.

    Parameters
    ----------
    query_words, db_words : ndarray of dtype uint64
    n_bits : int
    relevance : tuple
        ``(query_labels, db_labels, mode, sparse_labels)``: label ids of shape ``(n, 1)``
        compared for equality (``mode=0``); ``uint64`` label words whose AND is non-zero when
        two items share a label (``mode=1``); or (``mode=2``) sparse labels, given as
        ``sparse_labels = (query_indptr, query_indices, db_indptr, db_indices, n_classes)``.
    depth : int, default=0
        AP over the ``depth`` best-ranked items (ties in database order); 0 skips it.
    ks : ndarray of int or None, default=None
        Cut-offs, ascending, for the relevant items among the ``k`` best-ranked.

    Returns
    -------
    counts, relevant_counts : ndarray of shape (n_queries, n_bits + 1), dtype int64
    ap : ndarray of shape (n_queries,)
    hits : ndarray of shape (n_queries, len(ks)), dtype int64
    """
    query_labels, db_labels, mode, sparse_labels = relevance
    n_queries = query_words.shape[0]
    ks = np.zeros(0, dtype=np.int64) if ks is None else np.asarray(ks, dtype=np.int64)
    counts = np.zeros((n_queries, n_bits + 1), dtype=np.int64)
    relevant_counts = np.zeros_like(counts)
    ap = np.zeros(n_queries)
    hits = np.zeros((n_queries, ks.size), dtype=np.int64)
    if n_queries and db_words.shape[0]:
        _kernels.rank_statistics(
            query_words, word_major(db_words), np.ascontiguousarray(query_labels),
            word_major(db_labels), mode, sparse_labels, n_bits, depth, ks, counts,
            relevant_counts, ap, hits, 8 * numba.get_num_threads(),
        )  # fmt: skip
    return counts, relevant_counts, ap, hits


def kernels_cached():
    """Whether numba's cache already holds the main scoring kernel (a guess that errs towards
    yes: any failure to tell says cached)."""
    try:
        return Path(_kernels.rank_statistics._cache._cache_file._index_path).exists()
    except Exception:  # noqa: BLE001 - numba internals: any change there means "cannot tell"
        return True
