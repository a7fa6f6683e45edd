"""``HammingIndex``: exact nearest-neighbour search over binary codes."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._codes import CODE_FORMATS, check_codes, packed_to_words
from .metrics import _bucket_counts, _distance_dtype, _scan, _stable_top


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

    See Also
    --------
    sklearn_xmh.metrics.hamming_distances : The full distance matrix.
    sklearn.neighbors.NearestNeighbors : The same interface for real-valued data.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmh.index import HammingIndex
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
    def fit(self, codes, y=None):
        """Store the database codes.

        Parameters
        ----------
        codes : array-like of shape (n_samples, n_bits) or packed
            Database codes.
        y : None
            Ignored.

        Returns
        -------
        self : HammingIndex
            The fitted index.
        """
        bits, n_bits = check_codes(codes, code_format=self.code_format, n_bits=self.n_bits)
        if bits.shape[0] == 0:
            raise ValueError("HammingIndex.fit needs at least one database code, got 0.")
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

    def _query_words(self, codes):
        check_is_fitted(self)
        bits, _ = check_codes(codes, code_format=self.code_format, n_bits=self.n_bits_)
        return packed_to_words(np.packbits(bits, axis=1))

    def _faiss(self):
        if getattr(self, "_faiss_index", None) is None:
            faiss = _import_faiss()
            index = faiss.IndexBinaryFlat(self.n_bits_)
            index.add(np.ascontiguousarray(self.codes_))
            self._faiss_index = index
        return self._faiss_index

    def kneighbors(self, codes, n_neighbors=10, return_distance=True):
        """Find the ``n_neighbors`` nearest database codes of each query.

        Parameters
        ----------
        codes : array-like of shape (n_queries, n_bits) or packed
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
        query = self._query_words(codes)
        if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, Integral):
            raise ValueError(f"n_neighbors must be a positive integer, got {n_neighbors!r}.")
        if not 1 <= n_neighbors <= self.n_samples_fit_:
            raise ValueError(
                f"n_neighbors must be in [1, n_samples_fit_={self.n_samples_fit_}], "
                f"got {n_neighbors}."
            )
        n_neighbors = int(n_neighbors)
        if self.backend == "faiss":
            distances, indices = self._faiss_kneighbors(query, n_neighbors)
        else:
            distances, indices = self._numpy_kneighbors(query, n_neighbors)
        return (distances, indices) if return_distance else indices

    def _numpy_kneighbors(self, query, n_neighbors, rows=None):
        db = packed_to_words(self.codes_)
        n_queries = query.shape[0]
        distances = np.empty((n_queries, n_neighbors), dtype=np.int64)
        indices = np.empty((n_queries, n_neighbors), dtype=np.int64)
        for block, block_distances in _scan(query, db, self.n_bits_):
            counts = None
            if n_neighbors < db.shape[0]:
                counts, _ = _bucket_counts(block_distances, 0, self.n_bits_ + 1)
            top = _stable_top(block_distances, n_neighbors, counts)
            indices[block] = top
            distances[block] = np.take_along_axis(block_distances, top, axis=1)
        return distances, indices

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
            distances[redo], indices[redo] = self._numpy_kneighbors(query[redo], n_neighbors)
        return distances, indices

    def radius_neighbors(self, codes, radius=2, return_distance=True):
        """Find every database code within Hamming distance ``radius`` of each query.

        Parameters
        ----------
        codes : array-like of shape (n_queries, n_bits) or packed
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
        query = self._query_words(codes)
        if isinstance(radius, bool) or not isinstance(radius, Integral) or radius < 0:
            raise ValueError(f"radius must be a non-negative integer, got {radius!r}.")
        radius = int(radius)
        if self.backend == "faiss":
            lims, distances, indices = self._faiss_radius(query, radius)
        else:
            lims, distances, indices = self._numpy_radius(query, radius)
        # Results are ordered by query, then distance, then index; stable counting sorts on
        # small keys (distance, then query) give that order without a comparison sort.
        by_distance = np.argsort(distances.astype(_distance_dtype(self.n_bits_)), kind="stable")
        owner = np.repeat(np.arange(len(lims) - 1), np.diff(lims))[by_distance]
        order = by_distance[np.argsort(owner, kind="stable")]
        split = lims[1:-1]
        distances_out = _object_array(np.split(distances[order].astype(np.int64), split))
        indices_out = _object_array(np.split(indices[order].astype(np.int64), split))
        return (distances_out, indices_out) if return_distance else indices_out

    def _numpy_radius(self, query, radius):
        db = packed_to_words(self.codes_)
        counts, all_distances, all_indices = [], [], []
        for _, block_distances in _scan(query, db, self.n_bits_):
            rows, cols = np.nonzero(block_distances <= radius)
            counts.append(np.bincount(rows, minlength=block_distances.shape[0]))
            all_distances.append(block_distances[rows, cols])
            all_indices.append(cols)
        lims = np.concatenate([[0], np.cumsum(np.concatenate(counts))]).astype(np.intp)
        return lims, np.concatenate(all_distances), np.concatenate(all_indices)

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


def _object_array(arrays):
    out = np.empty(len(arrays), dtype=object)
    out[:] = arrays
    return out
