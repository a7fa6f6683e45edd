"""``HammingIndex``: exact nearest-neighbour search over binary codes."""

from math import comb
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted, validate_data

from .._hamming import kneighbors_brute, mih, packed_to_words, radius_brute, threads
from ..utils._codes import CODE_FORMATS, check_packed

# What both searches validate besides their own cut-off.
_QUERY_CONSTRAINTS = {"X": ["array-like"], "return_distance": ["boolean"]}

# Longest substring of multi-index hashing: its table has 2**24 + 1 offsets.
_MAX_SUBSTRING_BITS = 24


def _import_faiss():
    try:
        import faiss
    except ImportError as exc:
        raise ImportError(
            "HammingIndex(backend='faiss') needs faiss; install it with "
            "`pip install sklearn-xmh[faiss]` (faiss-cpu), or use backend='numba'."
        ) from exc
    return faiss


class HammingIndex(BaseEstimator):
    """Exact Hamming nearest-neighbour search over binary codes.

    Codes are stored packed. Results are exact, sorted by increasing Hamming distance, with ties
    broken by database index, in the style of :class:`~sklearn.neighbors.NearestNeighbors`;
    every algorithm and backend returns exactly the same neighbours and distances.

    Parameters
    ----------
    algorithm : {"auto", "brute", "mih"}, default="auto"
        ``"brute"`` scans every code with a compiled popcount kernel. ``"mih"`` is multi-index
        hashing (Norouzi, Punjani and Fleet): ``n_substrings`` hash tables over disjoint
        substrings of the codes, probed at growing radii, which is sub-linear when neighbours
        are near (clustered codes) and slower than a scan when they are far (random codes,
        long codes). ``"auto"`` takes ``"mih"`` for at least 100,000 codes whose sampled
        neighbourhoods are near enough that its expected table probes and candidates cost
        less than a scan, and ``"brute"`` otherwise; ``algorithm_`` says which.
    backend : {"numba", "faiss"}, default="numba"
        ``"numba"`` runs the library's compiled kernels; ``"faiss"`` runs the brute-force
        search through ``faiss.IndexBinaryFlat`` (``n_bits`` must be a multiple of 8) and
        re-ranks its boundary so that ties still follow database index.
    n_substrings : int or None, default=None
        Substrings (hash tables) of ``"mih"``; None takes ``n_bits / log2(n_samples)``,
        rounded up, and at least enough that no substring is longer than 24 bits.
    n_jobs : int or None, default=None
        Threads of the search. None keeps numba's thread count (all cores unless
        ``NUMBA_NUM_THREADS`` says otherwise), -1 takes all cores.
    code_format : {"bits", "signed", "packed"} or None, default=None
        The format of the codes passed to ``fit`` and the queries. None reads each array's
        from its dtype and shape, never its values: floating codes are signed and integer codes
        bits, except queries in a uint8 array exactly ``ceil(n_bits_ / 8)`` wide, which are
        packed; packed codes given to ``fit`` are declared here.
    n_bits : int or None, default=None
        The code length, needed for packed codes whose length is not a multiple of 8.

    Attributes
    ----------
    codes_ : ndarray of shape (`n_samples_fit_`, ceil(`n_bits_` / 8)), dtype uint8
        The database codes, packed.
    n_bits_ : int
        The code length.
    n_samples_fit_ : int
        The number of database codes.
    algorithm_ : {"brute", "mih"}
        The algorithm in use.
    n_substrings_ : int or None
        The substrings of ``"mih"``; None for ``"brute"``.
    n_features_in_ : int
        Width of the codes passed to ``fit``: ``n_bits``, or bytes per row for packed codes.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of the codes, when ``fit`` got a DataFrame with string column names.

    See Also
    --------
    sklearn_xmh.metrics.hamming_distances : The full distance matrix.
    sklearn.neighbors.NearestNeighbors : The same interface for real-valued data.

    References
    ----------
    .. [1] M. Norouzi, A. Punjani and D. J. Fleet, "Fast Search in Hamming Space with
       Multi-Index Hashing", CVPR 2012; "Fast Exact Search in Hamming Space with Multi-Index
       Hashing", IEEE TPAMI 36(6), 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmh.neighbors import HammingIndex
    >>> db = np.array([[0, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 1], [1, 1, 1, 1]], dtype=np.uint8)
    >>> index = HammingIndex().fit(db)
    >>> distances, indices = index.kneighbors(np.array([[0, 0, 0, 1]], dtype=np.uint8), 3)
    >>> distances, indices
    (array([[0, 1, 3]]), array([[2, 0, 1]]))
    >>> index.radius_neighbors(np.array([[0, 0, 0, 0]], dtype=np.uint8), radius=2)[1][0]
    array([0, 2, 1])
    >>> HammingIndex(algorithm="mih").fit(db).kneighbors(np.array([[0, 0, 0, 1]]), 3)[1]
    array([[2, 0, 1]])
    """

    _parameter_constraints: dict = {
        "algorithm": [StrOptions({"auto", "brute", "mih"})],
        "backend": [StrOptions({"numba", "faiss"})],
        "n_substrings": [Interval(Integral, 1, None, closed="left"), None],
        "n_jobs": [Integral, None],
        "code_format": [StrOptions(set(CODE_FORMATS)), None],
        "n_bits": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        algorithm="auto",
        *,
        backend="numba",
        n_substrings=None,
        n_jobs=None,
        code_format=None,
        n_bits=None,
    ):
        self.algorithm = algorithm
        self.backend = backend
        self.n_substrings = n_substrings
        self.n_jobs = n_jobs
        self.code_format = code_format
        self.n_bits = n_bits

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Store the database codes, and build the hash tables of ``"mih"``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_bits) or packed
            Database codes.
        y : None
            Ignored.

        Returns
        -------
        self : HammingIndex
            The fitted index.
        """
        codes = validate_data(self, X, dtype="numeric")
        packed, n_bits = check_packed(codes, code_format=self.code_format, n_bits=self.n_bits)
        if self.backend == "faiss":
            _import_faiss()
            if self.algorithm == "mih":
                raise ValueError(
                    "backend='faiss' runs brute-force search only; use algorithm='brute' or "
                    "'auto' with it, or backend='numba' for algorithm='mih'."
                )
            if n_bits % 8:
                raise ValueError(
                    f"backend='faiss' needs n_bits to be a multiple of 8, got n_bits={n_bits}; "
                    "use backend='numba'."
                )
        self.codes_ = packed.copy() if np.shares_memory(packed, codes) else packed
        self.n_bits_ = n_bits
        self.n_samples_fit_ = packed.shape[0]
        self._words = None
        self._faiss_index = None
        self._tables = None
        self.n_substrings_ = None
        self.algorithm_ = "brute"
        if self.backend == "numba":
            m = self._substrings()
            if self.algorithm == "mih" or (self.algorithm == "auto" and self._mih_pays(m)):
                self.algorithm_, self.n_substrings_ = "mih", m
                self._tables = self._build_tables(m)
        return self

    # ---- multi-index hashing ----

    def _substrings(self):
        if self.n_substrings is not None:
            m = int(self.n_substrings)
        else:
            m = int(np.ceil(self.n_bits_ / max(np.log2(max(self.n_samples_fit_, 2)), 1.0)))
        return max(m, -(-8 * self.codes_.shape[1] // _MAX_SUBSTRING_BITS), 1)

    def _build_tables(self, m):
        starts, lengths = mih.substring_bounds(m, self.codes_.shape[1])
        offsets = np.zeros((m, (1 << int(lengths.max())) + 1), dtype=np.int64)
        ids = np.empty((m, self.n_samples_fit_), dtype=np.int32)
        with threads(self.n_jobs):
            mih.build_tables(self._db_words(), starts, lengths, offsets, ids)
        return starts, lengths, offsets, ids

    def _mih_pays(self, m):
        """Whether multi-index hashing costs less than a scan, for the 10-NN searches of up to
        100 sampled database codes.

        Its cost is its table probes plus its candidates, which it reads at random, against
        the scan's contiguous, vectorised pass: a probe costs about 20 scanned codes and a
        candidate about 50 (``benchmarks/bench_retrieval.py`` on 64- and 256-bit codes).
        """
        n = self.n_samples_fit_
        if n < 100_000:
            return False
        sample = np.random.default_rng(0).choice(n, size=100, replace=False)
        with threads(self.n_jobs):
            words = self._db_words()
            distances, _ = kneighbors_brute(words[sample], words, self.n_bits_, 10)
        _, lengths = mih.substring_bounds(m, self.codes_.shape[1])
        length = int(lengths.max())
        # The k-NN search stops once its substring radius covers the 10th distance.
        radius = int(np.median(distances[:, -1])) // m + 1
        probes = m * sum(comb(length, s) for s in range(min(radius, length) + 1))
        candidates = probes * n / 2.0**length
        return 20 * probes + 50 * candidates < n

    # ---- search ----

    def _query_words(self, X):
        check_is_fitted(self)
        # Any format may query any index (the code length tells packed queries apart), so the
        # width is checked against n_bits_, not against the width of the fitted codes.
        codes = check_array(X, dtype="numeric", input_name="X")
        packed, _ = check_packed(
            codes, code_format=self.code_format, n_bits=self.n_bits_, name="query codes"
        )
        return packed_to_words(packed)

    def _faiss(self):
        if getattr(self, "_faiss_index", None) is None:
            faiss = _import_faiss()
            index = faiss.IndexBinaryFlat(self.n_bits_)
            index.add(np.ascontiguousarray(self.codes_))
            self._faiss_index = index
        return self._faiss_index

    @validate_params(
        {**_QUERY_CONSTRAINTS, "n_neighbors": [Interval(Integral, 1, None, closed="left")]},
        prefer_skip_nested_validation=True,
    )
    def kneighbors(self, X, n_neighbors=10, return_distance=True):
        """Find the ``n_neighbors`` nearest database codes of each query.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_bits) or packed
            Query codes.
        n_neighbors : int, default=10
            Number of neighbours; at most the number of database codes.
        return_distance : bool, default=True
            Whether to return the distances too.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors), dtype int64
            Hamming distances, ascending. Only when ``return_distance=True``.
        indices : ndarray of shape (n_queries, n_neighbors), dtype int64
            Database indices; equal distances are ordered by index.
        """
        query = self._query_words(X)
        if n_neighbors > self.n_samples_fit_:
            raise ValueError(
                f"n_neighbors must be in [1, n_samples_fit_={self.n_samples_fit_}], "
                f"got {n_neighbors}."
            )
        n_neighbors = int(n_neighbors)
        with threads(self.n_jobs):
            if self.backend == "faiss":
                distances, indices = self._faiss_kneighbors(query, n_neighbors)
            elif self.algorithm_ == "mih":
                distances, indices = self._mih_kneighbors(query, n_neighbors)
            else:
                distances, indices = self._brute_kneighbors(query, n_neighbors)
        return (distances, indices) if return_distance else indices

    def _brute_kneighbors(self, query, n_neighbors):
        return kneighbors_brute(query, self._db_words(), self.n_bits_, n_neighbors)

    def _db_words(self):
        if getattr(self, "_words", None) is None:
            self._words = packed_to_words(self.codes_)
        return self._words

    def _mih_tables(self):
        if getattr(self, "_tables", None) is None:
            self._tables = self._build_tables(self.n_substrings_)
        return self._tables

    def _mih_kneighbors(self, query, n_neighbors):
        distances = np.empty((query.shape[0], n_neighbors), dtype=np.int64)
        indices = np.empty((query.shape[0], n_neighbors), dtype=np.int64)
        if query.shape[0]:
            mih.kneighbors(
                query, self._db_words(), *self._mih_tables(), self.n_bits_, n_neighbors,
                distances, indices,
            )  # fmt: skip
        return distances, indices

    @validate_params(
        {**_QUERY_CONSTRAINTS, "radius": [Interval(Integral, 0, None, closed="left")]},
        prefer_skip_nested_validation=True,
    )
    def radius_neighbors(self, X, radius=2, return_distance=True):
        """Find every database code within Hamming distance ``radius`` of each query.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_bits) or packed
            Query codes.
        radius : int, default=2
            Largest Hamming distance returned, inclusive.
        return_distance : bool, default=True
            Whether to return the distances too.

        Returns
        -------
        distances : ndarray of shape (n_queries,), dtype object
            One int64 array of distances per query, ascending. Only when
            ``return_distance=True``.
        indices : ndarray of shape (n_queries,), dtype object
            One int64 array of database indices per query; equal distances by index.
        """
        query = self._query_words(X)
        radius = min(int(radius), self.n_bits_)
        with threads(self.n_jobs):
            if self.backend == "faiss":
                lims, distances, indices = self._faiss_radius(query, radius)
            elif self.algorithm_ == "mih":
                lims, distances, indices = self._mih_radius(query, radius)
            else:
                lims, distances, indices = radius_brute(
                    query, self._db_words(), self.n_bits_, radius
                )
        split = lims[1:-1]
        distances_out = _object_array(np.split(distances.astype(np.int64), split))
        indices_out = _object_array(np.split(indices.astype(np.int64), split))
        return (distances_out, indices_out) if return_distance else indices_out

    def _mih_radius(self, query, radius):
        tables = self._mih_tables()
        sizes = np.zeros(query.shape[0], dtype=np.int64)
        empty = np.zeros(0, dtype=np.int64)
        mih.radius_search(query, self._db_words(), *tables, radius, sizes, empty, empty, empty)
        lims = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        distances = np.empty(lims[-1], dtype=np.int64)
        indices = np.empty(lims[-1], dtype=np.int64)
        mih.radius_search(query, self._db_words(), *tables, radius, sizes, distances, indices, lims)
        return lims, distances, indices

    def _faiss_kneighbors(self, query, n_neighbors):
        index = self._faiss()
        n_bytes = self.codes_.shape[1]
        query_bytes = np.ascontiguousarray(query.view(np.uint8)[:, :n_bytes])
        # faiss breaks ties in no defined order. Asking for a margin beyond k shows whether the
        # whole boundary distance group came back; if so, re-ranking by (distance, index) is
        # exact, and the rare queries whose boundary group overflows are redone exactly.
        depth = min(self.n_samples_fit_, max(2 * n_neighbors, n_neighbors + 32))
        distances, indices = index.search(query_bytes, depth)
        distances = distances.astype(np.int64)
        order = np.argsort(distances * self.n_samples_fit_ + indices, axis=1)
        distances = np.take_along_axis(distances, order, axis=1)
        indices = np.take_along_axis(indices, order, axis=1)
        complete = (depth == self.n_samples_fit_) | (
            distances[:, -1] > distances[:, n_neighbors - 1]
        )
        distances, indices = distances[:, :n_neighbors], indices[:, :n_neighbors].copy()
        redo = np.flatnonzero(~complete)
        if redo.size:
            distances[redo], indices[redo] = self._brute_kneighbors(query[redo], n_neighbors)
        return distances, indices

    def _faiss_radius(self, query, radius):
        n_bytes = self.codes_.shape[1]
        query_bytes = np.ascontiguousarray(query.view(np.uint8)[:, :n_bytes])
        # faiss binary range search keeps distances strictly below its threshold.
        lims, distances, indices = self._faiss().range_search(query_bytes, radius + 1)
        lims = lims.astype(np.intp)
        # faiss returns each query's results in no defined order: sort by distance, then index.
        owner = np.repeat(np.arange(len(lims) - 1), np.diff(lims))
        order = np.lexsort((indices, distances, owner))
        return lims, distances[order], indices[order]

    def __getstate__(self):
        # The packed codes are the whole state: the uint64 words, the hash tables and a faiss
        # index (which does not pickle) are rebuilt from them on the first search.
        state = self.__dict__.copy()
        for derived in ("_faiss_index", "_words", "_tables"):
            state[derived] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


def _object_array(arrays):
    out = np.empty(len(arrays), dtype=object)
    out[:] = arrays
    return out
