"""A training step the GPU runs as one piece: the whole step captured once as a CUDA graph and
replayed for every batch of fixed size.

On a GPU the arithmetic of one of these steps takes microseconds; what costs is launching a
hundred small kernels one by one from Python. A CUDA graph launches them all at once. The
capture follows PyTorch's whole-network recipe (a few eager warm-up steps on a side stream,
gradients set to None before capture, so that the captured backward writes them from the
graph's pool): the batch's rows are gathered inside the graph from the views held on the
device, by a static index tensor that each batch's rows are copied into; dropout and sampling
draw from the graph-safe CUDA generator; epoch-dependent values (DJSRH's tanh scale) are
tensors updated in place, and state over the training set (CHN's memory bank, UGACH's graph)
sits at fixed addresses. The epoch's loss is summed on the device and read once per epoch.
"""

import warnings

import numpy as np
import torch

# Eager steps before a capture: they create the optimizers' state and let lazy set-ups
# (cuBLAS workspaces, autograd's streams) happen outside the graph.
WARMUP_STEPS = 3


def can_capture(net, iterator, training):
    """Why ``net`` cannot replay a captured step over ``iterator``, or None when it can."""
    from .data import CrossModalDataset

    if not training:
        return "only training steps are captured"
    if net.device is None or torch.device(net.device).type != "cuda":
        return f"the device is {net.device!r}, not a CUDA device"
    dataset = getattr(iterator, "dataset", None)
    if not isinstance(dataset, CrossModalDataset):
        return "the training pairs are split off for validation"
    if not dataset.all_resident:
        return "a view is sparse, or the views are too large to hold on the device"
    if net.sparse_views:
        return "a sparse view trains with lazily updated rows"
    return None


class _Rows(torch.utils.data.Dataset):
    """A dataset whose batches are their rows, to draw an epoch's batches exactly as the
    training loader would (the same sampler, the same draws from torch's generator)."""

    def __init__(self, n_samples):
        self.n_samples = n_samples

    def __len__(self):
        return self.n_samples

    def __getitems__(self, rows):
        return np.asarray(rows, dtype=np.int64)


class CapturedStep:
    """One step function of a net (its ``train_step``, UGACH's ``generator_step``), captured
    once per variant and replayed for every full batch of an epoch.

    ``variant`` names what the step's Python decides without reading the batch (UGACH's
    pre-training or adversarial negatives): each variant has its own graph. A step that cannot
    be captured (an operation that waits on the device, a custom module's host logic) runs
    eagerly from then on, with a warning, or raises with ``required``.

    Parameters
    ----------
    net : CrossModalNet
    step_fn : callable
        ``step_fn(batch, **fit_params)`` returning ``{"loss": tensor, ...}``.
    required : bool, default=False
        Raise instead of falling back when the capture fails.
    """

    def __init__(self, net, step_fn, *, required=False):
        self.net = net
        self.step_fn = step_fn
        self.required = required
        self.graphs = {}
        self.warm = {}
        self.failed = None
        self.index = None
        self.total = None

    def _step(self, dataset, index, fit_params):
        step = self.step_fn(dataset.gather(index), **fit_params)
        self.total.add_(step["loss"].detach() * index.shape[0])

    # The two CUDA operations, apart so that the bookkeeping around them can be tested on a
    # machine without CUDA (with stand-ins that run ``fn`` eagerly).

    @staticmethod
    def _on_side_stream(fn, device):
        """Run ``fn`` eagerly on a side stream, as warm-up before a capture should."""
        stream = torch.cuda.Stream(device)
        stream.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(stream):
            fn()
        torch.cuda.current_stream(device).wait_stream(stream)

    @staticmethod
    def _record(fn):
        """Capture ``fn`` (without running it) as a graph whose ``replay()`` runs it."""
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            fn()
        return graph

    def _warm_up(self, dataset, rows, fit_params, variant):
        self._on_side_stream(lambda: self._step(dataset, rows, fit_params), rows.device)
        self.warm[variant] = self.warm.get(variant, 0) + 1

    def _capture(self, dataset, fit_params, variant):
        try:
            # Gradients set to None are allocated by the captured backward from the graph's
            # pool, so each replay writes them rather than adding to them.
            for name in self.net._optimizers:
                getattr(self.net, name + "_").zero_grad(set_to_none=True)
            graph = self._record(lambda: self._step(dataset, self.index, fit_params))
        except Exception as exc:  # noqa: BLE001 - any failure of capture falls back alike
            if self.required:
                raise RuntimeError(
                    f"The training step of {type(self.net.module_).__name__} could not be "
                    f"captured as a CUDA graph: {type(exc).__name__}: {exc}. Fit with "
                    "cuda_graph='auto' or False to train it eagerly."
                ) from exc
            self.failed = exc
            warnings.warn(
                f"The training step of {type(self.net.module_).__name__} could not be captured "
                f"as a CUDA graph ({type(exc).__name__}: {exc}); it trains eagerly.",
                RuntimeWarning,
                stacklevel=2,
            )
            return None
        self.graphs[variant] = graph
        return graph

    def run_epoch(self, iterator, fit_params, variant=None):
        """One epoch over ``iterator``'s batches: the full ones replayed, a last short one run
        eagerly. Returns ``(loss_sum, n_samples, n_batches)``, ``loss_sum`` a device tensor
        (the batches' losses weighted by their sizes)."""
        dataset, batch_size = iterator.dataset, iterator.batch_sampler.batch_size
        rows_loader = torch.utils.data.DataLoader(
            _Rows(len(dataset)), batch_sampler=iterator.batch_sampler, collate_fn=lambda b: b
        )
        batches = list(rows_loader)
        device = dataset.device
        if self.index is None:
            self.index = torch.zeros(batch_size, dtype=torch.int64, device=device)
            self.total = torch.zeros((), device=device)
        self.total.zero_()
        full = [rows for rows in batches if len(rows) == batch_size]
        order = torch.as_tensor(np.concatenate(full or [np.zeros(0, np.int64)]), device=device)
        for i in range(len(full)):
            rows = order[i * batch_size : (i + 1) * batch_size]
            graph = self.graphs.get(variant)
            if graph is None and self.failed is None:
                if self.warm.get(variant, 0) < WARMUP_STEPS:
                    self._warm_up(dataset, rows, fit_params, variant)
                    continue
                self.index.copy_(rows)
                graph = self._capture(dataset, fit_params, variant)
            if graph is None:
                self._step(dataset, rows, fit_params)
            else:
                self.index.copy_(rows)
                graph.replay()
        for rows in batches[len(full) :]:  # the last, short batch
            self._step(dataset, torch.as_tensor(rows, device=device), fit_params)
        n_samples = sum(len(rows) for rows in batches)
        return self.total, n_samples, len(batches)
