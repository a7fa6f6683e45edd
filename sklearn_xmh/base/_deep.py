"""The base class of the hashers trained as a skorch network.

:class:`BaseDeepHasher` adds training to :class:`~sklearn_xmh.base.BaseCrossModalHasher`:
device, seeding, warm start, early stopping, the NaN-loss guard, CUDA graphs and persistence.
A method declares its parameters, its torch module and its loss and, where it needs them, the
hooks below; nothing else. Its ``_fit_towers`` is the training driver, which calls, with what
each decides on:

- ``_build_module(image, text)``: the :class:`~sklearn_xmh.nn.CrossModalModule` for the two
  training views (their ``n_features`` and ``sample_shape``);
- ``_build_loss()``: the loss module;
- ``_net_params(image, text)``: skorch keyword arguments (optimizer, learning rates, parameter
  groups, iterator options) on top of the shared ones;
- ``_net_class()``: the :class:`~sklearn_xmh.nn.CrossModalNet` subclass;
- ``_method_callbacks()``: the callbacks the method itself needs.
"""

import copy
import copyreg
import warnings
from abc import abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ..utils._validation import loadable_device, resolve_device
from ._hasher import BaseCrossModalHasher, restored_on_error


class BaseDeepHasher(BaseCrossModalHasher):
    """Base class of the hashers trained as a skorch network.

    A subclass declares :meth:`_build_module` (a :class:`~sklearn_xmh.nn.CrossModalModule`,
    whose contract this class relies on) and :meth:`_build_loss`. It may extend
    :meth:`_net_params` with skorch keyword arguments (optimizer, parameter groups, iterator
    options, its learning rates), add method callbacks in :meth:`_method_callbacks`, and name a
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
    def _build_module(self, image, text):
        """Return the :class:`~sklearn_xmh.nn.CrossModalModule` to train on the two training
        views (:class:`~sklearn_xmh.utils._views.TrainingView`)."""

    def _check_params(self):
        super()._check_params()
        self._check_extra_params()

    def _training_device(self):
        """The device the network trains on: ``device``, or the accelerator's."""
        if self.accelerator is not None:
            return str(self.accelerator.device)
        return resolve_device(self.device)

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
        with restored_on_error(self):
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

    def _view_net(self, view, sample_shape, out_features, activation=None):
        """The user's module for ``view`` (``"image"`` or ``"text"``, whose samples have shape
        ``sample_shape``) as a tower to ``out_features``, or None for the method's default MLP.

        A class is built with its ``{view}_module__*`` arguments; an instance is copied, so that
        every fit starts from the same weights.
        """
        import torch

        from ..nn import ModuleTower

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
        return ModuleTower(module, sample_shape, out_features, activation)

    @abstractmethod
    def _build_loss(self):
        """Return the loss module, called as ``loss(y_pred, y_true, X)``."""

    def _net_params(self, image, text):
        """Keyword arguments of the skorch net for the two training views; a method extends
        this dict with its learning rates (``lr``, parameter groups) and anything else its net
        takes.

        The shared part: Adam with the ``weight_decay`` every deep hasher has, and batches
        shuffled every epoch.
        """
        import torch

        return {
            "optimizer": torch.optim.Adam,
            "optimizer__weight_decay": self.weight_decay,
            "iterator_train__shuffle": True,
        }

    def _net_class(self):
        from ..nn import CrossModalNet

        return CrossModalNet

    def _method_callbacks(self):
        """``(name, callback)`` pairs the method itself needs (schedules, logging)."""
        return []

    def _callbacks(self):
        """The net's callbacks: the NaN-loss guard, the method's, early stopping and the
        progress bar where asked for, then a copy of the user's."""
        from skorch.callbacks import EarlyStopping, ProgressBar

        from ..nn import NonFiniteLossGuard

        callbacks = [("non_finite_loss_guard", NonFiniteLossGuard()), *self._method_callbacks()]
        if self.validation_fraction is not None:
            stopping = EarlyStopping(
                monitor="valid_loss", patience=self.n_iter_no_change, load_best=True
            )
            callbacks.append(("early_stopping", stopping))
        if self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        callbacks.extend(copy.deepcopy(self.callbacks or []))
        return callbacks

    def _make_net(self, image, text, device):
        """The skorch net that trains the module for ``image`` and ``text`` on ``device``."""
        from skorch.dataset import ValidSplit

        from ..nn import CrossModalModule, accelerated

        module = self._build_module(image, text)
        if not isinstance(module, CrossModalModule):
            raise TypeError(
                f"{type(self).__name__}._build_module must return a CrossModalModule, got "
                f"{type(module).__name__}."
            )
        net_class, placement = self._net_class(), {"device": device}
        if self.accelerator is not None:
            # The accelerator places the tensors and shards the batches over the processes.
            net_class = accelerated(net_class)
            placement = {"device": None, "accelerator": self.accelerator}
            if not self.verbose:
                # skorch's epoch log prints to any sink but ``print`` whatever ``verbose``
                # says, and AccelerateMixin's default sink is the accelerator's main-process
                # print: keep ``print`` for a silent fit.
                placement["callbacks__print_log__sink"] = print
        params = self._net_params(image, text)
        sparse_views = tuple(
            name for name, view in (("image", image), ("text", text)) if view.sparse
        )
        if sparse_views and self.accelerator is None and device == "cpu":
            # On the CPU a dense step of a wide sparse-input layer costs far more than the
            # batch; a GPU streams it at memory speed, and waits on nothing.
            params = _lazy_optimizers(params)
        cuda_graph = self._cuda_graph(sparse_views)
        if cuda_graph is not False and device.startswith("cuda"):
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
            callbacks=self._callbacks(),
            verbose=int(self.verbose),
            **placement,
            **params,
        )

    def _cuda_graph(self, sparse_views):
        """The net's ``cuda_graph``: False where capture cannot apply for reasons the hasher
        knows, on the ``device_`` this fit trains on (the net checks the device and the views'
        residency itself)."""
        from ..nn.net import batch_hooks

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

    def _fit_towers(self, image, text, labels, random_state, *, device, **inputs):
        import torch

        self.device_ = device
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
        cuda = [torch.device(device).index or 0] if device.startswith("cuda") else []
        # Seed torch (weights, batch order, dropout) without touching the caller's global RNG.
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)
            if continuing:
                net = copy.deepcopy(self.net_)
                net.set_params(max_epochs=self.max_epochs)
                if self.accelerator is None:
                    from ..nn.net import move_net

                    move_net(net, device)
                net.partial_fit(data, labels)
            else:
                net = self._make_net(image, text, device)
                net.fit(data, labels)
        if self.accelerator is not None:
            from ..nn.net import broadcast_buffers

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

    from ..nn import LazySGD

    return {
        key: LazySGD
        if (key == "optimizer" or key.startswith("optimizer_"))
        and "__" not in key
        and value is torch.optim.SGD
        else value
        for key, value in params.items()
    }
