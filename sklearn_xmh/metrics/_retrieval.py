"""Exact retrieval metrics over binary codes: AP, mAP, precision@k, PR curves, radius precision.

Each metric comes from one compiled pass per query over the database
(:func:`~sklearn_xmh._hamming.rank_statistics`): the histogram of (distance, relevance)
and the stable-tie ranks of the relevant items, with relevance computed inside the kernel from
label words or class ids. Nothing of size queries x database is allocated, and there is no
per-query Python loop. Ties are explicit (``ties``): within a distance bucket items keep database
order, a seeded random order (the database reordered first), or the exact expectation over
random orders, in closed form on the histograms.
"""

import warnings
from numbers import Integral

import numpy as np
from scipy import sparse
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Hidden, Interval, StrOptions, validate_params

from .._hamming import boundary, pack_pair, pack_words, rank_statistics
from ..utils._codes import CODE_FORMATS
from ..utils._docs import fill_doc
from ..utils._validation import check_labels
from ._ties import expected_average_precision, harmonic_numbers

TIES = ("stable", "random", "expected")

# The arguments every metric shares, validated the same way everywhere.
_CODES_CONSTRAINTS = {
    "query_codes": ["array-like"],
    "db_codes": ["array-like"],
    "query_labels": ["array-like", "sparse matrix", None],
    "db_labels": ["array-like", "sparse matrix", None],
    "code_format": [StrOptions(set(CODE_FORMATS)), None],
    "n_bits": [Interval(Integral, 1, None, closed="left"), None],
}
_TIES_CONSTRAINTS = {"ties": [StrOptions(set(TIES))], "random_state": ["random_state"]}
_AP_CONSTRAINTS = {
    **_CODES_CONSTRAINTS,
    "top_k": [Interval(Integral, 1, None, closed="left"), None],
    **_TIES_CONSTRAINTS,
}


# --------------------------------------------------------------------------------------------
# Relevance
# --------------------------------------------------------------------------------------------


class _Relevance:
    """Who is relevant to whom, in the form the kernels read.

    Class ids become small integers compared for equality; dense multi-hot labels become
    ``uint64`` label words whose AND is non-zero when two items share a label (any number of
    classes); sparse multi-hot labels stay sparse (CSR), so that many classes with few labels
    each, such as each pair's feature-space neighbours, cost memory by their labels only;
    pair retrieval is ids equal to the row index.
    """

    _NO_SPARSE = (np.zeros(1, np.int64), np.zeros(0, np.int64)) * 2 + (0,)

    def __init__(self, query_labels, db_labels, n_queries, n_db):
        if (query_labels is None) != (db_labels is None):
            raise ValueError("Pass labels for both queries and database, or for neither.")
        self.mode = 0
        if query_labels is None:
            if n_queries != n_db:
                raise ValueError(
                    "Pair retrieval (no labels) needs as many queries as database items, paired "
                    f"by row; got {n_queries} queries and {n_db} database items."
                )
            self.query, self.db = np.arange(n_queries)[:, None], np.arange(n_db)[:, None]
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
            ids = ids.astype(np.int64).reshape(-1, 1)
            self.query, self.db = ids[:n_queries], ids[n_queries:]
            return
        if query_labels.shape[1] != db_labels.shape[1]:
            raise ValueError(
                f"query_labels have {query_labels.shape[1]} classes but db_labels have "
                f"{db_labels.shape[1]}."
            )
        if sparse.issparse(query_labels) or sparse.issparse(db_labels):
            self.mode = 2
            self.query, self.db = (
                sparse.csr_matrix(labels, dtype=bool) for labels in (query_labels, db_labels)
            )
            for labels in (self.query, self.db):
                labels.eliminate_zeros()
            return
        self.mode = 1
        self.query = _label_words(query_labels)
        self.db = _label_words(db_labels)

    def permuted(self, permutation):
        """The same relevance with the database reordered by ``permutation``."""
        other = object.__new__(_Relevance)
        other.mode, other.query, other.db = self.mode, self.query, self.db[permutation]
        return other

    def spec(self):
        """The relevance argument of :func:`~sklearn_xmh._hamming.rank_statistics`."""
        if self.mode != 2:
            return self.query, self.db, self.mode, self._NO_SPARSE
        dummy = np.zeros((self.query.shape[0], 1), np.int64)
        arrays = (
            self.query.indptr.astype(np.int64),
            self.query.indices.astype(np.int64),
            self.db.indptr.astype(np.int64),
            self.db.indices.astype(np.int64),
            self.query.shape[1],
        )
        return dummy, np.zeros((self.db.shape[0], 1), np.int64), 2, arrays


def _label_words(labels):
    if labels.shape[1] == 0:
        return np.zeros((labels.shape[0], 1), dtype=np.uint64)
    words, _ = pack_words((labels != 0).astype(np.uint8), code_format="bits")
    return words


def _statistics(
    query_codes,
    db_codes,
    query_labels,
    db_labels,
    code_format,
    n_bits,
    ties,
    random_state,
    *,
    depth=0,
    ks=None,
):
    """Everything a metric needs, in one compiled pass: ``(n_bits, n_db, counts,
    relevant_counts, ap, hits)``; ``ties="random"`` first reorders the database."""
    query, db, n_bits = pack_pair(query_codes, db_codes, code_format, n_bits)
    relevance = _Relevance(query_labels, db_labels, query.shape[0], db.shape[0])
    if ties == "random" and db.shape[0]:
        permutation = check_random_state(random_state).permutation(db.shape[0])
        db, relevance = db[permutation], relevance.permuted(permutation)
    if ties == "expected":
        depth, ks = 0, None
    counts, relevant_counts, ap, hits = rank_statistics(
        query, db, n_bits, relevance.spec(), depth=depth, ks=ks
    )
    return n_bits, db.shape[0], counts, relevant_counts, ap, hits


@fill_doc
@validate_params(_AP_CONSTRAINTS, prefer_skip_nested_validation=True)
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
):
    """Average precision of every query, by Hamming ranking.

    The per-query values whose mean is :func:`mean_average_precision`.

    Parameters
    ----------
    %(codes_parameters)s
    top_k : int or None, default=None
        None for AP over the whole ranking, else AP@K.
    ties : {"stable", "random", "expected"}, default="stable"
        How items at the same Hamming distance are ordered; see
        :func:`mean_average_precision`.
    random_state : int, RandomState instance or None, default=None
        Seeds ``ties="random"``.
    %(format_parameters)s

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
    n_db = np.asarray(db_codes).shape[0]
    depth = n_db if top_k is None else min(top_k, n_db)
    _, n_db, counts, relevant_counts, ap, _ = _statistics(
        query_codes,
        db_codes,
        query_labels,
        db_labels,
        code_format,
        n_bits,
        ties,
        random_state,
        depth=depth,
    )
    if n_db == 0 or ties != "expected":
        return ap
    return expected_average_precision(counts, relevant_counts, n_db, depth, harmonic_numbers(n_db))


@fill_doc
@validate_params(_AP_CONSTRAINTS, prefer_skip_nested_validation=True)
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
):
    """Mean average precision of Hamming ranking.

    Each query ranks the database by Hamming distance. Hamming distances take only
    ``n_bits + 1`` values, so ties are common and ``ties`` says how they are ordered.

    Parameters
    ----------
    %(codes_parameters)s
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
    %(format_parameters)s

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
    )
    return float(scores.mean()) if scores.size else 0.0


@fill_doc
@validate_params(
    {
        **_CODES_CONSTRAINTS,
        "k": [Interval(Integral, 1, None, closed="left"), "array-like"],
        **_TIES_CONSTRAINTS,
    },
    prefer_skip_nested_validation=True,
)
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
):
    """Mean precision of the ``k`` best-ranked database items.

    Parameters
    ----------
    %(codes_parameters)s
    k : int or array-like of int, default=100
        Cut-off(s). A cut-off beyond the database size is clipped to it.
    ties : {"stable", "random", "expected"}, default="stable"
        As in :func:`mean_average_precision`.
    random_state : int, RandomState instance or None, default=None
        Seeds the tie order of ``ties="random"``.
    %(format_parameters)s

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
    scalar = np.ndim(k) == 0
    ks = np.atleast_1d(np.asarray(k))
    if ks.size == 0 or ks.ndim != 1 or ks.dtype.kind not in "iu" or ks.min() < 1:
        raise ValueError(f"k must be a positive integer or a 1-D array of them, got {k!r}.")
    n_db = np.asarray(db_codes).shape[0]
    if n_db == 0:
        raise ValueError("precision_at_k needs a non-empty database.")
    ks = np.minimum(ks.astype(np.int64), n_db)
    cutoffs, where = np.unique(ks, return_inverse=True)
    _, _, counts, relevant_counts, _, hits = _statistics(
        query_codes,
        db_codes,
        query_labels,
        db_labels,
        code_format,
        n_bits,
        ties,
        random_state,
        ks=cutoffs,
    )
    if ties == "expected":
        bucket, taken, _ = boundary(counts, cutoffs)
        relevant_before = np.cumsum(relevant_counts, axis=1) - relevant_counts
        hits = np.take_along_axis(relevant_before, bucket, axis=1) + taken * (
            np.take_along_axis(relevant_counts, bucket, axis=1)
            / np.take_along_axis(counts, bucket, axis=1)
        )
    precision = (hits / cutoffs).mean(axis=0)[where] if hits.shape[0] else np.zeros(ks.size)
    return float(precision[0]) if scalar else precision


@fill_doc
@validate_params(_CODES_CONSTRAINTS, prefer_skip_nested_validation=True)
def precision_recall_curve(
    query_codes,
    db_codes,
    query_labels=None,
    db_labels=None,
    *,
    code_format=None,
    n_bits=None,
):
    """Precision and recall of Hamming-radius retrieval, one point per radius ``0..n_bits``.

    At radius ``r`` a query retrieves every item within Hamming distance ``r``. Its precision
    is the relevant fraction of the retrieved items (0 when nothing is retrieved) and its recall
    the retrieved fraction of its relevant items (0 when it has none); both are averaged over
    queries. Ties play no role.

    Parameters
    ----------
    %(codes_parameters)s
    %(format_parameters)s

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
    n_bits, _, counts, relevant_counts, _, _ = _statistics(
        query_codes, db_codes, query_labels, db_labels, code_format, n_bits, "stable", None
    )
    retrieved = np.cumsum(counts, axis=1)
    found = np.cumsum(relevant_counts, axis=1)
    n_relevant = found[:, -1:]
    precision = np.divide(found, retrieved, out=np.zeros(found.shape), where=retrieved > 0)
    recall = np.divide(found, n_relevant, out=np.zeros(found.shape), where=n_relevant > 0)
    n_queries = max(counts.shape[0], 1)
    return precision.sum(axis=0) / n_queries, recall.sum(axis=0) / n_queries, np.arange(n_bits + 1)


@fill_doc
@validate_params(
    {
        **_CODES_CONSTRAINTS,
        "radius": [Interval(Integral, 0, None, closed="left")],
        "r": [Interval(Integral, 0, None, closed="left"), Hidden(StrOptions({"deprecated"}))],
    },
    prefer_skip_nested_validation=True,
)
def precision_within_radius(
    query_codes,
    db_codes,
    query_labels=None,
    db_labels=None,
    *,
    radius=2,
    code_format=None,
    n_bits=None,
    r="deprecated",
):
    """Mean precision of the items within Hamming radius ``radius`` of each query.

    A query that retrieves nothing within the radius counts precision 0.

    Parameters
    ----------
    %(codes_parameters)s
    radius : int, default=2
        The Hamming radius, inclusive (the ``radius`` of
        :meth:`~sklearn_xmh.neighbors.HammingIndex.radius_neighbors`).
    %(format_parameters)s
    r : int
        Deprecated alias of ``radius``.

        .. deprecated:: 0.2
           ``r`` was renamed ``radius`` in 0.2 and will be removed in 0.4.

    Returns
    -------
    precision : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmh.metrics import precision_within_radius
    >>> query = np.array([[0, 0, 0, 0]], dtype=np.uint8)
    >>> db = np.array([[1, 1, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]], dtype=np.uint8)
    >>> precision_within_radius(query, db, [1], [1, 1, 0], radius=2)
    0.5
    """
    if not (isinstance(r, str) and r == "deprecated"):
        warnings.warn(
            "The parameter 'r' of precision_within_radius was renamed 'radius' in 0.2 and will "
            "be removed in 0.4; pass radius=.",
            FutureWarning,
            stacklevel=3,  # the caller, past validate_params' wrapper
        )
        radius = r
    precision, _, _ = precision_recall_curve(
        query_codes,
        db_codes,
        query_labels,
        db_labels,
        code_format=code_format,
        n_bits=n_bits,
    )
    return float(precision[min(int(radius), len(precision) - 1)])
