"""The skorch network that every deep hasher trains, and its training callbacks."""

from contextlib import contextmanager

import numpy as np
from sklearn.utils._param_validation import validate_params
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import get_len
from skorch.hf import AccelerateMixin
from skorch.utils import to_tensor
from torch import nn
from torch.utils.data import DataLoader

from ..utils._validation import loadable_device
from ._graphs import CapturedStep, can_capture


class CrossModalNet(NeuralNet):
    """A skorch :class:`~skorch.NeuralNet` over paired views.

    ``X`` is a dict ``{"image": ..., "text": ...}`` that skorch passes to the module's ``forward``
    as keyword arguments, and ``y`` holds labels for supervised methods (None otherwise). The
    criterion is a loss module called as ``criterion(y_pred, y_true, X)``, so that a loss can see
    the inputs (reconstruction targets, batch affinities) as well as the outputs.

    The views may be arrays or :class:`~sklearn_xmh.utils._views.TrainingView` objects (sparse,
    or out of core); a :class:`~sklearn_xmh.nn.CrossModalDataset` reads each mini-batch in one
    go, a sparse view's as a sparse tensor. Every batch also carries ``X["index"]``, the
    training row of each sample, so that a loss or a training step can look up state kept over
    the whole training set (a graph, a memory bank), and ``X`` may hold further inputs that
    only the loss reads (DJSRH's affinity features). The module's ``forward`` sees only
    ``image`` and ``text``.

    Parameters
    ----------
    module, criterion, **kwargs
        As for :class:`skorch.NeuralNet`.
    sparse_views : tuple of str
        The views whose batches are sparse: the first layer of their default towers becomes a
        :class:`~sklearn_xmh.nn.SparseLinear` (see :func:`~sklearn_xmh.nn.sparse_inputs`), with
        sparse gradients when the optimizer is a :class:`~sklearn_xmh.nn.LazySGD`.
    cuda_graph : {"auto"} or bool
        Whether training steps are captured once as CUDA graphs and replayed
        (:mod:`~sklearn_xmh.nn._graphs`): ``"auto"`` does so on a CUDA device when the views
        are held there and no validation split is taken, and trains eagerly otherwise; True
        raises when capture does not apply; False always trains eagerly.

    Notes
    -----
    The history keeps one row per epoch and step kind (``train``, ``valid``, UGACH's
    ``generator``), the batches' mean loss weighted by their sizes: the loss is summed on the
    device and read once per epoch, so that no step waits for the host.
    """

    def __init__(self, module, *args, sparse_views, cuda_graph, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.sparse_views = sparse_views
        self.cuda_graph = cuda_graph

    def _sparse_grad(self, optimizer):
        from .optim import LazySGD

        return isinstance(optimizer, type) and issubclass(optimizer, LazySGD)

    def initialize_module(self):
        super().initialize_module()
        if self.sparse_views:
            from .layers import sparse_inputs

            sparse_inputs(
                self.module_, self.sparse_views, sparse_grad=self._sparse_grad(self.optimizer)
            )
        return self

    def get_dataset(self, X, y=None):
        from .data import CrossModalDataset

        if isinstance(X, dict):
            # Held on the net's device where they fit: batches are gathered there by index.
            return CrossModalDataset(X, y, device=self.device)
        return super().get_dataset(X, y)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        self._captured = {}
        try:
            with self.training_state(X, y):
                return super().fit_loop(X, y, epochs=epochs, **fit_params)
        finally:
            del self._captured  # the graphs hold device memory: training state only

    def capture_variant(self, prefix):
        """Hook: what a step of kind ``prefix`` decides in Python without reading its batch;
        each value gets its own captured graph (UGACH: pre-training or adversarial)."""
        return None

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """One epoch of ``step_fn`` over ``iterator``, recorded as one history row.

        On a CUDA device the training steps are replayed from a captured graph where that
        applies (``cuda_graph``); otherwise each batch runs eagerly, with skorch's batch
        callbacks. Either way the loss is summed on the device and read once.
        """
        if iterator is None:
            return
        reason = can_capture(self, iterator, training) if self.cuda_graph else "cuda_graph=False"
        if reason is not None and training and self.cuda_graph is True:
            raise ValueError(
                f"cuda_graph=True, but the training step cannot be captured: {reason}."
            )
        if reason is None:
            captured = getattr(self, "_captured", {})
            if prefix not in captured:
                captured[prefix] = CapturedStep(self, step_fn, required=self.cuda_graph is True)
            total, n_samples, n_batches = captured[prefix].run_epoch(
                iterator, fit_params, self.capture_variant(prefix)
            )
        else:
            total, n_samples, n_batches = self._eager_epoch(iterator, training, step_fn, fit_params)
        # skorch opens a history row per batch (on_batch_begin); the epoch keeps one.
        rows = self.history[-1]["batches"]
        rows[:] = [row for row in rows if row]
        if n_batches:
            self.history.new_batch()
            self.history.record_batch(prefix + "_loss", float(total) / n_samples)
            self.history.record_batch(prefix + "_batch_size", n_samples)
        self.history.record(prefix + "_batch_count", n_batches)
        if training:
            flush_lazy_optimizers(self)

    def _eager_epoch(self, iterator, training, step_fn, fit_params):
        total, n_samples, n_batches = 0.0, 0, 0
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            size = get_len(batch[0])
            total = step["loss"].detach() * size + total
            n_samples, n_batches = n_samples + size, n_batches + 1
            self.notify("on_batch_end", batch=batch, training=training, **step)
        return total, n_samples, n_batches

    @contextmanager
    def training_state(self, X, y=None):
        """Hook: state a training step reads beside its batch, over the whole training set
        (UGACH's graph and views, CHN's memory bank), set up for one :meth:`fit_loop` and
        removed after it, so that it is neither pickled nor kept. Override as a context
        manager; the default holds nothing."""
        yield

    def health(self, preprocessed, *, n_queries, pool_size, random_state):
        """The health figures of the trained mechanism, a dict: the module's own
        (:meth:`CrossModalModule.health <sklearn_xmh.nn.CrossModalModule.health>`), and any a
        net adds for what it trains beside the module (UGACH's generator).

        Parameters
        ----------
        preprocessed : callable
            ``preprocessed(view)`` returns the training view ``"image"`` or ``"text"``,
            preprocessed and dense; called only by a net that needs the views.
        n_queries : int
            Queries sampled, where a figure samples them.
        pool_size : int or None
            Candidate pool of a sampling policy; None takes the net's own.
        random_state : RandomState instance
            Seeds what is sampled.
        """
        return dict(self.module_.health())

    def infer(self, x, **fit_params):
        if isinstance(x, dict):
            x = {key: x[key] for key in ("image", "text")}
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        X, y_true = self._on_device(X, y_true)
        return self.criterion_(y_pred, y_true, X)

    def _on_device(self, *tensors):
        """``tensors`` (a batch's ``X`` dict, its labels) on the net's device.

        skorch moves only what goes through :meth:`infer`; a loss also reads the batch's
        inputs (reconstruction targets, affinity features, row indices) and its labels, which
        the data loader leaves on the CPU. Under an accelerator (``device=None``) the prepared
        data loader has placed them already.
        """
        if self.device is None:
            return tensors
        return tuple(None if t is None else to_tensor(t, device=self.device) for t in tensors)

    def __getstate__(self):
        # skorch maps its registered modules (``module_``, ``criterion_``, ...) to a machine
        # without the fitting device when loading, but pickles every other attribute as is. A
        # module passed as an instance (``module``, ``criterion``, ``generator`` and their
        # ``*__`` arguments) is the very object that was trained, with the device's tensors:
        # it goes through skorch's device mapping too.
        registered = tuple(self.cuda_dependent_attributes_)
        instances = [
            key
            for key, value in vars(self).items()
            if isinstance(value, nn.Module) and not key.startswith(registered)
        ]
        if not instances:
            return super().__getstate__()
        self.cuda_dependent_attributes_ = [*registered, *instances]
        try:
            state = super().__getstate__()
        finally:
            self.cuda_dependent_attributes_ = list(registered)
        state["cuda_dependent_attributes_"] = list(registered)
        return state

    def __setstate__(self, state):
        # A GPU-fitted net loads on the CPU of a machine without the GPU: the library's one
        # warning says so (skorch's own DeviceWarning would say it again).
        if state.get("device") is not None:
            state = {**state, "device": loadable_device(str(state["device"]))}
        super().__setstate__(state)

    def get_iterator(self, dataset, training=False):
        """Mini-batches of ``dataset``, each read in one go when it is a
        :class:`~sklearn_xmh.nn.CrossModalDataset` (or a subset of one).

        The batches are those of a :class:`~torch.utils.data.DataLoader` with skorch's
        ``iterator_train__*`` / ``iterator_valid__*`` options (the same rows in the same order,
        for the same seed). ``iterator_train__drop_last=True`` keeps the last incomplete batch
        when it is the only one: dropping it would leave nothing to train on.
        """
        from torch.utils.data import BatchSampler, RandomSampler, SequentialSampler

        if not _reads_batches(dataset):
            return super().get_iterator(dataset, training=training)
        kwargs = self.get_params_for("iterator_train" if training else "iterator_valid")
        batch_size = kwargs.pop("batch_size", self.batch_size)
        batch_size = len(dataset) if batch_size == -1 else batch_size
        shuffle, drop_last = kwargs.pop("shuffle", False), kwargs.pop("drop_last", False)
        sampler = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
        if drop_last and training and len(dataset) < batch_size:
            drop_last = False
        batches = BatchSampler(sampler, max(batch_size, 1), drop_last)
        kwargs.setdefault("collate_fn", _batch_as_read)
        return DataLoader(dataset, batch_sampler=batches, **kwargs)


def move_net(net, device):
    """Move a trained net to ``device``, its modules, criteria and optimizers' state included,
    so that ``warm_start`` continues there. Parameters move in place, so the optimizers keep
    them."""
    import torch

    for name in (*net._modules, *net._criteria):
        module = getattr(net, name + "_", None)
        if isinstance(module, nn.Module):
            module.to(device)
    for name in net._optimizers:
        optimizer = getattr(net, name + "_", None)
        for state in getattr(optimizer, "state", {}).values():
            for key, value in state.items():
                if isinstance(value, torch.Tensor):
                    state[key] = value.to(device)
        for group in getattr(optimizer, "param_groups", []):
            if "capturable" in group:  # a CUDA graph needs it; the CPU refuses it
                group["capturable"] = torch.device(device).type == "cuda"
    net.device = device
    return net


def flush_lazy_optimizers(net):
    """Bring the lazily updated rows of ``net``'s optimizers up to date
    (:meth:`~sklearn_xmh.nn.LazySGD.flush`); other optimizers are left alone."""
    for name in net._optimizers:
        optimizer = getattr(net, name + "_", None)
        flush = getattr(getattr(optimizer, "optimizer", optimizer), "flush", None)
        if callable(flush):
            flush()


def _reads_batches(dataset):
    from torch.utils.data import Subset

    from .data import CrossModalDataset

    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    return isinstance(dataset, CrossModalDataset)


def _batch_as_read(batch):
    """The collate function of batches that the dataset reads whole."""
    return batch


class NonFiniteLossGuard(Callback):
    """Stop training with a clear error once an epoch's loss is NaN or infinite.

    A network that diverges would otherwise be returned fitted and silently produce constant
    codes. The losses are read once per epoch (a step never waits for the host), so a
    divergence stops training at the end of the epoch it happens in.
    """

    def on_epoch_end(self, net, **kwargs):
        names = {"train_loss": "training", "valid_loss": "validation"}
        for row in net.history[-1, "batches"]:
            for key, value in row.items():
                if key.endswith("_loss") and not np.isfinite(value):
                    kind = names.get(key, key[: -len("_loss")])
                    raise FloatingPointError(
                        f"The {kind} loss of {type(net.module_).__name__} became {value} in "
                        f"epoch {len(net.history)}; training stopped. Lower the learning rate "
                        "(lr) or check the input features for extreme values."
                    )


class EpochProgressBar(Callback):
    """A progress bar over a fit's epochs (tqdm, on stderr), with the last epoch's loss.

    Unlike skorch's :class:`~skorch.callbacks.ProgressBar`, which counts batches, it has no
    batch hooks, so a training step captured as a CUDA graph keeps running from its graph.

    Parameters
    ----------
    description : str or None, default=None
        The bar's label; None names the net's module.
    """

    def __init__(self, description=None):
        self.description = description

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(
            total=net.max_epochs,
            desc=self.description or type(net.module_).__name__,
            unit="epoch",
            leave=False,
        )

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1].get("train_loss")
        if loss is not None:
            self.bar_.set_postfix(loss=f"{loss:.4g}", refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()
        del self.bar_


def batch_hooks(callback):
    """The batch hooks ``callback`` (a skorch callback or ``(name, callback)``) implements:
    they are not called when a captured training step is replayed."""
    callback = callback[1] if isinstance(callback, tuple) else callback
    names = ("on_batch_begin", "on_batch_end", "on_grad_computed")
    return [
        name for name in names if getattr(type(callback), name, None) is not getattr(Callback, name)
    ]


class CrossModalAccelerateMixin(AccelerateMixin):
    """skorch's :class:`~skorch.hf.AccelerateMixin` for the cross-modal nets.

    The losses hold no trainable parameters, and ``DistributedDataParallel`` refuses to wrap
    such a module on CPU processes, so only the modules and optimizers go through
    ``accelerator.prepare``. skorch offers no public hook for this choice: this is the one
    override of a private skorch method left in the library.
    """

    def _initialize_accelerator(self):
        criteria, self._criteria = self._criteria, []
        try:
            return super()._initialize_accelerator()
        finally:
            self._criteria = criteria


class AcceleratedCrossModalNet(CrossModalAccelerateMixin, CrossModalNet):
    """:class:`CrossModalNet` trained through accelerate."""


@validate_params({"module": [nn.Module]}, prefer_skip_nested_validation=True)
def broadcast_buffers(module):
    """Copy ``module``'s buffers (batch-norm running statistics) from process 0 to every process.

    ``DistributedDataParallel`` broadcasts them before each forward, so after the last training
    step each process still holds the statistics its own batch left; this makes every process
    encode alike. Without an initialised process group it does nothing.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        for buffer in module.buffers():
            dist.broadcast(buffer.data, src=0)


# The accelerate variant of each net class that supports it.
_ACCELERATED = {CrossModalNet: AcceleratedCrossModalNet}


@validate_params(
    {"net_class": [type], "accelerated_class": [type]}, prefer_skip_nested_validation=True
)
def register_accelerated(net_class, accelerated_class):
    """Declare ``accelerated_class`` as the accelerate variant of ``net_class``."""
    _ACCELERATED[net_class] = accelerated_class


@validate_params({"net_class": [type]}, prefer_skip_nested_validation=True)
def accelerated(net_class):
    """The :class:`~skorch.hf.AccelerateMixin` variant of ``net_class``.

    Raises
    ------
    ValueError
        When the net has none (a custom training step that accelerate cannot wrap).
    """
    try:
        return _ACCELERATED[net_class]
    except KeyError:
        raise ValueError(
            f"{net_class.__name__} cannot train through accelerate: its custom training step "
            "runs its own optimizers outside accelerate's wrappers. Fit it without an "
            "accelerator."
        ) from None


@validate_params({"module": [nn.Module]}, prefer_skip_nested_validation=True)
def unwrapped(module):
    """The module inside a ``DistributedDataParallel`` wrapper, or ``module`` itself."""
    from torch.nn.parallel import DistributedDataParallel

    return module.module if isinstance(module, DistributedDataParallel) else module
