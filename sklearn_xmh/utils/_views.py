"""The views: checked, read and blocked here, and nowhere else.

:func:`validate_views` / :func:`validate_view` check the two views as scikit-learn does (with the
view named in every message), an out-of-core view a block at a time; the readers below take rows
and blocks from a view in memory, sparse or out of core.

A :class:`TrainingView` holds one view as it was given to ``fit`` (a dense array, a CSR matrix, a
``numpy.memmap``, an ``h5py`` dataset or a dask array) and the fitted preprocessor applied to every
batch read from it. Nothing is densified or copied as a whole: a sparse view's batches stay
sparse, and an out-of-core view is read only a batch at a time.
"""

from contextlib import contextmanager

import numpy as np
from sklearn.utils import check_array, check_consistent_length, gen_batches
from sklearn.utils.validation import validate_data

VIEW_NAMES = {"image": "image view (X)", "text": "text view (y)"}


@contextmanager
def naming_view(view):
    """Re-raise a ``ValueError`` with the view it concerns at the front of its message."""
    try:
        yield
    except ValueError as exc:
        name = VIEW_NAMES.get(view, view)
        if str(exc).startswith(name[0].upper() + name[1:]):
            raise
        raise type(exc)(f"{name[0].upper() + name[1:]}: {exc}") from exc


def _view_params(estimator, accept_sparse, allow_nd):
    return {
        "accept_sparse": accept_sparse,
        "dtype": np.float32,
        "allow_nd": allow_nd,
        "estimator": estimator,
    }


def validate_views(estimator, X, y, *, reset=True, accept_sparse="csr", allow_nd=(False, False)):
    """Validate an image view ``X`` and a text view ``y`` for ``fit``.

    Parameters
    ----------
    estimator : estimator instance
        The estimator whose ``n_features_in_`` and ``feature_names_in_`` describe the image view.
    X : {array-like, sparse matrix} of shape (n_samples, n_image_features)
        The image view.
    y : {array-like, sparse matrix} of shape (n_samples, n_text_features) or (n_samples,)
        The text view. A 1-D ``y`` is read as one text feature.
    reset : bool, default=True
        Whether to reset ``n_features_in_`` (as in ``fit``).
    accept_sparse : str, bool or list, default="csr"
        Passed to :func:`~sklearn.utils.check_array` for both views.
    allow_nd : tuple of bool, default=(False, False)
        Whether each view may have more than two dimensions (custom towers on raw inputs).

    Returns
    -------
    X, y : validated float32 arrays or CSR matrices, ``y`` at least 2-D. An out-of-core view
        (``numpy.memmap``, ``h5py`` dataset, dask array) is checked a block at a time and
        returned as it is.
    """
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None: "
            "the text view is required, call fit(X_image, X_text)."
        )
    with naming_view("image"):
        params = _view_params(estimator, accept_sparse, allow_nd[0])
        if is_out_of_core(X):
            # Streamed: the first rows set the feature count, every block is checked for
            # NaN / inf, and the view itself stays where it is.
            validate_data(estimator, _first_rows(X), reset=reset, **params)
            check_finite_blocks(X, name="X")
        else:
            X = validate_data(estimator, X, reset=reset, **params)
    with naming_view("text"):
        params = _view_params(estimator, accept_sparse, allow_nd[1])
        if is_out_of_core(y) and y.ndim > 1:
            check_array(_first_rows(y), input_name="y", **params)
            check_finite_blocks(y, name="y")
        else:
            y = check_array(y, input_name="y", ensure_2d=False, **params)
            if y.ndim == 1:
                y = y.reshape(-1, 1)
    try:
        check_consistent_length(X, y)
    except ValueError as exc:
        raise ValueError(
            f"The image view (X) and the text view (y) must have the same number of rows "
            f"(paired samples): {exc}"
        ) from exc
    return X, y


def _first_rows(X, n_rows=2):
    """The first rows of an out-of-core array, in memory, for the checks of its shape and type."""
    if X.shape[0] == 0:
        return X
    return read_block(X, 0, min(n_rows, X.shape[0]))


def validate_view(estimator, X, *, view, reset=False, accept_sparse="csr", allow_nd=False):
    """Validate one view for ``transform`` (``reset=False``) or for an encoder's ``fit``."""
    with naming_view(view):
        return validate_data(
            estimator, X, reset=reset, **_view_params(estimator, accept_sparse, allow_nd)
        )


def flatten_samples(X):
    """``X`` with each sample flattened to one row: ``(n, d1, d2, ...)`` becomes
    ``(n, d1 * d2 * ...)``; 2-D arrays and sparse matrices are returned as they are."""
    return X.reshape(X.shape[0], -1) if X.ndim > 2 else X


def is_sparse(X):
    """Whether ``X`` is a scipy sparse matrix or array."""
    return hasattr(X, "toarray")


def as_dense_float32(X):
    """``X`` as a C-contiguous dense float32 array, densifying a sparse matrix."""
    return np.ascontiguousarray(X.toarray() if is_sparse(X) else X, dtype=np.float32)


def is_out_of_core(X):
    """Whether ``X`` is read a block at a time rather than held in memory: a ``numpy.memmap``, an
    ``h5py`` dataset, a dask array, or any other array-like that is neither a numpy array, a
    scipy sparse matrix, a pandas frame nor a list."""
    if isinstance(X, np.memmap):
        return True
    if isinstance(X, (np.ndarray, list, tuple)) or is_sparse(X):
        return False
    if hasattr(X, "iloc") or not hasattr(X, "shape") or not hasattr(X, "__getitem__"):
        return False
    return True


def read_rows(X, rows):
    """Rows ``rows`` (an integer array, any order) of ``X``, as a numpy array or CSR matrix.

    An ``h5py`` dataset is read with increasing unique indices, as it requires, and a dask
    array is computed for these rows only.
    """
    rows = np.asarray(rows, dtype=np.intp)
    if isinstance(X, np.ndarray) or is_sparse(X):
        return X[rows]
    unique, inverse = np.unique(rows, return_inverse=True)
    if len(unique) and unique[-1] - unique[0] + 1 == len(unique):
        block = read_block(X, int(unique[0]), int(unique[-1]) + 1)  # one contiguous read
    else:
        block = _in_memory(X[unique])
    return block[inverse]


def read_block(X, start, stop):
    """Rows ``start:stop`` of ``X`` as a numpy array or CSR matrix (one contiguous read)."""
    return _in_memory(X[start:stop])


def _in_memory(block):
    """A block read from a view as a numpy array or sparse matrix (a dask block computed)."""
    if hasattr(block, "compute"):
        block = block.compute()
    return block if is_sparse(block) or isinstance(block, np.ndarray) else np.asarray(block)


def iter_blocks(X, block_size):
    """``(rows, block)`` for consecutive blocks of ``block_size`` rows of ``X``."""
    for rows in gen_batches(X.shape[0], block_size):
        yield rows, read_block(X, rows.start, rows.stop)


# Dense in-memory views up to this size are preprocessed once for training in batches
# (TrainingView.keep_prepared).
PREPARED_BYTES = 1 << 27


class TrainingView:
    """One training view as given, read a batch of rows at a time through its preprocessor.

    Parameters
    ----------
    X : {ndarray, sparse matrix, numpy.memmap, h5py.Dataset, dask array} of shape (n, ...)
        The view; axes beyond the first are flattened batch by batch.
    preprocessor : fitted transformer or None, default=None
        Applied to every batch; None reads the rows as they are.

    Attributes
    ----------
    n_samples : int
    n_features : int
        Width of the preprocessed rows.
    sample_shape : tuple of int
        Shape of one sample as given, before its axes are flattened (a custom tower on raw
        inputs gets it back).
    sparse : bool
        Whether the batches are scipy sparse (CSR) matrices.
    """

    def __init__(self, X, preprocessor=None):
        self.X = X
        self.preprocessor = preprocessor
        self.n_samples = int(X.shape[0])
        self.sample_shape = tuple(X.shape[1:])
        self._prepared = None
        first = self.take(np.arange(min(1, self.n_samples)))
        self.n_features = int(first.shape[1])
        self.sparse = is_sparse(first)

    def keep_prepared(self, max_bytes=PREPARED_BYTES):
        """Preprocess a dense in-memory view of at most ``max_bytes`` once (a float32 copy, or the
        view itself when it is one and has no preprocessor), and read its batches from that
        copy; return ``self``.

        For training in many small random batches: there the preprocessor's checks on every
        batch cost more than the batch's step, and the copy of a small view is cheap. The
        preprocessing is row-wise, so the rows are the same either way. Sparse, out-of-core and
        larger views keep being read batch by batch.
        """
        if (
            self._prepared is None
            and not self.sparse
            and not is_out_of_core(self.X)
            and getattr(self.X, "nbytes", np.inf) <= max_bytes
        ):
            # Without a preprocessor a float32 view is its own prepared copy.
            self._prepared = (
                self._prepare(self.X) if self.preprocessor is None else self.materialize()
            )
        return self

    def __len__(self):
        return self.n_samples

    @property
    def shape(self):
        return (self.n_samples, self.n_features)

    def _prepare(self, block):
        block = flatten_samples(block)
        if self.preprocessor is not None:
            block = self.preprocessor.transform(block)
        if is_sparse(block):
            return block.tocsr().astype(np.float32, copy=False)
        return np.ascontiguousarray(block, dtype=np.float32)

    def take(self, rows):
        """The preprocessed rows ``rows``: a float32 array, or a float32 CSR matrix."""
        if self._prepared is not None:
            return self._prepared[np.asarray(rows)]
        return self._prepare(read_rows(self.X, rows))

    def blocks(self, block_size=4096):
        """The preprocessed view, ``block_size`` consecutive rows at a time."""
        if self._prepared is not None:
            for rows in gen_batches(self.n_samples, block_size):
                yield self._prepared[rows]
            return
        for _, block in iter_blocks(self.X, block_size):
            yield self._prepare(block)

    def materialize(self, block_size=4096):
        """The whole preprocessed view in memory (dense float32, or CSR when sparse), built a
        block at a time: for methods that need every row at once (a graph). A view kept
        prepared returns its copy."""
        from scipy import sparse

        if self._prepared is not None:
            return self._prepared
        if self.sparse:
            if self.n_samples == 0:
                return self.take(np.arange(0))
            return sparse.vstack(list(self.blocks(block_size)), format="csr")
        out = np.empty(self.shape, dtype=np.float32)
        for start, block in zip(range(0, self.n_samples, block_size), self.blocks(block_size)):
            out[start : start + block.shape[0]] = block
        return out


def check_finite_blocks(X, *, name, block_size=65536):
    """Check an out-of-core view for NaN or inf a block at a time, naming it in the error."""
    for rows, block in iter_blocks(X, block_size):
        try:
            block = flatten_samples(block)
            check_array(block, accept_sparse="csr", dtype=np.float32, input_name=name)
        except ValueError as exc:
            raise ValueError(f"{exc} (in rows {rows.start} to {rows.stop - 1})") from exc
