"""The two base classes of the hashers, and the parameter descriptions they share.

:class:`BaseCrossModalHasher` owns validation of the two views, per-view preprocessing, the
standalone encoders, ``transform`` / ``transform_text`` / ``score``, parameter constraints and
tags. :class:`BaseDeepHasher` adds training a skorch network: device, seeding, warm start, early
stopping, the NaN-loss guard and persistence. A method subclass declares its parameters, its
torch module, its loss and, where it needs them, the hooks below; nothing else.

Hooks, called in this order by :meth:`BaseCrossModalHasher.fit`:

- ``_prepare_labels(labels, n_samples)``: the labels training receives (None for unsupervised
  methods, which never see them);
- ``_check_training_views(image, text)``: method-specific checks of the training views;
- ``_training_inputs(X, y)``: further inputs a loss reads (DJSRH's affinity features);
- ``_fit_towers(image, text, labels, random_state)``: learn the two hash functions. The deep
  base class implements it as the training driver, which in turn calls ``_build_module``,
  ``_build_loss``, ``_net_params``, ``_net_class`` and ``_method_callbacks``.
"""

import copy
import copyreg
import warnings
from abc import ABCMeta, abstractmethod
from contextlib import contextmanager
from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.frozen import FrozenEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._encoders import ModalityEncoder, fit_preprocessor, make_preprocessor
from .utils._codes import CODE_FORMATS
from .utils._validation import (
    check_int_parameters,
    check_labels,
    is_sparse,
    loadable_device,
    resolve_device,
    validate_view,
    validate_views,
)
from .utils._views import TrainingView, read_block


@contextmanager
def _restored_on_error(estimator):
    """Put back every attribute of ``estimator`` if the block raises: a failed call never leaves a
    half-updated model behind."""
    state = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(state)
        raise


class BaseCrossModalHasher(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator, metaclass=ABCMeta
):
    """Base class of the cross-modal hashers.

    ``fit(X, y)`` takes the image view as ``X`` and the text view as ``y``, so that scikit-learn's
    model selection slices the two views together. ``transform`` encodes images, ``transform_text``
    encodes texts, into one Hamming space.

    Subclasses implement :meth:`_fit_towers`, which learns the two hash functions from the
    preprocessed views, and may override the hooks :meth:`_prepare_labels` and
    :meth:`_check_training_views`. Supervised subclasses set ``_requires_labels = True``.

    Examples
    --------
    >>> from sklearn_xmh import BaseCrossModalHasher, all_estimators
    >>> all(issubclass(cls, BaseCrossModalHasher) for _, cls in all_estimators())
    True
    """

    _requires_labels = False

    _parameter_constraints: dict = {
        "n_bits": [Interval(Integral, 1, None, closed="left")],
        "image_preprocessor": [HasMethods(["fit", "transform"]), StrOptions({"passthrough"}), None],
        "text_preprocessor": [HasMethods(["fit", "transform"]), StrOptions({"passthrough"}), None],
        "code_format": [StrOptions(set(CODE_FORMATS))],
        "random_state": ["random_state"],
    }

    def _prepare_labels(self, labels, n_samples):
        """Hook: the labels that :meth:`_fit_towers` receives.

        Unsupervised methods never see labels (None); a supervised method gets them checked,
        and raises when they are missing.
        """
        if not self._requires_labels:
            return None
        return check_labels(labels, n_samples, required=True, estimator=self)

    def _check_training_views(self, image, text):
        """Hook: method-specific checks of the training views, two
        :class:`~sklearn_xmh.utils._views.TrainingView` (preprocessed batches); raise ValueError."""

    def _training_inputs(self, X, y):
        """Hook: further training inputs, from the views as given (wrap them in a
        :class:`~sklearn_xmh.utils._views.TrainingView` without preprocessor to read their rows).

        They reach :meth:`_fit_towers` as keyword arguments; a deep hasher's loss finds them
        in its batches beside the preprocessed views (DJSRH's affinity reads the features as
        given, while its towers read them standardised).
        """
        return {}

    @abstractmethod
    def _fit_towers(self, image, text, labels, random_state):
        """Learn the hash functions; return ``(image_tower, text_tower)``.

        ``image`` and ``text`` are :class:`~sklearn_xmh.utils._views.TrainingView` objects,
        which read preprocessed float32 batches (CSR for a sparse view) and can
        :meth:`~sklearn_xmh.utils._views.TrainingView.materialize` the whole view; ``labels``
        is what :meth:`_prepare_labels` returned. Each tower maps a batch of preprocessed rows
        to real pre-binarisation outputs ``(n, n_bits)`` whose signs are the bits.
        """

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, labels=None):
        """Learn hash functions for the image view ``X`` and the text view ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_image_features)
            Image view.
        y : {array-like, sparse matrix} of shape (n_samples, n_text_features)
            Text view, paired row by row with ``X``. Required despite its slot: it sits where
            scikit-learn's model selection slices it together with ``X``.
        labels : array-like of shape (n_samples,) or (n_samples, n_classes), default=None
            Class ids or multi-hot labels. Used by supervised methods only; unsupervised methods
            ignore them, so one routed ``labels`` can feed any hasher. Route it with
            ``set_fit_request(labels=True)`` under metadata routing.

        Returns
        -------
        self : object
            The fitted hasher.
        """
        with _restored_on_error(self):
            check_int_parameters(self)
            X, y = validate_views(self, X, y, allow_nd=self._allow_nd())
            labels = self._prepare_labels(labels, X.shape[0])
            random_state = check_random_state(self.random_state)
            # Towers train on flat rows; a custom module gets each sample's shape back.
            self._input_shapes = {"image": X.shape[1:], "text": y.shape[1:]}
            self.image_preprocessor_ = fit_preprocessor(
                make_preprocessor(self.image_preprocessor, sparse=is_sparse(X)), X
            )
            self.text_preprocessor_ = fit_preprocessor(
                make_preprocessor(self.text_preprocessor, sparse=is_sparse(y)), y
            )
            # The views stay as given (sparse stays sparse, out-of-core stays on disk); the
            # towers read them a batch at a time through the fitted preprocessors.
            image = TrainingView(X, self.image_preprocessor_)
            text = TrainingView(y, self.text_preprocessor_)
            self._check_training_views(image, text)
            inputs = self._training_inputs(X, y)
            image_tower, text_tower = self._fit_towers(image, text, labels, random_state, **inputs)
            self.image_encoder_ = self._make_encoder(
                image_tower, self.image_preprocessor_, "image", X
            )
            self.text_encoder_ = self._make_encoder(text_tower, self.text_preprocessor_, "text", y)
            self.n_text_features_in_ = y.shape[1]
        self._warn_if_degenerate(X, y)
        return self

    def _warn_if_degenerate(self, X, y, n_rows=256):
        """Warn when the fitted model gives every training pair's view the same code: one
        training pair, a constant view, or a network that collapsed."""
        if X.shape[0] < 2:
            warnings.warn(
                f"{type(self).__name__} was fitted on a single pair: it gives every input the "
                "same code. Fit on many pairs.",
                UserWarning,
                stacklevel=3,
            )
            return
        rows = min(X.shape[0], n_rows)
        for view, data, encode in (("image", X, self.transform), ("text", y, self.transform_text)):
            sample = read_block(data, 0, rows)
            codes = encode(sample)
            if not (codes == codes[:1]).all():
                continue
            if is_sparse(sample):
                sample = sample.tocsr()
                constant = (sample != sample[np.zeros(rows, dtype=np.intp)]).nnz == 0
            else:
                constant = (sample == sample[:1]).all()
            reason = (
                f"the {view} view's first {rows} training rows are identical"
                if constant
                else (
                    "the training collapsed (check hidden_layer_sizes, the learning rate and "
                    "weight_decay)"
                )
            )
            warnings.warn(
                f"{type(self).__name__} gives all of the first {rows} training pairs the same "
                f"{view} code: {reason}.",
                UserWarning,
                stacklevel=3,
            )

    def _make_encoder(self, tower, preprocessor, modality, X):
        # The preprocessor is frozen, so the encoder's fit only needs the shape of a sample.
        return ModalityEncoder(
            tower,
            preprocessor=FrozenEstimator(preprocessor),
            modality=modality,
            code_format=self.code_format,
            device=getattr(self, "device_", "cpu"),
        ).fit(read_block(X, 0, min(2, X.shape[0])))

    def _allow_nd(self):
        return (False, False)

    def transform(self, X):
        """Encode images to binary codes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_image_features)
            Image view.

        Returns
        -------
        codes : ndarray
            Image codes in ``code_format``: ``(n_samples, n_bits)`` uint8 bits or float32 signs,
            or ``(n_samples, ceil(n_bits / 8))`` packed bytes.
        """
        check_is_fitted(self)
        validate = partial(
            validate_view, self, view="image", reset=False, allow_nd=self._allow_nd()[0]
        )
        return self.image_encoder_._encode(X, validate, self.code_format)

    def transform_text(self, X):
        """Encode texts to binary codes in the same Hamming space as :meth:`transform`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_text_features)
            Text view.

        Returns
        -------
        codes : ndarray
            Text codes in ``code_format``.
        """
        check_is_fitted(self)
        encoder = self.text_encoder_
        validate = partial(
            validate_view, encoder, view="text", reset=False, allow_nd=self._allow_nd()[1]
        )
        return encoder._encode(X, validate, self.code_format)

    def score(self, X, y=None, *, labels=None, sample_weight=None):
        """Mean of image-to-text and text-to-image mAP@all on ``(X, y)``.

        Each image of ``X`` queries the texts of ``y`` and each text queries the images, by Hamming
        ranking with stable ties. An item is relevant when it shares a label with the query, or,
        without ``labels``, when it is the query's own pair.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_image_features)
            Image view.
        y : {array-like, sparse matrix} of shape (n_samples, n_text_features)
            Text view.
        labels : array-like of shape (n_samples,) or (n_samples, n_classes), default=None
            Class ids or multi-hot labels; None scores pair retrieval.
        sample_weight : None
            Accepted because ``Pipeline.score`` forwards ``sample_weight=None``; weighted
            retrieval scores are not defined, so any other value raises.

        Returns
        -------
        score : float
        """
        from .metrics import cross_modal_map

        if sample_weight is not None:
            raise ValueError(
                f"{type(self).__name__}.score does not support sample_weight: mAP weighs every "
                "query equally. Pass sample_weight=None."
            )
        return cross_modal_map(self, X, y, labels=labels)

    @property
    def _n_features_out(self):
        return -(-self.n_bits // 8) if self.code_format == "packed" else self.n_bits

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.transformer_tags.preserves_dtype = []
        tags.input_tags.sparse = True
        return tags


class BaseDeepHasher(BaseCrossModalHasher):
    """Base class of the hashers trained as a skorch network.

    A subclass declares :meth:`_build_module` (a :class:`~sklearn_xmh.nn.CrossModalModule`,
    whose contract this class relies on) and :meth:`_build_loss`. It may extend
    :meth:`_net_params` with skorch keyword arguments (optimizer, parameter groups, iterator
    options), add method callbacks in :meth:`_method_callbacks`, and name a
    :class:`~sklearn_xmh.nn.CrossModalNet` subclass in :meth:`_net_class` (for example one with
    a custom ``train_step``). Its :meth:`_fit_towers` is the training driver, not a hook.

    Every deep hasher takes ``image_module`` / ``text_module``: a torch module class (configured by
    ``image_module__*`` / ``text_module__*`` keyword arguments, in skorch's style) or instance that
    replaces a view's default feature MLP. The method asks for it with :meth:`_view_net`, which
    wraps it in a :class:`~sklearn_xmh.nn.ModuleTower`; with a custom module, that view may have
    more than two axes (raw pixels for a CNN).
    """

    _parameter_constraints: dict = {
        **BaseCrossModalHasher._parameter_constraints,
        "image_module": [callable, None],
        "text_module": [callable, None],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "cuda_graph": [StrOptions({"auto"}), "boolean"],
        "accelerator": [HasMethods(["prepare"]), None],
        "callbacks": [list, None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    @abstractmethod
    def _build_module(self, n_image_features, n_text_features):
        """Return the :class:`~sklearn_xmh.nn.CrossModalModule` to train."""

    # ---- user-supplied towers: ``image_module``, ``text_module`` and their ``*__`` arguments ----

    def _set_module_params(self, kwargs):
        """Keep the extra keyword arguments of ``__init__``.

        As in skorch, ``image_module__*`` / ``text_module__*`` arguments configure the module
        classes. Like every parameter they are stored as given and validated in ``fit``, which
        rejects any other extra keyword.
        """
        self._extra_params = tuple(kwargs)
        for key, value in kwargs.items():
            setattr(self, key, value)

    def _module_params(self, view):
        prefix = f"{view}_module__"
        return {
            key[len(prefix) :]: getattr(self, key)
            for key in self._extra_params
            if key.startswith(prefix)
        }

    def get_params(self, deep=True):
        """Get the parameters, including the ``image_module__*`` / ``text_module__*`` ones.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of contained estimators.

        Returns
        -------
        params : dict
        """
        extra = {key: getattr(self, key) for key in getattr(self, "_extra_params", ())}
        return {**super().get_params(deep=deep), **extra}

    def set_params(self, **params):
        """Set the parameters, including ``image_module__*`` / ``text_module__*`` ones.

        On a fitted model, ``device`` also moves the two encoders there, so that a model fitted
        on a CPU can encode on a GPU (``set_params(device="cuda")``) and back; a device this
        machine does not have raises a ValueError and changes nothing.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
        """
        known = getattr(self, "_extra_params", ())
        extra = {
            key: params.pop(key)
            for key in list(params)
            if key in known or key.startswith(_MODULE_PREFIXES)
        }
        with _restored_on_error(self):
            super().set_params(**params)
            self._extra_params = (*known, *(key for key in extra if key not in known))
            for key, value in extra.items():
                setattr(self, key, value)
            if "device" in params and hasattr(self, "image_encoder_"):
                # A fitted model moves its encoders: it encodes on the new device from now on
                # (a model fitted on a CPU encodes on a GPU), and trains there on warm_start.
                for encoder in (self.image_encoder_, self.text_encoder_):
                    encoder.set_params(device=self.device)
                self.device_ = self.image_encoder_.device_
        return self

    def _check_extra_params(self):
        unknown = [key for key in self._extra_params if not key.startswith(_MODULE_PREFIXES)]
        if unknown:
            raise ValueError(
                f"{type(self).__name__} got unexpected parameters {unknown}; only "
                "image_module__* and text_module__* arguments may be added to its own."
            )
        for view in ("image", "text"):
            if getattr(self, f"{view}_module") is None and self._module_params(view):
                raise ValueError(
                    f"{view}_module__* arguments {sorted(self._module_params(view))} were "
                    f"given, but {view}_module is None."
                )

    def _allow_nd(self):
        return (self.image_module is not None, self.text_module is not None)

    def _view_net(self, view, out_features, activation=None):
        """The user's module for ``view`` as a tower to ``out_features``, or None for the
        method's default MLP.

        A class is built with its ``{view}_module__*`` arguments; an instance is copied, so that
        every fit starts from the same weights.
        """
        import torch

        from .nn import ModuleTower

        module = getattr(self, f"{view}_module")
        kwargs = self._module_params(view)
        if module is None:
            return None
        if isinstance(module, type):
            module = module(**kwargs)
        elif kwargs:
            raise ValueError(
                f"{view}_module is a module instance, so the {view}_module__* arguments "
                f"{sorted(kwargs)} cannot configure it; pass its class instead."
            )
        else:
            module = copy.deepcopy(module)
        if not isinstance(module, torch.nn.Module):
            raise ValueError(
                f"{view}_module must be a torch.nn.Module class or instance, got "
                f"{type(module).__name__}."
            )
        return ModuleTower(module, self._input_shapes[view], out_features, activation)

    @abstractmethod
    def _build_loss(self):
        """Return the loss module, called as ``loss(y_pred, y_true, X)``."""

    def _net_params(self):
        """Keyword arguments of the skorch net; subclasses extend or replace this dict.

        The default trains with Adam at the method's ``learning_rate``; a method with other
        learning rates (DJSRH's per-tower rates) returns its own ``lr`` and parameter groups
        instead.
        """
        import torch

        return {
            "optimizer": torch.optim.Adam,
            "lr": self.learning_rate,
            "optimizer__weight_decay": self.weight_decay,
            "iterator_train__shuffle": True,
        }

    def _net_class(self):
        from .nn import CrossModalNet

        return CrossModalNet

    def _method_callbacks(self):
        """``(name, callback)`` pairs the method itself needs (schedules, logging)."""
        return []

    def _make_net(self, image, text):
        from skorch.callbacks import EarlyStopping, ProgressBar
        from skorch.dataset import ValidSplit

        from .nn import CrossModalModule, NonFiniteLossGuard, accelerated

        module = self._build_module(image.n_features, text.n_features)
        if not isinstance(module, CrossModalModule):
            raise TypeError(
                f"{type(self).__name__}._build_module must return a CrossModalModule, got "
                f"{type(module).__name__}."
            )
        callbacks = [("non_finite_loss_guard", NonFiniteLossGuard()), *self._method_callbacks()]
        if self.validation_fraction is not None:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss", patience=self.n_iter_no_change, load_best=True
                    ),
                )
            )
        if self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        callbacks.extend(copy.deepcopy(self.callbacks or []))
        net_class, placement = self._net_class(), {"device": self.device_}
        if self.accelerator is not None:
            # The accelerator places the tensors and shards the batches over the processes.
            net_class = accelerated(net_class)
            placement = {"device": None, "accelerator": self.accelerator}
            if not self.verbose:
                # skorch's epoch log prints to any sink but ``print`` whatever ``verbose``
                # says, and AccelerateMixin's default sink is the accelerator's main-process
                # print: keep ``print`` for a silent fit.
                placement["callbacks__print_log__sink"] = print
        params = self._net_params()
        sparse_views = tuple(
            name for name, view in (("image", image), ("text", text)) if view.sparse
        )
        if sparse_views and self.accelerator is None and self.device_ == "cpu":
            # On the CPU a dense step of a wide sparse-input layer costs far more than the
            # batch; a GPU streams it at memory speed, and waits on nothing.
            params = _lazy_optimizers(params)
        cuda_graph = self._cuda_graph(sparse_views)
        if cuda_graph is not False and self.device_.startswith("cuda"):
            params = _capturable_optimizers(params)
        return net_class(
            module=module,
            criterion=self._build_loss(),
            sparse_views=sparse_views,
            cuda_graph=cuda_graph,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=(
                None if self.validation_fraction is None else ValidSplit(self.validation_fraction)
            ),
            callbacks=callbacks,
            verbose=int(self.verbose),
            **placement,
            **params,
        )

    def _cuda_graph(self, sparse_views):
        """The net's ``cuda_graph``: False where capture cannot apply for reasons the hasher
        knows (the net checks the device and the views' residency itself)."""
        from .nn.net import batch_hooks

        reasons = {
            "the device is not a CUDA device": not self.device_.startswith("cuda"),
            "accelerator is set": self.accelerator is not None,
            "validation_fraction is set": self.validation_fraction is not None,
            "callbacks have batch hooks (they are not called under replay)": any(
                batch_hooks(callback) for callback in self.callbacks or []
            ),
            "verbose >= 2 shows a progress bar per batch": self.verbose >= 2,
            f"the views {list(sparse_views)} are sparse": bool(sparse_views),
        }
        blocking = [reason for reason, applies in reasons.items() if applies]
        if not blocking:
            return self.cuda_graph
        if self.cuda_graph is True:
            raise ValueError(
                "cuda_graph=True, but the training step cannot be captured: "
                + "; ".join(blocking)
                + ". Use cuda_graph='auto' to train eagerly where capture does not apply."
            )
        return False

    # ---- persistence ----

    def __reduce_ex__(self, protocol):
        # pickle, joblib and copy keep the whole estimator, the training net included.
        return copyreg.__newobj__, (type(self),), dict(super().__getstate__())

    def __getstate__(self):
        # What skops reads: all that encoding needs, as plain data. The training net is left
        # out (its optimizer and callbacks have no safe plain-data form), so a model loaded
        # with skops encodes exactly but restarts training on ``warm_start``.
        state = dict(super().__getstate__())
        state.pop("net_", None)
        if "history_" in state:
            state["history_"] = list(state["history_"])
        return state

    def __setstate__(self, state):
        from skorch.history import History

        state = dict(state)
        if "history_" in state and not isinstance(state["history_"], History):
            state["history_"] = History(state["history_"])
        super().__setstate__(state)
        # A model fitted on a GPU loads on a machine without one: it then encodes on the CPU
        # (its encoders and skorch's net fall back the same way, each with a warning).
        if hasattr(self, "device_"):
            self.device_ = loadable_device(self.device_)

    def _fit_towers(self, image, text, labels, random_state, **inputs):
        import torch

        self._check_extra_params()
        self.device_ = (
            resolve_device(self.device)
            if self.accelerator is None
            else str(self.accelerator.device)
        )
        seed = int(random_state.randint(np.iinfo(np.int32).max))
        data = {"image": image, "text": text, **inputs}
        continuing = self.warm_start and hasattr(self, "net_")
        trained = continuing and (
            self.net_.module_.n_image_features,
            self.net_.module_.n_text_features,
        )
        if continuing and trained != (image.n_features, text.n_features):
            warnings.warn(
                f"warm_start=True, but the views now have {(image.n_features, text.n_features)} "
                f"(image, text) features where the trained network has {trained}: training "
                "starts afresh.",
                UserWarning,
                stacklevel=4,
            )
            continuing = False
        cuda = [torch.device(self.device_).index or 0] if self.device_.startswith("cuda") else []
        # Seed torch (weights, batch order, dropout) without touching the caller's global RNG.
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)
            if continuing:
                net = copy.deepcopy(self.net_)
                net.set_params(max_epochs=self.max_epochs)
                if self.accelerator is None:
                    from .nn.net import move_net

                    move_net(net, self.device_)
                net.partial_fit(data, labels)
            else:
                net = self._make_net(image, text)
                net.fit(data, labels)
        if self.accelerator is not None:
            from .nn.net import broadcast_buffers

            broadcast_buffers(net.module_)
        self.net_ = net
        self.history_ = net.history
        net.module_.eval()
        return net.module_.image_tower(), net.module_.text_tower()


_MODULE_PREFIXES = ("image_module__", "text_module__")


def _capturable_optimizers(params):
    """Net parameters with ``capturable=True`` for every optimizer that has the option (Adam):
    its step count then lives on the device, as a CUDA graph needs."""
    import inspect

    extra = {}
    for key, value in params.items():
        if (key == "optimizer" or key.startswith("optimizer_")) and "__" not in key:
            if "capturable" in inspect.signature(value).parameters:
                extra[f"{key}__capturable"] = True
    return {**params, **extra}


def _lazy_optimizers(params):
    """Net parameters with every plain SGD optimizer replaced by :class:`~sklearn_xmh.nn.LazySGD`,
    which steps a sparse view's first layer on the rows of the batch only, as SGD would."""
    import torch

    from .nn import LazySGD

    return {
        key: LazySGD
        if (key == "optimizer" or key.startswith("optimizer_"))
        and "__" not in key
        and value is torch.optim.SGD
        else value
        for key, value in params.items()
    }
