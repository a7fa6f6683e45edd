"""Exact retrieval metrics over binary codes, and the scorers built on them.

Hamming distances between ``n_bits``-bit codes take only ``n_bits + 1`` values, so ranking a
database never needs a comparison sort: counting items per distance bucket gives every bucket's
offset in the ranking, and within a bucket the tie order is decided by ``ties``. All metrics run
over blocks of queries with bounded temporaries (a few million distances per block), and with no
per-query Python loop.
"""

from numbers import Integral

import numpy as np
from scipy.special import gammaln
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.metadata_routing import UNCHANGED, MetadataRequest

from ._codes import pack_words
from ._encoders import flatten_samples
from ._validation import check_labels

TIES = ("stable", "random", "expected")
DIRECTIONS = ("both", "i2t", "t2i")

# Distances per block: bounds every temporary (distances, ranks, relevance) to tens of MB even at
# 2,000 x 186,577, while keeping blocks large enough that numpy's per-call overhead vanishes.
_BLOCK_ELEMENTS = 1 << 22


# --------------------------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------------------------


def _distance_dtype(n_bits):
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


def _scan(query_words, db_words, n_bits, block_size=None):
    """Yield ``(rows, distances)`` for consecutive blocks of queries."""
    dtype = _distance_dtype(n_bits)
    db_words_t = np.ascontiguousarray(db_words.T)
    step = _rows_per_block(db_words.shape[0], block_size)
    for start in range(0, query_words.shape[0], step):
        rows = slice(start, min(start + step, query_words.shape[0]))
        yield rows, _block_distances(query_words[rows], db_words_t, dtype)


def _pack_pair(query_codes, db_codes, code_format, n_bits):
    query, n_bits_q = pack_words(query_codes, code_format=code_format, n_bits=n_bits)
    db, n_bits_db = pack_words(db_codes, code_format=code_format, n_bits=n_bits)
    if n_bits_q != n_bits_db:
        raise ValueError(f"Query codes have {n_bits_q} bits but database codes have {n_bits_db}.")
    return query, db, n_bits_q


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
    query, db, n_bits = _pack_pair(query_codes, db_codes, code_format, n_bits)
    out = np.empty((query.shape[0], db.shape[0]), dtype=np.uint16)
    if db.shape[0] == 0:
        return out
    for rows, distances in _scan(query, db, n_bits, block_size):
        out[rows] = distances
    return out


# --------------------------------------------------------------------------------------------
# Relevance
# --------------------------------------------------------------------------------------------


class _Relevance:
    """Who is relevant to whom, prepared once so that each block costs one vectorised pass.

    Class ids become small integers compared for equality; multi-hot labels become ``uint64``
    label words whose AND is non-zero when two items share a label; pair retrieval is class ids
    equal to the row index.
    """

    def __init__(self, query_labels, db_labels, n_queries, n_db):
        if (query_labels is None) != (db_labels is None):
            raise ValueError("Pass labels for both queries and database, or for neither.")
        self.multi_hot = False
        if query_labels is None:
            if n_queries != n_db:
                raise ValueError(
                    "Pair retrieval (no labels) needs as many queries as database items, paired "
                    f"by row; got {n_queries} queries and {n_db} database items."
                )
            self.query, self.db = np.arange(n_queries), np.arange(n_db)
            return
        query_labels = check_labels(query_labels, n_queries)
        db_labels = check_labels(db_labels, n_db)
        if query_labels.ndim != db_labels.ndim:
            raise ValueError(
                "query_labels and db_labels must both be class ids (1-D) or both multi-hot "
                f"(2-D); got {query_labels.ndim}-D and {db_labels.ndim}-D."
            )
        if query_labels.ndim == 1:
            _, ids = np.unique(np.concatenate([query_labels, db_labels]), return_inverse=True)
            self.query, self.db = ids[:n_queries], ids[n_queries:]
            return
        if query_labels.shape[1] != db_labels.shape[1]:
            raise ValueError(
                f"query_labels have {query_labels.shape[1]} classes but db_labels have "
                f"{db_labels.shape[1]}."
            )
        self.multi_hot = True
        self.query = _label_words(query_labels)
        self.db = _label_words(db_labels)

    def permuted(self, permutation):
        """The same relevance with the database reordered by ``permutation``."""
        other = object.__new__(_Relevance)
        other.multi_hot, other.query, other.db = self.multi_hot, self.query, self.db[permutation]
        return other

    def __call__(self, rows, cols=None):
        """Relevance of the queries ``rows`` to all items, or to the items ``cols[i]`` of row i."""
        query = self.query[rows]
        db = self.db if cols is None else self.db[cols]
        if not self.multi_hot:
            return query[:, None] == db
        relevant = (query[:, None, 0] & db[..., 0]) != 0
        for word in range(1, query.shape[1]):
            relevant |= (query[:, None, word] & db[..., word]) != 0
        return relevant


def _label_words(labels):
    if labels.shape[1] == 0:
        return np.zeros((labels.shape[0], 1), dtype=np.uint64)
    words, _ = pack_words((labels != 0).astype(np.uint8), code_format="bits")
    return words


def _prepare(query_codes, db_codes, query_labels, db_labels, code_format, n_bits):
    query, db, n_bits = _pack_pair(query_codes, db_codes, code_format, n_bits)
    relevance = _Relevance(query_labels, db_labels, query.shape[0], db.shape[0])
    return query, db, n_bits, relevance


def _check_ties(ties):
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}.")


def _check_positive_int(value, name, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(
            f"{name} must be a positive integer{' or None' if allow_none else ''}, got {value!r}."
        )
    return int(value)


# --------------------------------------------------------------------------------------------
# Ranking by counting
# --------------------------------------------------------------------------------------------


def _bucket_counts(distances, relevant, n_buckets):
    """Per row, the number of items (and of relevant items) at each distance, by one bincount."""
    n_rows = distances.shape[0]
    keys = distances.astype(np.intp)
    keys *= 2
    keys += relevant
    keys += (np.arange(n_rows, dtype=np.intp) * (2 * n_buckets))[:, None]
    counts = np.bincount(keys.ravel(), minlength=2 * n_buckets * n_rows)
    counts = counts.reshape(n_rows, n_buckets, 2)
    return counts.sum(axis=2), counts[..., 1]


def _boundary(counts, k):
    """The distance bucket holding rank ``k`` and how many of its items the top ``k`` takes.

    ``k`` is an int or an array of shape (n_k,); the results have shape (n_rows,) or
    (n_rows, n_k). Ranks before a bucket are the exclusive cumulative count of the buckets
    before it, so the boundary bucket is the last one that starts before rank ``k``.
    """
    before = np.cumsum(counts, axis=1) - counts
    k = np.asarray(k)
    starts_before = before[:, None, :] < k.reshape(-1)[None, :, None]
    bucket = starts_before.sum(axis=2) - 1
    taken = k.reshape(-1)[None, :] - np.take_along_axis(before, bucket, axis=1)
    if k.ndim == 0:
        return bucket[:, 0], taken[:, 0], before
    return bucket, taken, before


def _stable_top(distances, k, counts):
    """Columns of the ``k`` best-ranked items of each row, in rank order (distance, then index).

    Every item nearer than the boundary bucket is taken, plus the first items of the boundary
    bucket in database order; only those ``k`` columns are then ordered.
    """
    n_rows, n_db = distances.shape
    if k >= n_db:
        # numpy's stable sort of uint8 / uint16 keys is a radix sort: a counting pass per byte
        # that places each item at its bucket's offset plus its position within the bucket in
        # database order. That is the counting rank itself, O(n_db) per row, done in C.
        return np.argsort(distances, axis=1, kind="stable")
    bucket, taken, _ = _boundary(counts, k)
    bucket = bucket.astype(distances.dtype)[:, None]
    at_boundary = distances == bucket
    keep = distances < bucket
    position = np.cumsum(at_boundary, axis=1, dtype=np.int32)
    keep |= at_boundary & (position <= taken[:, None])
    cols = np.nonzero(keep)[1].reshape(n_rows, k)
    order = np.argsort(np.take_along_axis(distances, cols, axis=1), axis=1, kind="stable")
    return np.take_along_axis(cols, order, axis=1)


def _average_precision(hits):
    """AP of each row of ranked relevance ``hits``, normalised by the relevant items in it."""
    n_rows, depth = hits.shape
    if depth == 0:
        return np.zeros(n_rows)
    cumulative = np.cumsum(hits, axis=1, dtype=np.int32)
    n_relevant = cumulative[:, -1].copy()
    cumulative *= hits
    precision_sum = cumulative @ (1.0 / np.arange(1, depth + 1))
    return np.divide(precision_sum, n_relevant, out=np.zeros(n_rows), where=n_relevant > 0)


def _harmonic(n):
    """``H[m] = 1 + 1/2 + ... + 1/m`` for ``m`` in ``0..n``."""
    return np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, n + 1))])


def _expected_precision_sum(size, n_relevant, relevant_before, items_before, harmonic):
    """Expected sum of precisions of the relevant items of a uniformly shuffled tied group.

    A group of ``size`` items holding ``n_relevant`` relevant ones follows ``items_before``
    items, ``relevant_before`` of them relevant. One relevant item sits at position ``t``
    (uniform on ``1..size``); the other ``n_relevant - 1`` fill the remaining positions
    uniformly, so on average ``(t - 1) * beta`` of them precede it, ``beta = (n_relevant - 1) /
    (size - 1)``. Its expected precision is thus ``(relevant_before + 1 + (t - 1) * beta) /
    (items_before + t)`` averaged over ``t``, which splits into ``beta`` plus a harmonic sum:

    ``n_relevant / size * (size * beta + (relevant_before + 1 - beta * (items_before + 1)) *
    (H[items_before + size] - H[items_before]))``.

    Linearity of expectation makes this exact; all arguments broadcast.
    """
    size = np.asarray(size, dtype=np.float64)
    beta = np.divide(n_relevant - 1, size - 1, out=np.zeros(size.shape), where=size > 1)
    before = np.asarray(items_before, dtype=np.intp)
    harmonic_span = harmonic[before + size.astype(np.intp)] - harmonic[before]
    inner = size * beta + (relevant_before + 1 - beta * (before + 1)) * harmonic_span
    return np.divide(n_relevant * inner, size, out=np.zeros(size.shape), where=size > 0)


def _log_binomial(n, k):
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def _expected_average_precision(distances, relevant, n_bits, top_k, harmonic):
    """Exact expected AP (or AP@K) over uniformly random orders within each distance bucket."""
    n_db = distances.shape[1]
    counts, relevant_counts = _bucket_counts(distances, relevant, n_bits + 1)
    items_before = np.cumsum(counts, axis=1) - counts
    relevant_before = np.cumsum(relevant_counts, axis=1) - relevant_counts
    per_bucket = _expected_precision_sum(
        counts, relevant_counts, relevant_before, items_before, harmonic
    )
    if top_k is None or top_k >= n_db:
        n_relevant = relevant_counts.sum(axis=1)
        return np.divide(
            per_bucket.sum(axis=1), n_relevant, out=np.zeros(len(counts)), where=n_relevant > 0
        )
    # The top K takes whole buckets before the boundary one and ``taken`` of its items: the
    # number of relevant items among those is hypergeometric, and the AP given that number is
    # the bucket formula on the taken part, divided by a now fixed count of relevant items.
    bucket, taken, _ = _boundary(counts, top_k)
    row = np.arange(len(counts))
    full_sum = np.where(np.arange(n_bits + 1)[None, :] < bucket[:, None], per_bucket, 0).sum(1)
    size = counts[row, bucket][:, None].astype(np.float64)
    good = relevant_counts[row, bucket][:, None].astype(np.float64)
    a_before = relevant_before[row, bucket][:, None]
    n_before = items_before[row, bucket][:, None]
    taken = taken[:, None].astype(np.float64)
    x = np.arange(top_k + 1, dtype=np.float64)[None, :]
    possible = (x <= good) & (x <= taken) & (taken - x <= size - good)
    with np.errstate(invalid="ignore"):
        log_pmf = (
            _log_binomial(good, x)
            + _log_binomial(size - good, taken - x)
            - _log_binomial(size, taken)
        )
    pmf = np.where(possible, np.exp(np.where(possible, log_pmf, 0.0)), 0.0)
    partial_sum = _expected_precision_sum(
        np.broadcast_to(taken, pmf.shape), x, a_before, n_before, harmonic
    )
    relevant_in_top = a_before + x
    ap_given_x = np.divide(
        full_sum[:, None] + partial_sum,
        relevant_in_top,
        out=np.zeros(pmf.shape),
        where=relevant_in_top > 0,
    )
    return (pmf * ap_given_x).sum(axis=1)


def _tie_order(n_db, ties, random_state):
    if ties != "random":
        return None
    return check_random_state(random_state).permutation(n_db)


# --------------------------------------------------------------------------------------------
# Public metrics
# --------------------------------------------------------------------------------------------


def average_precision_scores(
    query_codes,
    db_codes,
    query_labels=None,
    db_labels=None,
    *,
    top_k=None,
    ties="stable",
    random_state=None,
    code_format=None,
    n_bits=None,
    block_size=None,
):
    """Average precision of every query, by Hamming ranking.

    The per-query values whose mean is :func:`mean_average_precision`.

    Parameters
    ----------
    query_codes, db_codes : array-like
        Codes of the queries and of the database, in any code format.
    query_labels, db_labels : array-like or None, default=None
        Class ids or multi-hot labels; None means pair retrieval.
    top_k : int or None, default=None
        None for AP over the whole ranking, else AP@K.
    ties : {"stable", "random", "expected"}, default="stable"
        How items at the same Hamming distance are ordered; see
        :func:`mean_average_precision`.
    random_state : int, RandomState instance or None, default=None
        Seeds ``ties="random"``.
    code_format : {"bits", "signed", "packed"} or None, default=None
        Format of the codes; None infers it.
    n_bits : int or None, default=None
        Code length, needed for packed codes whose length is not a multiple of 8.
    block_size : int or None, default=None
        Queries per block, which bounds memory; None chooses from the database size.

    Returns
    -------
    scores : ndarray of shape (n_queries,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmh.metrics import average_precision_scores
    >>> codes = np.array([[0, 0], [1, 1], [0, 1]], dtype=np.uint8)
    >>> average_precision_scores(codes, codes, [0, 1, 0], [0, 1, 0])
    array([1., 1., 1.])
    """
    _check_ties(ties)
    top_k = _check_positive_int(top_k, "top_k", allow_none=True)
    query, db, n_bits, relevance = _prepare(
        query_codes, db_codes, query_labels, db_labels, code_format, n_bits
    )
    n_db = db.shape[0]
    scores = np.zeros(query.shape[0])
    if n_db == 0:
        return scores
    permutation = _tie_order(n_db, ties, random_state)
    if permutation is not None:
        db, relevance = db[permutation], relevance.permuted(permutation)
    depth = n_db if top_k is None else min(top_k, n_db)
    harmonic = _harmonic(n_db) if ties == "expected" else None
    for rows, distances in _scan(query, db, n_bits, block_size):
        if ties == "expected":
            scores[rows] = _expected_average_precision(
                distances, relevance(rows), n_bits, depth, harmonic
            )
            continue
        counts = None
        if depth < n_db:
            counts, _ = _bucket_counts(distances, 0, n_bits + 1)
        ranked = _stable_top(distances, depth, counts)
        scores[rows] = _average_precision(relevance(rows, ranked))
    return scores


def mean_average_precision(
    query_codes,
    db_codes,
    query_labels=None,
    db_labels=None,
    *,
    top_k=None,
    ties="stable",
    random_state=None,
    code_format=None,
    n_bits=None,
    block_size=None,
):
    """Mean average precision of Hamming ranking.

    Each query ranks the database by Hamming distance. Hamming distances take only
    ``n_bits + 1`` values, so ties are common and ``ties`` says how they are ordered.

    Parameters
    ----------
    query_codes, db_codes : array-like
        Codes in any format (see :func:`sklearn_xmh.convert_codes`).
    query_labels, db_labels : array-like of shape (n, ) or (n, n_classes), default=None
        Class ids or multi-hot labels. An item is relevant when it shares a label with the query.
        When both are None, only the query's own pair (same row index) is relevant.
    top_k : int or None, default=None
        None gives mAP@all. An integer K gives AP@K normalised by the number of relevant items in
        the top K; a query with none counts 0. K larger than the database means mAP@all.
    ties : {"stable", "random", "expected"}, default="stable"
        Order of items at equal distance. ``"stable"`` keeps database order. ``"random"`` orders
        the database by ``check_random_state(random_state).permutation(n_db)`` first (one order
        for every query), then ranks stably. ``"expected"`` is the exact expectation of AP over
        uniformly random orders within each tied distance group, computed in closed form.
    random_state : int, RandomState instance or None, default=None
        Seeds the tie order of ``ties="random"``.
    code_format : {"bits", "signed", "packed"} or None, default=None
        Format of both code arrays; None infers it.
    n_bits : int or None, default=None
        Code length, needed for packed codes whose length is not a multiple of 8.
    block_size : int or None, default=None
        Largest number of queries per block; None sizes blocks to about four million distances.

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmh.metrics import mean_average_precision
    >>> query = np.array([[0, 0, 0, 0]], dtype=np.uint8)
    >>> db = np.array([[1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]], dtype=np.uint8)
    >>> mean_average_precision(query, db, [1], [1, 0, 1])  # relevant at ranks 2 and 3
    0.5833...
    >>> mean_average_precision(query, db, [1], [0, 1, 0], top_k=1)
    1.0
    >>> mean_average_precision(query, db, [1], [1, 0, 0], ties="expected")
    0.3333...
    """
    scores = average_precision_scores(
        query_codes,
        db_codes,
        query_labels,
        db_labels,
        top_k=top_k,
        ties=ties,
        random_state=random_state,
        code_format=code_format,
        n_bits=n_bits,
        block_size=block_size,
    )
    return float(scores.mean()) if scores.size else 0.0


def precision_at_k(
    query_codes,
    db_codes,
    query_labels=None,
    db_labels=None,
    *,
    k=100,
    ties="stable",
    random_state=None,
    code_format=None,
    n_bits=None,
    block_size=None,
):
    """Mean precision of the ``k`` best-ranked database items.

    Parameters
    ----------
    query_codes, db_codes : array-like
        Codes in any format.
    query_labels, db_labels : array-like of shape (n, ) or (n, n_classes), default=None
        Class ids or multi-hot labels; None means pair retrieval.
    k : int or array-like of int, default=100
        Cut-off(s). A cut-off beyond the database size is clipped to it.
    ties : {"stable", "random", "expected"}, default="stable"
        As in :func:`mean_average_precision`.
    random_state : int, RandomState instance or None, default=None
        Seeds the tie order of ``ties="random"``.
    code_format : {"bits", "signed", "packed"} or None, default=None
        Format of both code arrays; None infers it.
    n_bits : int or None, default=None
        Code length, needed for packed codes whose length is not a multiple of 8.
    block_size : int or None, default=None
        Largest number of queries per block.

    Returns
    -------
    precision : float or ndarray of shape (n_k,)
        A float for a scalar ``k``, else one value per cut-off.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmh.metrics import precision_at_k
    >>> query = np.array([[0, 0, 0, 0]], dtype=np.uint8)
    >>> db = np.array([[1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]], dtype=np.uint8)
    >>> precision_at_k(query, db, [1], [1, 0, 1], k=[1, 2, 3])
    array([0.        , 0.5       , 0.66666667])
    """
    _check_ties(ties)
    scalar = np.ndim(k) == 0
    ks = np.atleast_1d(np.asarray(k))
    if ks.size == 0:
        raise ValueError("k must hold at least one cut-off.")
    for value in ks.tolist():
        _check_positive_int(value, "k")
    query, db, n_bits, relevance = _prepare(
        query_codes, db_codes, query_labels, db_labels, code_format, n_bits
    )
    n_db = db.shape[0]
    if n_db == 0:
        raise ValueError("precision_at_k needs a non-empty database.")
    ks = np.minimum(ks.astype(np.intp), n_db)
    permutation = _tie_order(n_db, ties, random_state)
    if permutation is not None:
        db, relevance = db[permutation], relevance.permuted(permutation)
    total = np.zeros(ks.size)
    for rows, distances in _scan(query, db, n_bits, block_size):
        if ties == "expected":
            counts, relevant_counts = _bucket_counts(distances, relevance(rows), n_bits + 1)
            bucket, taken, _ = _boundary(counts, ks)
            relevant_before = np.cumsum(relevant_counts, axis=1) - relevant_counts
            hits = np.take_along_axis(relevant_before, bucket, axis=1) + taken * (
                np.take_along_axis(relevant_counts, bucket, axis=1)
                / np.take_along_axis(counts, bucket, axis=1)
            )
        else:
            depth = int(ks.max())
            counts = None
            if depth < n_db:
                counts, _ = _bucket_counts(distances, 0, n_bits + 1)
            ranked = _stable_top(distances, depth, counts)
            hits = np.cumsum(relevance(rows, ranked), axis=1, dtype=np.int32)[:, ks - 1]
        total += (hits / ks).sum(axis=0)
    precision = total / query.shape[0] if query.shape[0] else total
    return float(precision[0]) if scalar else precision


def precision_recall_curve(
    query_codes,
    db_codes,
    query_labels=None,
    db_labels=None,
    *,
    code_format=None,
    n_bits=None,
    block_size=None,
):
    """Precision and recall of Hamming-radius retrieval, one point per radius ``0..n_bits``.

    At radius ``r`` a query retrieves every item within Hamming distance ``r``. Its precision
    is the relevant fraction of the retrieved items (0 when nothing is retrieved) and its recall
    the retrieved fraction of its relevant items (0 when it has none); both are averaged over
    queries. Ties play no role.

    Parameters
    ----------
    query_codes, db_codes : array-like
        Codes in any format.
    query_labels, db_labels : array-like of shape (n, ) or (n, n_classes), default=None
        Class ids or multi-hot labels; None means pair retrieval.
    code_format : {"bits", "signed", "packed"} or None, default=None
        Format of both code arrays; None infers it.
    n_bits : int or None, default=None
        Code length, needed for packed codes whose length is not a multiple of 8.
    block_size : int or None, default=None
        Largest number of queries per block.

    Returns
    -------
    precision : ndarray of shape (n_bits + 1,)
    recall : ndarray of shape (n_bits + 1,)
    radii : ndarray of shape (n_bits + 1,)
        The Hamming radius of each point.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmh.metrics import precision_recall_curve
    >>> query = np.array([[0, 0]], dtype=np.uint8)
    >>> db = np.array([[0, 1], [1, 1], [0, 0]], dtype=np.uint8)
    >>> precision, recall, radii = precision_recall_curve(query, db, [1], [1, 0, 0])
    >>> precision, recall, radii
    (array([0.        , 0.5       , 0.33333333]), array([0., 1., 1.]), array([0, 1, 2]))
    """
    query, db, n_bits, relevance = _prepare(
        query_codes, db_codes, query_labels, db_labels, code_format, n_bits
    )
    precision_sum = np.zeros(n_bits + 1)
    recall_sum = np.zeros(n_bits + 1)
    if db.shape[0]:
        for rows, distances in _scan(query, db, n_bits, block_size):
            counts, relevant_counts = _bucket_counts(distances, relevance(rows), n_bits + 1)
            retrieved = np.cumsum(counts, axis=1)
            found = np.cumsum(relevant_counts, axis=1)
            n_relevant = found[:, -1:]
            precision_sum += np.divide(
                found, retrieved, out=np.zeros(found.shape), where=retrieved > 0
            ).sum(axis=0)
            recall_sum += np.divide(
                found, n_relevant, out=np.zeros(found.shape), where=n_relevant > 0
            ).sum(axis=0)
    n_queries = max(query.shape[0], 1)
    return precision_sum / n_queries, recall_sum / n_queries, np.arange(n_bits + 1)


def precision_within_radius(
    query_codes,
    db_codes,
    query_labels=None,
    db_labels=None,
    *,
    r=2,
    code_format=None,
    n_bits=None,
    block_size=None,
):
    """Mean precision of the items within Hamming radius ``r`` of each query.

    A query that retrieves nothing within the radius counts precision 0.

    Parameters
    ----------
    query_codes, db_codes : array-like
        Codes in any format.
    query_labels, db_labels : array-like of shape (n, ) or (n, n_classes), default=None
        Class ids or multi-hot labels; None means pair retrieval.
    r : int, default=2
        The Hamming radius, inclusive.
    code_format : {"bits", "signed", "packed"} or None, default=None
        Format of both code arrays; None infers it.
    n_bits : int or None, default=None
        Code length, needed for packed codes whose length is not a multiple of 8.
    block_size : int or None, default=None
        Largest number of queries per block.

    Returns
    -------
    precision : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmh.metrics import precision_within_radius
    >>> query = np.array([[0, 0, 0, 0]], dtype=np.uint8)
    >>> db = np.array([[1, 1, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]], dtype=np.uint8)
    >>> precision_within_radius(query, db, [1], [1, 1, 0], r=2)
    0.5
    """
    if isinstance(r, bool) or not isinstance(r, Integral) or r < 0:
        raise ValueError(f"r must be a non-negative integer, got {r!r}.")
    precision, _, _ = precision_recall_curve(
        query_codes,
        db_codes,
        query_labels,
        db_labels,
        code_format=code_format,
        n_bits=n_bits,
        block_size=block_size,
    )
    return float(precision[min(int(r), len(precision) - 1)])


# --------------------------------------------------------------------------------------------
# Cross-modal scoring
# --------------------------------------------------------------------------------------------


def _last_step(estimator):
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def cross_modal_map(
    estimator,
    X,
    y,
    labels=None,
    *,
    direction="both",
    top_k=None,
    ties="stable",
    random_state=None,
):
    """mAP of a fitted hasher on paired views: I->T, T->I, or their mean.

    Each image of ``X`` queries the texts of ``y`` (I->T) and each text queries the images (T->I).
    Hashers' ``score`` and :func:`hamming_map_scorer` both compute it here.

    Parameters
    ----------
    estimator : fitted hasher or Pipeline ending in one
        Images go through ``estimator.transform``; texts through the last step's
        ``transform_text``.
    X, y : array-like
        Paired image and text views.
    labels : array-like of shape (n_samples,) or (n_samples, n_classes), default=None
        Class ids or multi-hot labels; None scores pair retrieval.
    direction : {"both", "i2t", "t2i"}, default="both"
        Which retrieval task to score; ``"both"`` averages the two.
    top_k : int or None, default=None
        None for mAP@all, else mAP@K.
    ties : {"stable", "random", "expected"}, default="stable"
        See :func:`mean_average_precision`.
    random_state : int, RandomState instance or None, default=None
        Seeds the tie order of ``ties="random"``.

    Returns
    -------
    score : float

    Examples
    --------
    >>> from sklearn_xmh import CCAITQHasher
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> from sklearn_xmh.metrics import cross_modal_map
    >>> data = make_cross_modal(n_samples=100, n_img_features=8, n_txt_features=6, random_state=0)
    >>> hasher = CCAITQHasher(n_bits=8, random_state=0).fit(data.X_image, data.X_text)
    >>> score = cross_modal_map(hasher, data.X_image, data.X_text, data.labels, direction="i2t")
    >>> 0.0 <= score <= 1.0
    True
    """
    hasher, image_codes, text_codes = _encode_views(estimator, X, y, direction)
    labels = check_labels(labels, image_codes.shape[0])
    return _map_both_ways(
        hasher, image_codes, text_codes, labels, labels, direction, top_k, ties, random_state
    )


def _encode_views(estimator, X, y, direction):
    """Check a cross-modal score's arguments; return the hasher and the codes of both views."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}.")
    if y is None:
        raise ValueError("Scoring cross-modal retrieval requires the text view y.")
    hasher = _last_step(estimator)
    return hasher, estimator.transform(X), hasher.transform_text(y)


def _map_both_ways(
    hasher, image_codes, text_codes, query_labels, db_labels, direction, top_k, ties, random_state
):
    """Mean of the requested I->T / T->I mAPs; both directions share one relevance."""
    options = {
        "top_k": top_k,
        "ties": ties,
        "random_state": random_state,
        "code_format": hasher.code_format,
        "n_bits": hasher.n_bits,
    }
    scores = []
    if direction in ("both", "i2t"):
        scores.append(
            mean_average_precision(image_codes, text_codes, query_labels, db_labels, **options)
        )
    if direction in ("both", "t2i"):
        scores.append(
            mean_average_precision(text_codes, image_codes, query_labels, db_labels, **options)
        )
    return float(np.mean(scores))


def feature_neighbors(X, y, n_neighbors=20):
    """Each pair's nearest pairs in the joint feature space of two paired views.

    Each view is standardised and L2-normalised, so that both weigh the same, and the two are
    concatenated; neighbours are Euclidean in that joint space, and every pair is its own
    nearest neighbour. This is the ground truth of unsupervised hashing benchmarks, and what
    ``hamming_map_scorer(relevance="neighbors")`` ranks against.

    Parameters
    ----------
    X, y : {array-like, sparse matrix} of shape (n_samples, ...)
        Paired image and text views; axes beyond the first are flattened.
    n_neighbors : int, default=20
        Neighbours per pair, the pair itself included; clipped to ``n_samples``.

    Returns
    -------
    neighbors : ndarray of shape (n_samples, n_samples), dtype bool
        ``neighbors[i, j]`` is True when pair ``j`` is among the ``n_neighbors`` nearest pairs
        of pair ``i``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmh.metrics import feature_neighbors
    >>> X = np.array([[0.0, 1.0], [0.1, 1.0], [5.0, -1.0], [5.1, -1.0]])
    >>> y = np.array([[1.0, 0.0], [1.0, 0.1], [-1.0, 3.0], [-1.0, 3.1]])
    >>> feature_neighbors(X, y, n_neighbors=2).astype(int)
    array([[1, 1, 0, 0],
           [1, 1, 0, 0],
           [0, 0, 1, 1],
           [0, 0, 1, 1]])
    """
    from scipy import sparse
    from sklearn.preprocessing import StandardScaler, normalize
    from sklearn.utils import check_array

    views = []
    for name, view in (("X", X), ("y", y)):
        view = flatten_samples(
            check_array(view, accept_sparse="csr", allow_nd=True, dtype=np.float64, input_name=name)
        )
        scaler = StandardScaler(with_mean=not sparse.issparse(view))
        views.append(normalize(scaler.fit_transform(view)))
    if views[0].shape[0] != views[1].shape[0]:
        raise ValueError(
            f"X and y must hold the same pairs, got {views[0].shape[0]} and "
            f"{views[1].shape[0]} rows."
        )
    joint = (
        sparse.hstack(views, format="csr")
        if any(sparse.issparse(view) for view in views)
        else np.hstack(views)
    )
    found = _kneighbors_with_self(joint, n_neighbors)
    neighbors = np.zeros((joint.shape[0], joint.shape[0]), dtype=bool)
    neighbors[np.arange(joint.shape[0])[:, None], found] = True
    return neighbors


def _kneighbors_with_self(X, n_neighbors, *, block_size=2048):
    """Indices of each row's ``n_neighbors`` nearest rows of ``X`` (Euclidean), the row itself
    always among them.

    Found with :class:`sklearn.neighbors.NearestNeighbors` one block of query rows at a time,
    which bounds memory. Exact duplicates may rank another row before the query itself; the
    query then replaces its farthest neighbour.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    n_neighbors : int
        Neighbours per row, the row itself included; clipped to ``n_samples``.
    block_size : int, default=2048
        Query rows per ``kneighbors`` call.

    Returns
    -------
    neighbors : ndarray of shape (n_samples, min(n_neighbors, n_samples)), dtype int64
        Nearest first, apart from a replaced farthest neighbour.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmh.metrics import _kneighbors_with_self
    >>> _kneighbors_with_self(np.array([[0.0], [0.0], [5.0]]), 1).ravel().tolist()
    [0, 1, 2]
    """
    from sklearn.neighbors import NearestNeighbors

    n_samples = X.shape[0]
    index = NearestNeighbors(n_neighbors=min(n_neighbors, n_samples)).fit(X)
    neighbors = np.empty((n_samples, index.n_neighbors), dtype=np.int64)
    for start in range(0, n_samples, block_size):
        rows = np.arange(start, min(start + block_size, n_samples))
        found = index.kneighbors(X[rows], return_distance=False)
        missing = ~(found == rows[:, None]).any(axis=1)
        found[missing, -1] = rows[missing]
        neighbors[rows] = found
    return neighbors


class HammingMAPScorer:
    """Cross-modal mAP scorer for model selection; build it with :func:`hamming_map_scorer`.

    Called as ``scorer(estimator, X, y, labels=None)`` with the image view ``X`` and the text
    view ``y``. It is a metadata consumer of ``labels`` for its ``score`` method, so that
    ``GridSearchCV`` and ``cross_validate`` can route labels to it.

    Parameters
    ----------
    direction : {"both", "i2t", "t2i"}, default="both"
        Which retrieval task to score; ``"both"`` averages the two.
    top_k : int or None, default=None
        None for mAP@all, else mAP@K.
    ties : {"stable", "random", "expected"}, default="stable"
        See :func:`mean_average_precision`.
    relevance : {"auto", "labels", "pairs", "neighbors"}, default="auto"
        ``"labels"`` requires labels, ``"pairs"`` scores pair retrieval and ignores labels,
        ``"neighbors"`` ranks against each pair's nearest pairs in feature space (see
        :func:`feature_neighbors`) and ignores labels, ``"auto"`` uses labels when they arrive
        and pairs otherwise.
    random_state : int, RandomState instance or None, default=None
        Seeds the tie order of ``ties="random"``.
    n_neighbors : int, default=20
        Neighbours per pair with ``relevance="neighbors"``, the pair itself included.

    Examples
    --------
    >>> from sklearn_xmh import CCAITQHasher
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> from sklearn_xmh.metrics import HammingMAPScorer
    >>> data = make_cross_modal(n_samples=120, n_img_features=8, n_txt_features=6, random_state=0)
    >>> hasher = CCAITQHasher(n_bits=8, random_state=0).fit(data.X_image, data.X_text)
    >>> scorer = HammingMAPScorer(direction="i2t", top_k=10)
    >>> 0.0 <= scorer(hasher, data.X_image, data.X_text, labels=data.labels) <= 1.0
    True
    """

    def __init__(
        self,
        direction="both",
        top_k=None,
        ties="stable",
        relevance="auto",
        random_state=None,
        n_neighbors=20,
    ):
        self.direction = direction
        self.top_k = top_k
        self.ties = ties
        self.relevance = relevance
        self.random_state = random_state
        self.n_neighbors = n_neighbors

    def __call__(self, estimator, X, y=None, *, labels=None):
        """Score a fitted hasher, or a Pipeline ending in one, on paired views.

        Parameters
        ----------
        estimator : fitted hasher or Pipeline ending in one
            The model to score.
        X : array-like of shape (n_samples, n_image_features)
            Image view.
        y : array-like of shape (n_samples, n_text_features)
            Text view.
        labels : array-like of shape (n_samples,) or (n_samples, n_classes), default=None
            Class ids or multi-hot labels, routed under metadata routing.

        Returns
        -------
        score : float
        """
        if self.relevance == "labels" and labels is None:
            raise ValueError(
                "hamming_map_scorer(relevance='labels') received no labels. Enable metadata "
                "routing (sklearn.set_config(enable_metadata_routing=True)), call "
                "scorer.set_score_request(labels=True) and pass labels=... to fit, or use "
                "relevance='auto' or 'pairs'."
            )
        if self.relevance == "neighbors":
            return self._score_against_neighbors(estimator, X, y)
        if self.relevance == "pairs":
            labels = None
        return cross_modal_map(
            estimator,
            X,
            y,
            labels,
            direction=self.direction,
            top_k=self.top_k,
            ties=self.ties,
            random_state=self.random_state,
        )

    def _score_against_neighbors(self, estimator, X, y):
        hasher, image_codes, text_codes = _encode_views(estimator, X, y, self.direction)
        neighbors = feature_neighbors(X, y, self.n_neighbors)
        # As multi-hot labels: a query carries its neighbours' indices, an item its own index.
        items = np.eye(neighbors.shape[0], dtype=bool)
        return _map_both_ways(
            hasher,
            image_codes,
            text_codes,
            neighbors,
            items,
            self.direction,
            self.top_k,
            self.ties,
            self.random_state,
        )

    def set_score_request(self, *, labels=UNCHANGED):
        """Request ``labels`` for scoring under metadata routing.

        Parameters
        ----------
        labels : bool, str or None, default=UNCHANGED
            ``True`` to receive routed labels, ``False`` not to, a string to receive them
            under that alias.

        Returns
        -------
        self : HammingMAPScorer
        """
        from sklearn import get_config

        if not get_config().get("enable_metadata_routing", False):
            raise RuntimeError(
                "set_score_request is only available when metadata routing is enabled: use "
                "sklearn.set_config(enable_metadata_routing=True)."
            )
        if labels is not UNCHANGED:
            self._labels_request = labels
        return self

    def get_metadata_routing(self):
        """The metadata this scorer consumes: ``labels`` for ``score``.

        Returns
        -------
        request : sklearn.utils.metadata_routing.MetadataRequest
        """
        request = MetadataRequest(owner=self)
        request.score.add_request(param="labels", alias=getattr(self, "_labels_request", None))
        return request

    def _accept_sample_weight(self):
        # Asked by sklearn's multi-metric scorer when sample weights are passed without routing.
        return False

    def _routing_repr(self):
        return repr(self)

    def __repr__(self):
        return (
            f"hamming_map_scorer(direction={self.direction!r}, top_k={self.top_k!r}, "
            f"ties={self.ties!r}, relevance={self.relevance!r}"
            + (f", n_neighbors={self.n_neighbors!r})" if self.relevance == "neighbors" else ")")
        )


@validate_params(
    {
        "direction": [StrOptions(set(DIRECTIONS))],
        "top_k": [Interval(Integral, 1, None, closed="left"), None],
        "ties": [StrOptions(set(TIES))],
        "relevance": [StrOptions({"auto", "labels", "pairs", "neighbors"})],
        "random_state": ["random_state"],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def hamming_map_scorer(
    direction="both",
    top_k=None,
    ties="stable",
    relevance="auto",
    *,
    random_state=None,
    n_neighbors=20,
):
    """Build a cross-modal mAP scorer for ``scoring=`` in model selection.

    The scorer encodes the image view ``X`` with ``estimator.transform`` (through a whole
    Pipeline) and the text view ``y`` with the last step's ``transform_text``, then computes
    :func:`cross_modal_map`. Under metadata routing it can receive ``labels``: call
    ``scorer.set_score_request(labels=True)``.

    Parameters
    ----------
    direction : {"both", "i2t", "t2i"}, default="both"
        Which retrieval task to score; ``"both"`` averages the two.
    top_k : int or None, default=None
        None for mAP@all, else mAP@K.
    ties : {"stable", "random", "expected"}, default="stable"
        See :func:`mean_average_precision`.
    relevance : {"auto", "labels", "pairs", "neighbors"}, default="auto"
        ``"labels"`` raises when no labels arrive (for example when routing is off),
        ``"pairs"`` always scores pair retrieval, ``"auto"`` uses labels when they arrive and
        pairs otherwise. ``"neighbors"`` needs no labels and ignores them: an item is relevant
        to a query when its pair is among the ``n_neighbors`` nearest pairs of the query's pair
        in the scored fold's joint feature space (:func:`feature_neighbors`), the ground truth
        of unsupervised hashing benchmarks. Pair retrieval has one relevant item per query and
        is a noisy criterion; neighbourhoods also show whether codes keep the structure of the
        features. It builds an ``(n, n)`` boolean matrix over the fold.
    random_state : int, RandomState instance or None, default=None
        Seeds the tie order of ``ties="random"``.
    n_neighbors : int, default=20
        Neighbours per pair with ``relevance="neighbors"``, the pair itself included.

    Returns
    -------
    scorer : HammingMAPScorer
        A callable ``scorer(estimator, X, y, labels=None)``.

    Examples
    --------
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn_xmh import CCAITQHasher
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> from sklearn_xmh.metrics import hamming_map_scorer
    >>> data = make_cross_modal(n_samples=120, n_img_features=8, n_txt_features=6, random_state=0)
    >>> scores = cross_val_score(
    ...     CCAITQHasher(n_bits=8, random_state=0), data.X_image, data.X_text, cv=3,
    ...     scoring=hamming_map_scorer(direction="i2t", top_k=10),
    ... )
    >>> scores.shape
    (3,)
    """
    return HammingMAPScorer(
        direction=direction,
        top_k=top_k,
        ties=ties,
        relevance=relevance,
        random_state=random_state,
        n_neighbors=n_neighbors,
    )
