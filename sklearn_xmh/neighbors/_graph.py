"""Feature-space k-nearest-neighbour structures: UGACH's correlation graph and the
neighbourhoods behind ``hamming_map_scorer(relevance="neighbors")``.

Both are built on :class:`sklearn.neighbors.NearestNeighbors`, one block of queries at a time, so
that memory stays bounded by the block, and every item is its own neighbour.
"""

import gc
from numbers import Integral

import numpy as np
from numba import njit, prange
from scipy import sparse
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler, normalize
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._views import flatten_samples

_N_JOBS = [Integral, None]


@validate_params(
    {
        "X_image": ["array-like", "sparse matrix"],
        "X_text": ["array-like", "sparse matrix"],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": _N_JOBS,
    },
    prefer_skip_nested_validation=True,
)
def feature_neighbors(X_image, X_text, *, n_neighbors=20, n_jobs=None):
    """Each pair's nearest pairs in the joint feature space of two paired views.

    Each view is standardised and L2-normalised, so that both weigh the same, and the two are
    concatenated; neighbours are Euclidean in that joint space, and every pair is its own
    nearest neighbour. This is the ground truth of unsupervised hashing benchmarks, and what
    ``hamming_map_scorer(relevance="neighbors")`` ranks against.

    Parameters
    ----------
    X_image, X_text : {array-like, sparse matrix} of shape (n_samples, ...)
        Paired image and text views; axes beyond the first are flattened.
    n_neighbors : int, default=20
        Neighbours per pair, the pair itself included; clipped to ``n_samples``.
    n_jobs : int or None, default=None
        Parallel jobs of the neighbour search, as in
        :class:`~sklearn.neighbors.NearestNeighbors`.

    Returns
    -------
    neighbors : sparse matrix of shape (n_samples, n_samples), dtype bool
        CSR, ``n_neighbors`` entries per row (memory ``O(n_samples * n_neighbors)``, as
        :func:`sklearn.neighbors.kneighbors_graph`): ``neighbors[i, j]`` is True when pair
        ``j`` is among the ``n_neighbors`` nearest pairs of pair ``i``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmh.neighbors import feature_neighbors
    >>> X_image = np.array([[0.0, 1.0], [0.1, 1.0], [5.0, -1.0], [5.1, -1.0]])
    >>> X_text = np.array([[1.0, 0.0], [1.0, 0.1], [-1.0, 3.0], [-1.0, 3.1]])
    >>> feature_neighbors(X_image, X_text, n_neighbors=2).toarray().astype(int)
    array([[1, 1, 0, 0],
           [1, 1, 0, 0],
           [0, 0, 1, 1],
           [0, 0, 1, 1]])
    """
    views = []
    for name, view in (("X_image", X_image), ("X_text", X_text)):
        view = flatten_samples(
            check_array(view, accept_sparse="csr", allow_nd=True, dtype=np.float64, input_name=name)
        )
        scaler = StandardScaler(with_mean=not sparse.issparse(view))
        views.append(normalize(scaler.fit_transform(view)))
    if views[0].shape[0] != views[1].shape[0]:
        raise ValueError(
            f"X_image and X_text must hold the same pairs, got {views[0].shape[0]} and "
            f"{views[1].shape[0]} rows."
        )
    joint = (
        sparse.hstack(views, format="csr")
        if any(sparse.issparse(view) for view in views)
        else np.hstack(views)
    )
    found = _kneighbors_with_self(joint, n_neighbors, n_jobs=n_jobs)
    n_samples, k = found.shape
    indices = np.sort(found, axis=1).ravel()
    indptr = np.arange(0, found.size + 1, k)
    data = np.ones(found.size, dtype=bool)
    return sparse.csr_matrix((data, indices, indptr), shape=(n_samples, n_samples))


@validate_params(
    {
        "X_image": ["array-like", "sparse matrix"],
        "X_text": ["array-like", "sparse matrix"],
        "n_neighbors": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "algorithm": [StrOptions({"exact", "nndescent"})],
        "block_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": _N_JOBS,
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def correlation_graph(
    X_image,
    X_text,
    *,
    n_neighbors,
    algorithm="exact",
    block_size=2048,
    n_jobs=None,
    random_state=None,
):
    """UGACH's correlation graph: each item's k nearest neighbours by image and by text.

    Neighbours are Euclidean, and every item is its own neighbour in both views. An item's
    neighbour set is the union of its two lists. The graph is kept as lists, in memory
    ``O(n_samples * k)``; the views are searched one after the other.

    Parameters
    ----------
    X_image : {array-like, sparse matrix} of shape (n_samples, n_image_features)
    X_text : {array-like, sparse matrix} of shape (n_samples, n_text_features)
        The views; a :class:`~sklearn_xmh.utils._views.TrainingView` is materialised (preprocessed)
        for its own search only.
    n_neighbors : int or tuple of (int, int)
        Neighbours per view, the item itself included; clipped to ``n_samples``. A pair gives
        the image and the text view their own counts.
    algorithm : {"exact", "nndescent"}, default="exact"
        ``"exact"`` searches with :class:`sklearn.neighbors.NearestNeighbors`, one block of
        queries at a time: ``O(n_samples**2 * n_features)`` work. ``"nndescent"`` builds an
        approximate k-NN graph with :class:`pynndescent.NNDescent` (``pip install
        pynndescent``), roughly ``O(n_samples log n_samples)``, for hundreds of thousands of
        items; its recall is measured in ``benchmarks/bench_scale.py``. A sparse view is
        always searched exactly, from its sparse products (the work is the number of pairs that
        share a feature, not ``n_samples**2``).
    block_size : int, default=2048
        Queries per ``kneighbors`` call of the exact search, which bounds memory.
    n_jobs : int or None, default=None
        Parallel jobs of the neighbour search.
    random_state : int, RandomState instance or None, default=None
        Seed of the approximate search.

    Returns
    -------
    neighbors : ndarray of shape (n_samples, n_image_neighbors + n_text_neighbors), dtype int64
        Each row holds its item's distinct neighbours in increasing index order, padded on the
        right with copies of the row's first neighbour.
    n_distinct : ndarray of shape (n_samples,), dtype int64
        Number of distinct neighbours of each item (the leading entries of its row).
    """
    counts = (n_neighbors, n_neighbors) if isinstance(n_neighbors, Integral) else n_neighbors
    if len(counts) != 2 or not all(isinstance(k, Integral) and k >= 1 for k in counts):
        raise ValueError(
            "n_neighbors must be a positive int or a pair of positive ints (image, text), got "
            f"{n_neighbors!r}."
        )
    if X_image.shape[0] != X_text.shape[0]:
        raise ValueError(
            f"X_image and X_text must hold the same items, got {X_image.shape[0]} and "
            f"{X_text.shape[0]} rows."
        )
    search = _kneighbors_with_self if algorithm == "exact" else _nndescent_with_self
    options = {"block_size": block_size} if algorithm == "exact" else {"random_state": random_state}
    lists = []
    for X, k in zip((X_image, X_text), counts):
        X = X.materialize() if hasattr(X, "materialize") else X
        lists.append(search(X, int(k), n_jobs=n_jobs, **options))
        del X
    neighbors = np.sort(np.hstack(lists), axis=1)
    duplicate = np.zeros_like(neighbors, dtype=bool)
    duplicate[:, 1:] = neighbors[:, 1:] == neighbors[:, :-1]
    order = np.argsort(duplicate, axis=1, kind="stable")
    neighbors = np.take_along_axis(neighbors, order, axis=1)
    n_distinct = (~duplicate).sum(axis=1)
    padding = np.arange(neighbors.shape[1])[None, :] >= n_distinct[:, None]
    neighbors = np.where(padding, neighbors[:, :1], neighbors)
    return neighbors, n_distinct.astype(np.int64)


def _with_self(found, rows):
    """``found`` (nearest first) with each row's own index replacing its farthest neighbour
    where the search did not return it (exact duplicates, or an approximate miss)."""
    missing = ~(found == rows[:, None]).any(axis=1)
    found[missing, -1] = rows[missing]
    return found


def _nndescent_with_self(X, n_neighbors, *, n_jobs=None, random_state=None):
    """Approximate :func:`_kneighbors_with_self` with :class:`pynndescent.NNDescent`."""
    try:
        from pynndescent import NNDescent
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "algorithm='nndescent' needs pynndescent: pip install pynndescent."
        ) from exc
    n_samples = X.shape[0]
    k = min(n_neighbors, n_samples)
    # The descent converges far better with a wider heap than the few neighbours kept: at
    # 186,577 x 500, a heap of 15 recalled 0.927 of the exact 5 neighbours, one of 30 0.991.
    heap = max(6 * k, 30)
    if n_samples <= 2 * heap + 2:
        return _kneighbors_with_self(X, k, n_jobs=n_jobs)
    if sparse.issparse(X):
        # Sparse rows are searched exactly: their products are cheap, and NN-descent on bags
        # of words is slow (most pairs share no word and tie).
        return _sparse_kneighbors_with_self(X, k)
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    X = np.ascontiguousarray(X, dtype=np.float32)
    index = NNDescent(
        X,
        n_neighbors=heap,
        metric="euclidean",
        n_jobs=-1 if n_jobs is None else n_jobs,
        random_state=seed,
        # Four random-projection trees seed the descent: each stores a hyperplane per node
        # (pynndescent's default of 5 + n**0.25 trees, 26 at 186,577 items, took 4 GB for 712 MB
        # of 1000-d rows). At 186,577 pairs, 4 trees recall 0.991 / 0.989 of the exact 5
        # neighbours (8: 0.991 / 0.992), and UGACH's fit peaks at 1.33x its input (8: 2.22x).
        n_trees=4,
        compressed=True,
        low_memory=True,
    )
    found = np.asarray(index.neighbor_graph[0][:, :k], dtype=np.int64)
    # The index sits in a reference cycle that holds the rows: collect it now, so that the
    # caller's copy of the view is freed when it drops it, not at some later collection.
    del index
    gc.collect()
    return _with_self(found, np.arange(n_samples))


def _kneighbors_with_self(X, n_neighbors, *, block_size=2048, n_jobs=None):
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
    n_jobs : int or None, default=None
        Parallel jobs of the neighbour search.

    Returns
    -------
    neighbors : ndarray of shape (n_samples, min(n_neighbors, n_samples)), dtype int64
        Nearest first, apart from a replaced farthest neighbour.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmh.neighbors._graph import _kneighbors_with_self
    >>> _kneighbors_with_self(np.array([[0.0], [0.0], [5.0]]), 1).ravel().tolist()
    [0, 1, 2]
    """
    if sparse.issparse(X):
        return _sparse_kneighbors_with_self(X, n_neighbors, block_size=block_size)
    n_samples = X.shape[0]
    index = NearestNeighbors(n_neighbors=min(n_neighbors, n_samples), n_jobs=n_jobs).fit(X)
    neighbors = np.empty((n_samples, index.n_neighbors), dtype=np.int64)
    for start in range(0, n_samples, block_size):
        rows = np.arange(start, min(start + block_size, n_samples))
        neighbors[rows] = _with_self(index.kneighbors(X[rows], return_distance=False), rows)
    return neighbors


def _sparse_kneighbors_with_self(X, n_neighbors, *, block_size=4096, max_products=2**22):
    """Exact :func:`_kneighbors_with_self` for sparse rows, from their sparse products.

    ``|q - x|**2 = |q|**2 + |x|**2 - 2 q.x``: the rows that share a feature with a query are its
    nonzero products, found by one sparse product per block of queries; every other row is at
    ``|q|**2 + |x|**2``, so the ``n_neighbors`` rows of smallest norm stand in for all of them.
    The work is the number of overlapping pairs, not ``n_samples**2``; ties are broken by row
    index. A block holds at most ``block_size`` queries and, beyond its first query, at most
    ``max_products`` products (bounded above by the sum of its features' document frequencies),
    so that memory stays bounded however many rows share features.
    """
    X = sparse.csr_matrix(X, dtype=np.float64)
    n_samples = X.shape[0]
    k = min(n_neighbors, n_samples)
    norms = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    smallest = np.argsort(norms, kind="stable")[:k].astype(np.int64)
    transposed = X.T.tocsr()
    # reach[i]: the bound on the products of rows before i, the running sum of the document
    # frequencies of their stored features.
    frequency = np.diff(transposed.indptr).astype(np.int64)
    reach = np.concatenate([[0], np.cumsum(frequency[X.indices])])[X.indptr]
    neighbors = np.empty((n_samples, k), dtype=np.int64)
    start = 0
    while start < n_samples:
        stop = np.searchsorted(reach, reach[start] + max_products, side="right") - 1
        stop = int(min(max(stop, start + 1), start + block_size, n_samples))
        products = (X[start:stop] @ transposed).tocsr()
        products.sort_indices()
        _top_k_of_products(
            products.indptr, products.indices, products.data, norms, smallest, neighbors[start:stop]
        )
        del products
        neighbors[start:stop] = _with_self(neighbors[start:stop], np.arange(start, stop))
        start = stop
    return neighbors


@njit(parallel=True, cache=True)
def _top_k_of_products(indptr, indices, dots, norms, smallest, out):
    """Each row's ``out.shape[1]`` smallest ``norms[c] - 2 dot`` over its stored products and,
    at ``norms[c]``, the ``smallest``-norm columns it does not store; ties by column."""
    k = out.shape[1]
    for row in prange(out.shape[0]):
        best_d = np.full(k, np.inf)
        best_c = np.full(k, np.iinfo(np.int64).max)
        lo, hi = indptr[row], indptr[row + 1]
        for j in range(lo, hi + k):
            if j < hi:
                column, distance = indices[j], norms[indices[j]] - 2.0 * dots[j]
            else:
                column = smallest[j - hi]
                position = np.searchsorted(indices[lo:hi], column)
                if position < hi - lo and indices[lo + position] == column:
                    continue  # stored: its product was counted
                distance = norms[column]
            last = k - 1
            if distance > best_d[last] or (distance == best_d[last] and column > best_c[last]):
                continue
            i = last
            while i > 0 and (
                distance < best_d[i - 1] or (distance == best_d[i - 1] and column < best_c[i - 1])
            ):
                best_d[i], best_c[i] = best_d[i - 1], best_c[i - 1]
                i -= 1
            best_d[i], best_c[i] = distance, column
        out[row] = best_c
