"""The Hamming engine: distances, distance-bucket counts and exact top-k, over packed codes.

Every metric of :mod:`sklearn_xmh.metrics` and every search of
:class:`~sklearn_xmh.neighbors.HammingIndex` reaches the codes through the functions here, so
that there is one place where codes are compared. Hamming distances between ``n_bits``-bit codes
take only ``n_bits + 1`` values, so ranking a database never needs a comparison sort: counting
items per distance bucket gives every bucket's offset in the ranking.

The names without a leading underscore are the engine's internal API, used across the package;
:func:`hamming_distances` is also public.
"""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._codes import CODE_FORMATS, pack_words

# Distances per block: bounds every temporary (distances, ranks, relevance) to tens of MB even at
# 2,000 x 186,577, while keeping blocks large enough that numpy's per-call overhead vanishes.
_BLOCK_ELEMENTS = 1 << 22


def distance_dtype(n_bits):
    """The smallest unsigned dtype that holds every distance between ``n_bits``-bit codes."""
    # One byte per distance when it fits: half the memory traffic, and numpy's stable sort of
    # uint8 keys is a single counting pass.
    return np.uint8 if n_bits <= np.iinfo(np.uint8).max else np.uint16


def _rows_per_block(n_db, block_size=None):
    rows = max(1, _BLOCK_ELEMENTS // max(n_db, 1))
    return rows if block_size is None else max(1, min(rows, int(block_size)))


def _block_distances(query_words, db_words_t, dtype):
    """Distances of a block of queries to the database, given word-major database words.

    Accumulating one word at a time keeps every temporary two-dimensional, whatever ``n_bits``.
    """
    out = np.bitwise_count(query_words[:, 0, None] ^ db_words_t[0][None, :])
    if out.dtype != dtype:
        out = out.astype(dtype)
    for word in range(1, query_words.shape[1]):
        np.add(
            out,
            np.bitwise_count(query_words[:, word, None] ^ db_words_t[word][None, :]),
            out=out,
            casting="unsafe",
        )
    return out


def scan_distances(query_words, db_words, n_bits, block_size=None):
    """Yield ``(rows, distances)`` for consecutive blocks of queries.

    Parameters
    ----------
    query_words, db_words : ndarray of dtype uint64
        Codes as rows of 64-bit words (:func:`~sklearn_xmh.utils._codes.pack_words`).
    n_bits : int
        Code length.
    block_size : int or None, default=None
        Largest number of queries per block; blocks are also capped at about four million
        distances.

    Yields
    ------
    rows : slice
        The queries of the block.
    distances : ndarray of shape (n_rows, n_db), dtype :func:`distance_dtype`
    """
    dtype = distance_dtype(n_bits)
    db_words_t = np.ascontiguousarray(db_words.T)
    step = _rows_per_block(db_words.shape[0], block_size)
    for start in range(0, query_words.shape[0], step):
        rows = slice(start, min(start + step, query_words.shape[0]))
        yield rows, _block_distances(query_words[rows], db_words_t, dtype)


def pack_pair(query_codes, db_codes, code_format, n_bits):
    """Both code arrays as uint64 words of the same code length: ``(query, db, n_bits)``."""
    query, n_bits_q = pack_words(query_codes, code_format=code_format, n_bits=n_bits)
    db, n_bits_db = pack_words(db_codes, code_format=code_format, n_bits=n_bits)
    if n_bits_q != n_bits_db:
        raise ValueError(f"Query codes have {n_bits_q} bits but database codes have {n_bits_db}.")
    return query, db, n_bits_q


def bucket_counts(distances, relevant, n_buckets):
    """Per row, the number of items (and of relevant items) at each distance, by one bincount.

    Parameters
    ----------
    distances : ndarray of shape (n_rows, n_db)
    relevant : ndarray of shape (n_rows, n_db) of bool, or 0
        Relevance of each item; 0 when only the item counts are needed.
    n_buckets : int
        ``n_bits + 1``.

    Returns
    -------
    counts, relevant_counts : ndarray of shape (n_rows, n_buckets)
    """
    n_rows = distances.shape[0]
    keys = distances.astype(np.intp)
    keys *= 2
    keys += relevant
    keys += (np.arange(n_rows, dtype=np.intp) * (2 * n_buckets))[:, None]
    counts = np.bincount(keys.ravel(), minlength=2 * n_buckets * n_rows)
    counts = counts.reshape(n_rows, n_buckets, 2)
    return counts.sum(axis=2), counts[..., 1]


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


def stable_top_k(distances, k, n_bits):
    """Columns of the ``k`` best-ranked items of each row, in rank order (distance, then index).

    Every item nearer than the boundary bucket is taken, plus the first items of the boundary
    bucket in database order; only those ``k`` columns are then ordered.

    Parameters
    ----------
    distances : ndarray of shape (n_rows, n_db)
    k : int
        At most ``n_db``.
    n_bits : int
        Code length.

    Returns
    -------
    columns : ndarray of shape (n_rows, k)
    """
    n_rows, n_db = distances.shape
    if k >= n_db:
        # numpy's stable sort of uint8 / uint16 keys is a radix sort: a counting pass per byte
        # that places each item at its bucket's offset plus its position within the bucket in
        # database order. That is the counting rank itself, O(n_db) per row, done in C.
        return np.argsort(distances, axis=1, kind="stable")
    counts, _ = bucket_counts(distances, 0, n_bits + 1)
    bucket, taken, _ = boundary(counts, k)
    bucket = bucket.astype(distances.dtype)[:, None]
    at_boundary = distances == bucket
    keep = distances < bucket
    position = np.cumsum(at_boundary, axis=1, dtype=np.int32)
    keep |= at_boundary & (position <= taken[:, None])
    cols = np.nonzero(keep)[1].reshape(n_rows, k)
    order = np.argsort(np.take_along_axis(distances, cols, axis=1), axis=1, kind="stable")
    return np.take_along_axis(cols, order, axis=1)


def kneighbors_brute(query_words, db_words, n_bits, n_neighbors):
    """Exact k nearest codes by a linear scan, ties by database index.

    Returns
    -------
    distances, indices : ndarray of shape (n_queries, n_neighbors), dtype int64
    """
    n_queries = query_words.shape[0]
    distances = np.empty((n_queries, n_neighbors), dtype=np.int64)
    indices = np.empty((n_queries, n_neighbors), dtype=np.int64)
    for rows, block in scan_distances(query_words, db_words, n_bits):
        top = stable_top_k(block, n_neighbors, n_bits)
        indices[rows] = top
        distances[rows] = np.take_along_axis(block, top, axis=1)
    return distances, indices


def radius_brute(query_words, db_words, n_bits, radius):
    """Every database code within Hamming distance ``radius`` of each query, by a linear scan.

    Returns
    -------
    lims : ndarray of shape (n_queries + 1,)
        Query ``i``'s results are ``distances[lims[i]:lims[i + 1]]``.
    distances, indices : ndarray
        In database order within each query.
    """
    counts, all_distances, all_indices = [], [], []
    for _, block in scan_distances(query_words, db_words, n_bits):
        rows, cols = np.nonzero(block <= radius)
        counts.append(np.bincount(rows, minlength=block.shape[0]))
        all_distances.append(block[rows, cols])
        all_indices.append(cols)
    lims = np.concatenate([[0], np.cumsum(np.concatenate(counts))]).astype(np.intp)
    return lims, np.concatenate(all_distances), np.concatenate(all_indices)


def order_by_distance(lims, distances, indices, n_bits):
    """Order radius results by query, then distance, then index, given them in index order
    within each query: stable counting sorts on small keys, no comparison sort."""
    by_distance = np.argsort(distances.astype(distance_dtype(n_bits)), kind="stable")
    owner = np.repeat(np.arange(len(lims) - 1), np.diff(lims))[by_distance]
    order = by_distance[np.argsort(owner, kind="stable")]
    return distances[order], indices[order]


@validate_params(
    {
        "query_codes": ["array-like"],
        "db_codes": ["array-like"],
        "code_format": [StrOptions(set(CODE_FORMATS)), None],
        "n_bits": [Interval(Integral, 1, None, closed="left"), None],
        "block_size": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def hamming_distances(query_codes, db_codes, *, code_format=None, n_bits=None, block_size=4096):
    """Hamming distances between every query code and every database code.

    Computed by popcount (:func:`numpy.bitwise_count`) over XORed ``uint64`` words, one block of
    queries at a time so that the temporaries stay bounded.

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
    block_size : int, default=4096
        Largest number of queries per block; blocks are also capped so that one block holds
        about four million distances.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_db), dtype uint16

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmh.metrics import hamming_distances
    >>> hamming_distances(np.array([[1, 0, 1, 1]]), np.array([[1, 0, 1, 1], [0, 1, 0, 1]]))
    array([[0, 3]], dtype=uint16)
    """
    query, db, n_bits = pack_pair(query_codes, db_codes, code_format, n_bits)
    out = np.empty((query.shape[0], db.shape[0]), dtype=np.uint16)
    if db.shape[0] == 0:
        return out
    for rows, distances in scan_distances(query, db, n_bits, block_size):
        out[rows] = distances
    return out
