"""``HammingIndex``: exact nearest-neighbour search over binary codes."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted, validate_data

from ..metrics._hamming import kneighbors_brute, order_by_distance, radius_brute
from ..utils._codes import CODE_FORMATS, check_codes, packed_to_words


def _import_faiss():
    try:
        import faiss
    except ImportError as exc:
        raise ImportError(
            "HammingIndex(backend='faiss') needs faiss; install it with "
            "`pip install sklearn-xmh[faiss]` (faiss-cpu), or use backend='numpy'."
        ) from exc
    return faiss


class HammingIndex(BaseEstimator):
    """Exact Hamming nearest-neighbour search over binary codes.

    Codes are stored packed. Results are exact, sorted by increasing Hamming distance, with ties
    broken by database index, in the style of :class:`~sklearn.neighbors.NearestNeighbors`.

    Parameters
    ----------
    backend : {"numpy", "faiss"}, default="numpy"
        ``"numpy"`` counts over distance buckets in blocks of queries and needs nothing extra;
        ``"faiss"`` searches with ``faiss.IndexBinaryFlat`` (``n_bits`` must be a multiple of
        8) and re-ranks the boundary so that ties still follow database index.
    code_format : {"bits", "signed", "packed"} or None, default=None
        The format of the codes passed to ``fit`` and the queries; None infers it.
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
    n_features_in_ : int
        Width of the codes passed to ``fit``: ``n_bits``, or bytes per row for packed codes.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of the codes, when ``fit`` got a DataFrame with string column names.

    See Also
    --------
    sklearn_xmh.metrics.hamming_distances : The full distance matrix.
    sklearn.neighbors.NearestNeighbors : The same interface for real-valued data.

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
    """

    _parameter_constraints: dict = {
        "backend": [StrOptions({"numpy", "faiss"})],
        "code_format": [StrOptions(set(CODE_FORMATS)), None],
        "n_bits": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, backend="numpy", *, code_format=None, n_bits=None):
        self.backend = backend
        self.code_format = code_format
        self.n_bits = n_bits

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Store the database codes.

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
        bits, n_bits = check_codes(codes, code_format=self.code_format, n_bits=self.n_bits)
        if self.backend == "faiss":
            _import_faiss()
            if n_bits % 8:
                raise ValueError(
                    f"backend='faiss' needs n_bits to be a multiple of 8, got n_bits={n_bits}; "
                    "use backend='numpy'."
                )
        self.codes_ = np.packbits(bits, axis=1)
        self.n_bits_ = n_bits
        self.n_samples_fit_ = bits.shape[0]
        self._faiss_index = None
        return self

    def _query_words(self, X):
        check_is_fitted(self)
        codes = validate_data(self, X, dtype="numeric", reset=False)
        bits, _ = check_codes(codes, code_format=self.code_format, n_bits=self.n_bits_)
        return packed_to_words(np.packbits(bits, axis=1))

    def _faiss(self):
        if getattr(self, "_faiss_index", None) is None:
            faiss = _import_faiss()
            index = faiss.IndexBinaryFlat(self.n_bits_)
            index.add(np.ascontiguousarray(self.codes_))
            self._faiss_index = index
        return self._faiss_index

    @validate_params(
        {
            "X": ["array-like"],
            "n_neighbors": [Interval(Integral, 1, None, closed="left")],
            "return_distance": ["boolean"],
        },
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
        if self.backend == "faiss":
            distances, indices = self._faiss_kneighbors(query, n_neighbors)
        else:
            distances, indices = self._brute_kneighbors(query, n_neighbors)
        return (distances, indices) if return_distance else indices

    def _brute_kneighbors(self, query, n_neighbors):
        return kneighbors_brute(query, packed_to_words(self.codes_), self.n_bits_, n_neighbors)

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

    @validate_params(
        {
            "X": ["array-like"],
            "radius": [Interval(Integral, 0, None, closed="left")],
            "return_distance": ["boolean"],
        },
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
        radius = int(radius)
        if self.backend == "faiss":
            lims, distances, indices = self._faiss_radius(query, radius)
        else:
            lims, distances, indices = radius_brute(
                query, packed_to_words(self.codes_), self.n_bits_, radius
            )
        distances, indices = order_by_distance(lims, distances, indices, self.n_bits_)
        split = lims[1:-1]
        distances_out = _object_array(np.split(distances.astype(np.int64), split))
        indices_out = _object_array(np.split(indices.astype(np.int64), split))
        return (distances_out, indices_out) if return_distance else indices_out

    def _faiss_radius(self, query, radius):
        n_bytes = self.codes_.shape[1]
        query_bytes = np.ascontiguousarray(query.view(np.uint8)[:, :n_bytes])
        # faiss binary range search keeps distances strictly below its threshold.
        lims, distances, indices = self._faiss().range_search(query_bytes, radius + 1)
        lims = lims.astype(np.intp)
        # Within each query, sort by index first so the stable distance sort keeps index order.
        owner = np.repeat(np.arange(len(lims) - 1), np.diff(lims))
        order = np.lexsort((indices, owner))
        return lims, distances[order], indices[order]

    def __getstate__(self):
        # faiss indexes do not pickle; the packed codes are enough to rebuild one.
        state = self.__dict__.copy()
        state["_faiss_index"] = None
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
