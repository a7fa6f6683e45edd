"""The Hamming engine: distances, exact k-NN and radius search, and per-query rank statistics.

Every metric of :mod:`sklearn_xmh.metrics` and every search of
:class:`~sklearn_xmh.neighbors.HammingIndex` reaches the codes through the functions here, so
that there is one place where codes are compared. They prepare packed ``uint64`` words and
call the compiled kernels of :mod:`~sklearn_xmh.metrics._kernels`; threads follow ``n_jobs``
where a caller passes one, and numba's thread count otherwise.

The names without a leading underscore are the engine's internal API, used across the package;
:func:`hamming_distances` is also public.
"""

from contextlib import contextmanager
from numbers import Integral

import numba
import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._codes import CODE_FORMATS, pack_words, pair_width
from . import _kernels


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


def word_major(words):
    """Database words laid out word-major, ``(n_words, n_db)``, as the kernels scan them."""
    return np.ascontiguousarray(words.T)


def distance_dtype(n_bits):
    """The smallest unsigned dtype that holds every distance between ``n_bits``-bit codes."""
    # One byte per distance when it fits: half the memory traffic, and numpy's stable sort of
    # uint8 keys is a single counting pass.
    return np.uint8 if n_bits <= np.iinfo(np.uint8).max else np.uint16


def pack_pair(query_codes, db_codes, code_format, n_bits):
    """Both code arrays as uint64 words of the same code length: ``(query, db, n_bits)``."""
    for name, codes in (("query_codes", query_codes), ("db_codes", db_codes)):
        if np.ndim(codes) >= 1 and np.shape(codes)[0] == 0:
            raise ValueError(f"{name} is empty: it holds no codes (shape {np.shape(codes)}).")
    n_bits = pair_width(query_codes, db_codes, code_format, n_bits)
    query, n_bits_q = pack_words(query_codes, code_format=code_format, n_bits=n_bits)
    db, n_bits_db = pack_words(db_codes, code_format=code_format, n_bits=n_bits)
    if n_bits_q != n_bits_db:
        raise ValueError(f"Query codes have {n_bits_q} bits but database codes have {n_bits_db}.")
    return query, db, n_bits_q


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


@validate_params(
    {
        "query_codes": ["array-like"],
        "db_codes": ["array-like"],
        "code_format": [StrOptions(set(CODE_FORMATS)), None],
        "n_bits": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def hamming_distances(query_codes, db_codes, *, code_format=None, n_bits=None):
    """Hamming distances between every query code and every database code.

    Computed by a compiled, parallel popcount over XORed ``uint64`` words, written straight
    into the result.

    Parameters
    ----------
    query_codes : array-like of shape (n_queries, n_bits) or packed
        Query codes in any format.
    db_codes : array-like of shape (n_db, n_bits) or packed
        Database codes in the same format.
    code_format : {"bits", "signed", "packed"} or None, default=None
        Format of both arrays; None infers it.
    n_bits : int or None, default=None
        Code length, needed for packed codes whose length is not a multiple of 8.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_db)
        uint8 for codes of at most 255 bits, uint16 beyond.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmh.metrics import hamming_distances
    >>> hamming_distances(np.array([[1, 0, 1, 1]]), np.array([[1, 0, 1, 1], [0, 1, 0, 1]]))
    array([[0, 3]], dtype=uint8)
    """
    query, db, n_bits = pack_pair(query_codes, db_codes, code_format, n_bits)
    out = np.empty((query.shape[0], db.shape[0]), dtype=distance_dtype(n_bits))
    if out.size:
        _kernels.distance_matrix(query, word_major(db), out)
    return out
