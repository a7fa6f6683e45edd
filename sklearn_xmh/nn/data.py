"""Batches for the skorch nets: a dataset over :class:`~sklearn_xmh.utils._views.TrainingView`
objects that reads each mini-batch in one go, keeping sparse views sparse."""

import warnings
from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, validate_params

from ..utils._views import TrainingView, is_sparse


def to_batch_tensor(X, device="cpu"):
    """A float32 batch as a torch tensor: dense for an array, sparse CSR for a scipy sparse
    matrix (its stored values only, never densified).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (b, n_features)
    device : str or torch.device, default="cpu"

    Returns
    -------
    tensor : torch.Tensor
    """
    if is_sparse(X):
        X = X.tocsr()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Sparse CSR tensor support", UserWarning)
            return torch.sparse_csr_tensor(
                torch.from_numpy(X.indptr.astype(np.int64)),
                torch.from_numpy(X.indices.astype(np.int64)),
                torch.from_numpy(np.asarray(X.data, dtype=np.float32)),
                size=X.shape,
                check_invariants=False,
            ).to(device)
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)


def dense(x):
    """``x`` as a dense (strided) tensor: a sparse batch is densified, one batch only."""
    return x if x.layout == torch.strided else x.to_dense()


def scale_rows(x, scale):
    """``x * scale`` for a ``(b, 1)`` ``scale``, also when ``x`` is a sparse batch."""
    if x.layout == torch.strided:
        return x * scale
    x = x.to_sparse_coo().coalesce() if x.layout != torch.sparse_coo else x.coalesce()
    values = x.values() * scale.reshape(-1)[x.indices()[0]].to(x.dtype)
    return torch.sparse_coo_tensor(x.indices(), values, x.shape, check_invariants=False)


class CrossModalDataset(torch.utils.data.Dataset):
    """The training pairs, indexed a whole mini-batch at a time.

    ``dataset[rows]`` (a list of training rows, as a
    :class:`~torch.utils.data.BatchSampler` gives) returns ``(X, y)``: ``X`` maps every input
    name to the batch's rows (dense, or sparse CSR for a sparse view) and ``"index"`` to
    ``rows``; ``y`` holds the rows' labels, or zeros without labels.

    With a ``device``, dense in-memory inputs that fit in ``max_bytes`` are held there as
    tensors, once (:meth:`resident`): a batch is then gathered by index on that device, with
    no copy from the host but the indices. On the CPU this costs nothing (the tensors share the
    prepared arrays); on a GPU the budget is half its free memory unless given. Sparse,
    out-of-core and larger inputs are read a batch at a time on the host, as without a device.

    Parameters
    ----------
    views : dict of str to TrainingView or array-like
        The inputs by name (``"image"``, ``"text"``, and any a loss reads). An array is read as
        it is.
    y : ndarray or None, default=None
        Labels, one row per pair.
    device : str, torch.device or None, default=None
        Where to hold the inputs; None keeps them on the host.
    max_bytes : int or None, default=None
        Most bytes the inputs may take on ``device``; None is half of a GPU's free memory
        (any size on the CPU).
    """

    @validate_params(
        {
            "views": [dict],
            "y": ["array-like", None],
            "device": [str, torch.device, None],
            "max_bytes": [Interval(Integral, 0, None, closed="left"), None],
        },
        prefer_skip_nested_validation=True,
    )
    def __init__(self, views, y=None, *, device=None, max_bytes=None):
        self.views = {
            name: (view if isinstance(view, TrainingView) else TrainingView(view)).keep_prepared()
            for name, view in views.items()
            if name != "index"
        }
        self.y = None if y is None else np.asarray(y)
        lengths = {len(view) for view in self.views.values()}
        if len(lengths) > 1:
            raise ValueError(f"The inputs have different numbers of rows: {sorted(lengths)}.")
        self.n_samples = lengths.pop() if lengths else 0
        self.tensors = None if device is None else self.resident(device, max_bytes)

    def resident(self, device, max_bytes=None):
        """The dense inputs and the labels as tensors on ``device``, or None when there are none
        or together they exceed ``max_bytes``; sparse inputs stay on the host.

        On the CPU the tensors share the prepared arrays (no copy; a view too large to be kept
        prepared stays on the host). On another device each view is filled a block of
        preprocessed rows at a time, so the host never holds a whole preprocessed copy.
        """
        device = torch.device(device)
        dense = {name: view for name, view in self.views.items() if not view.sparse}
        if device.type == "cpu":
            dense = {name: view for name, view in dense.items() if view._prepared is not None}
        if max_bytes is None and device.type == "cuda":
            max_bytes = torch.cuda.mem_get_info(device)[0] // 2
        n_bytes = sum(4 * view.n_samples * view.n_features for view in dense.values())
        n_bytes += 0 if self.y is None else self.y.nbytes
        if not dense or (max_bytes is not None and n_bytes > max_bytes):
            return None
        tensors = {name: _on_device(view, device) for name, view in dense.items()}
        if self.y is not None:
            tensors["y"] = torch.as_tensor(self.y, device=device)
        return tensors

    def __len__(self):
        return self.n_samples

    @property
    def device(self):
        """The device of the resident inputs, or None when they are read on the host."""
        return None if self.tensors is None else next(iter(self.tensors.values())).device

    @property
    def all_resident(self):
        """Whether every input (and the labels) is held on the device: a batch is then
        gathered there whole (:meth:`gather`)."""
        return self.tensors is not None and all(name in self.tensors for name in self.views)

    def rows(self, name, index, device="cpu"):
        """The preprocessed rows ``index`` of input ``name`` as a tensor on ``device``."""
        if self.tensors is not None and name in self.tensors:
            tensor = self.tensors[name]
            return tensor.index_select(0, index.to(tensor.device)).to(device)
        index = index.cpu().numpy() if isinstance(index, torch.Tensor) else np.asarray(index)
        return to_batch_tensor(self.views[name].take(index), device)

    def __getitem__(self, rows):
        return self.__getitems__(rows)

    def gather(self, index):
        """The batch ``(X, y)`` of the rows ``index`` (a tensor on the device of the resident
        inputs), gathered there: no host work beyond launching the gathers. Needs every input
        resident (:attr:`all_resident`)."""
        X = {name: self.tensors[name].index_select(0, index) for name in self.views}
        X["index"] = index
        if self.y is None:
            return X, torch.zeros(index.shape[0], 1, device=index.device)
        return X, self.tensors["y"].index_select(0, index)

    def __getitems__(self, rows):
        rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        if self.all_resident:
            return self.gather(torch.from_numpy(rows).to(self.device))
        # Resident inputs are gathered on their device, the others read on the host.
        index = torch.from_numpy(rows)
        resident = self.tensors or {}
        on_device = index.to(self.device) if resident else index
        X = {
            name: resident[name].index_select(0, on_device)
            if name in resident
            else to_batch_tensor(view.take(rows))
            for name, view in self.views.items()
        }
        X["index"] = on_device
        if self.y is None:
            return X, torch.zeros(len(rows), 1, device=on_device.device)
        if "y" in resident:
            return X, resident["y"].index_select(0, on_device)
        return X, torch.as_tensor(self.y[rows])


def _on_device(view, device, block_size=4096):
    """A dense :class:`~sklearn_xmh.utils._views.TrainingView` as one float32 tensor on
    ``device``: its prepared array itself on the CPU, else filled a block at a time."""
    if view._prepared is not None:
        return torch.as_tensor(view._prepared, device=device)
    tensor = torch.empty(view.shape, dtype=torch.float32, device=device)
    for start, block in zip(range(0, view.n_samples, block_size), view.blocks(block_size)):
        tensor[start : start + block.shape[0]].copy_(torch.from_numpy(block))
    return tensor
