"""``ModalityEncoder``: one view's fitted preprocessing and hash function as a transformer."""

from functools import partial
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils import _safe_indexing, gen_batches
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_is_fitted

from .utils._codes import CODE_FORMATS, binarize
from .utils._persistence import is_module_state, module_from_state, module_to_state
from .utils._validation import loadable_device, resolve_device
from .utils._views import (
    as_dense_float32,
    flatten_samples,
    is_out_of_core,
    is_sparse,
    iter_blocks,
    read_block,
    validate_view,
)


class LinearProjection:
    """An affine hash function ``X @ weight + bias`` in numpy, for the linear baselines.

    Parameters
    ----------
    weight : ndarray of shape (n_features, n_bits)
    bias : ndarray of shape (n_bits,)
    """

    def __init__(self, weight, bias):
        self.weight = np.asarray(weight, dtype=np.float32)
        self.bias = np.asarray(bias, dtype=np.float32)

    def __call__(self, X):
        return X @ self.weight + self.bias


def make_preprocessor(preprocessor, *, sparse=False):
    """The unfitted preprocessor for a ``*_preprocessor`` parameter.

    ``None`` standardises (without centring sparse input, which would densify it), and
    ``"passthrough"`` leaves the view as it is.
    """
    from sklearn.base import clone

    if preprocessor is None:
        return StandardScaler(with_mean=not sparse)
    if isinstance(preprocessor, str) and preprocessor == "passthrough":
        return FunctionTransformer(accept_sparse=True)
    return clone(preprocessor)


def fit_preprocessor(preprocessor, X, *, block_size=4096):
    """Fit an unfitted ``preprocessor`` on the view ``X``, flattening its samples.

    A dense view of more than ``block_size`` rows, in memory or out of core (``numpy.memmap``,
    ``h5py`` dataset, dask array), is streamed through ``partial_fit`` a block at a time when
    the preprocessor has it (``StandardScaler``, ``MaxAbsScaler``, ``MinMaxScaler``), so that
    its float64 temporaries stay the size of a block; the statistics are the whole-view ones up
    to rounding. A smaller or sparse in-memory view is fitted with ``fit``, and an out-of-core
    view under a preprocessor without ``partial_fit`` is read whole and fitted.
    """
    out_of_core = is_out_of_core(X)
    streams = hasattr(preprocessor, "partial_fit") and (
        out_of_core or (not is_sparse(X) and X.shape[0] > block_size)
    )
    if not streams:
        return preprocessor.fit(flatten_samples(read_block(X, 0, X.shape[0]) if out_of_core else X))
    for _, block in iter_blocks(X, block_size):
        preprocessor.partial_fit(flatten_samples(np.asarray(block, dtype=np.float32)))
    return preprocessor


class ModalityEncoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Encode one view (image or text) to binary codes with a fixed hash function.

    A fitted cross-modal hasher exposes two of these, ``image_encoder_`` and ``text_encoder_``. Each
    holds only its own preprocessor and tower, so it can be pickled and served alone (a text-query
    service loads only the text encoder), or wrapped in ``dask_ml.wrappers.ParallelPostFit``.

    ``fit`` fits the preprocessor only; the tower is used as given. Pass a
    :class:`~sklearn.frozen.FrozenEstimator` as ``preprocessor`` to keep an already fitted one.

    Parameters
    ----------
    tower : torch.nn.Module or LinearProjection
        Maps a batch of preprocessed inputs to real-valued pre-binarisation outputs of shape
        ``(n, n_bits)``. The sign of each output is the bit.
    preprocessor : transformer, "passthrough" or None, default=None
        Applied before the tower. None standardises.
    modality : {"image", "text"}, default="image"
        The view this encoder encodes; named in error messages.
    code_format : {"bits", "signed", "packed"}, default="bits"
        Format of the codes :meth:`transform` returns.
    batch_size : int, default=1024
        Rows validated and encoded at a time: memory stays bounded on inputs of any size,
        including a ``numpy.memmap`` or a dask array.
    device : str, default="cpu"
        Torch device that runs a torch tower.

    Attributes
    ----------
    preprocessor_ : transformer
        The fitted preprocessor.
    tower_ : torch.nn.Module or LinearProjection
        The hash function.
    n_bits_ : int
        Code length.
    n_features_in_ : int
        Number of input features (the size of the second axis).
    input_shape_ : tuple of int
        Shape of one input sample; more than one axis for a custom tower on raw inputs.
    sparse_input_ : bool
        Whether the encoder was fitted on a sparse view; one fitted on dense rows densifies a
        sparse matrix a batch at a time.

    Examples
    --------
    >>> import pickle
    >>> from sklearn_xmh import CCAITQHasher
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> data = make_cross_modal(n_samples=100, random_state=0)
    >>> hasher = CCAITQHasher(n_bits=16, random_state=0).fit(data.X_image, data.X_text)
    >>> text_encoder = pickle.loads(pickle.dumps(hasher.text_encoder_))  # served alone
    >>> bool((text_encoder.transform(data.X_text) == hasher.transform_text(data.X_text)).all())
    True
    """

    _parameter_constraints: dict = {
        "tower": [callable],
        "preprocessor": [HasMethods(["fit", "transform"]), StrOptions({"passthrough"}), None],
        "modality": [StrOptions({"image", "text"})],
        "code_format": [StrOptions(set(CODE_FORMATS))],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
    }

    def __init__(
        self,
        tower,
        *,
        preprocessor=None,
        modality="image",
        code_format="bits",
        batch_size=1024,
        device="cpu",
    ):
        self.tower = tower
        self.preprocessor = preprocessor
        self.modality = modality
        self.code_format = code_format
        self.batch_size = batch_size
        self.device = device

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the preprocessor on ``X`` and take the tower as the hash function.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features) or (n_samples, ...)
            Inputs of this encoder's view; more than two axes for a custom tower on raw inputs.
        y : None
            Ignored.

        Returns
        -------
        self : ModalityEncoder
        """
        X = validate_view(self, X, view=self.modality, reset=True, allow_nd=True)
        preprocessor = make_preprocessor(self.preprocessor, sparse=is_sparse(X))
        preprocessor.fit(flatten_samples(X), None)
        self._fitted(preprocessor, X.shape[1:], sparse=is_sparse(X))
        self.n_bits_ = self._project(X[:1]).shape[1]
        return self

    def _fitted(self, preprocessor, sample_shape, *, sparse, n_bits=None):
        """Set the fitted state from a fitted ``preprocessor`` and what is known of the view
        (the shape of a sample, whether it is sparse); return ``self``.

        :meth:`fit` calls it after checking ``X``; a hasher calls it with what its own ``fit``
        checked, so that the encoders of a fitted hasher are built without a second validation
        pass over the training rows.
        """
        self.n_features_in_ = int(sample_shape[0])
        self.input_shape_ = tuple(sample_shape)
        self.sparse_input_ = bool(sparse)
        self.preprocessor_ = preprocessor
        self.device_ = resolve_device(self.device)
        self.tower_ = self.tower
        if _is_torch(self.tower_):
            self.tower_.to(self.device_)
        if n_bits is not None:
            self.n_bits_ = int(n_bits)
        return self

    def transform(self, X):
        """Encode ``X`` to binary codes.

        Parameters
        ----------
        X : {array-like, sparse matrix, numpy.memmap, dask array} of shape (n_samples, ...)
            Inputs of this encoder's view, encoded ``batch_size`` rows at a time.

        Returns
        -------
        codes : ndarray
            ``(n_samples, n_bits)`` for ``"bits"`` and ``"signed"``, ``(n_samples,
            ceil(n_bits / 8))`` for ``"packed"``.
        """
        check_is_fitted(self)
        validate = partial(validate_view, self, view=self.modality, reset=False, allow_nd=True)
        return self._encode(X, validate, self.code_format)

    def decision_function(self, X):
        """The real-valued outputs of the tower, before the sign: their signs are the bits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, ...)
            Inputs of this encoder's view.

        Returns
        -------
        outputs : ndarray of shape (n_samples, n_bits), dtype float64
            The tower's outputs on the preprocessed rows.
        """
        check_is_fitted(self)
        X = validate_view(self, X, view=self.modality, reset=False, allow_nd=True)
        return self._project(X).astype(np.float64)

    def _encode(self, X, validate, code_format):
        """Codes of ``X``, validated and encoded ``batch_size`` rows at a time.

        Only one batch of ``X`` is materialised (and converted to float32) at a time, so a
        ``numpy.memmap`` or a dask array larger than memory encodes in bounded memory. Every
        batch goes through ``validate``, which raises the usual errors; empty or malformed
        input is validated whole.
        """
        try:
            n_samples = _num_samples(X)
        except TypeError:
            n_samples = 0
        if n_samples <= self.batch_size:
            return binarize(self._project(validate(X)), code_format)
        return np.concatenate(
            [
                binarize(self._project(validate(_safe_indexing(X, rows))), code_format)
                for rows in gen_batches(n_samples, self.batch_size)
            ]
        )

    def _project(self, X):
        """Real-valued pre-binarisation outputs of already validated ``X``, in batches."""
        if tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"The {self.modality} view's samples have shape {tuple(X.shape[1:])}, but this "
                f"encoder was fitted on samples of shape {self.input_shape_}."
            )
        X = flatten_samples(X)
        # An encoder fitted on dense rows reads a sparse matrix a densified batch at a time
        # (its preprocessor, a centring scaler for example, may refuse sparse input).
        densify = is_sparse(X) and not getattr(self, "sparse_input_", True)
        outputs = [
            self._project_batch(
                self.preprocessor_.transform(as_dense_float32(batch) if densify else batch)
            )
            for batch in (
                X[start : start + self.batch_size]
                for start in range(0, X.shape[0], self.batch_size)
            )
        ]
        if not outputs:
            return np.zeros((0, getattr(self, "n_bits_", 0)), dtype=np.float32)
        return np.concatenate(outputs)

    def _project_batch(self, X):
        if not _is_torch(self.tower_):
            return self.tower_(as_dense_float32(X))
        import torch

        from .nn import SparseLinear
        from .nn.data import to_batch_tensor

        # A sparse batch stays sparse for a tower trained on sparse input (its SparseLinear
        # multiplies only the stored values); any other tower reads the batch densified.
        if is_sparse(X) and not any(isinstance(m, SparseLinear) for m in self.tower_.modules()):
            X = as_dense_float32(X)
        self.tower_.eval()
        with torch.inference_mode():
            return self.tower_(to_batch_tensor(X, self.device_)).cpu().numpy()

    def set_params(self, **params):
        """Set the parameters; on a fitted encoder, ``device`` also moves its tower there.

        Parameters
        ----------
        **params : dict
            Encoder parameters.

        Returns
        -------
        self : ModalityEncoder
        """
        before = self.get_params(deep=False)
        super().set_params(**params)
        if "device" in params and _is_torch(getattr(self, "tower_", None)):
            try:
                device = resolve_device(self.device)
            except ValueError:
                super().set_params(device=before["device"])
                raise
            self.device_ = device
            self.tower_.to(device)
        return self

    @property
    def _n_features_out(self):
        return -(-self.n_bits_ // 8) if self.code_format == "packed" else self.n_bits_

    def __getstate__(self):
        # Torch towers are kept as plain data with CPU numpy weights: any machine can load them,
        # with or without a GPU, and skops can without running pickle code.
        return _convert_towers(dict(super().__getstate__()), _is_torch, module_to_state)

    def __setstate__(self, state):
        super().__setstate__(_convert_towers(dict(state), is_module_state, module_from_state))
        if _is_torch(getattr(self, "tower_", None)):
            self.device_ = loadable_device(self.device_)
            self.tower_.to(self.device_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = []
        return tags


def _convert_towers(state, is_tower, convert):
    """Apply ``convert`` to the ``tower`` and ``tower_`` entries of ``state`` that pass
    ``is_tower``, once per distinct object, so that a shared tower stays shared."""
    done = {}
    for key in ("tower", "tower_"):
        value = state.get(key)
        if is_tower(value):
            if id(value) not in done:
                done[id(value)] = convert(value)
            state[key] = done[id(value)]
    return state


def _is_torch(tower):
    return hasattr(tower, "parameters") and hasattr(tower, "eval")
