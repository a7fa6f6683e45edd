"""Batches for the skorch nets: a dataset over :class:`~sklearn_xmh.utils._views.TrainingView`
objects that reads each mini-batch in one go, keeping sparse views sparse."""

import warnings
from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, validate_params

from ..utils._validation import is_sparse
from ..utils._views import TrainingView


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
        """Every input and the labels as tensors on ``device``, or None when one of them is
        sparse, out of core, or the whole would exceed ``max_bytes``."""
        device = torch.device(device)
        arrays = {name: view._prepared for name, view in self.views.items()}
        if self.y is not None:
            arrays["y"] = self.y
        if any(array is None for array in arrays.values()):
            return None
        if max_bytes is None and device.type == "cuda":
            max_bytes = torch.cuda.mem_get_info(device)[0] // 2
        if max_bytes is not None and sum(a.nbytes for a in arrays.values()) > max_bytes:
            return None
        return {name: torch.as_tensor(array, device=device) for name, array in arrays.items()}

    def __len__(self):
        return self.n_samples

    @property
    def device(self):
        """The device of the resident inputs, or None when they are read on the host."""
        return None if self.tensors is None else next(iter(self.tensors.values())).device

    def rows(self, name, index, device="cpu"):
        """The preprocessed rows ``index`` of input ``name`` as a tensor on ``device``."""
        if self.tensors is not None:
            tensor = self.tensors[name]
            return tensor.index_select(0, index.to(tensor.device)).to(device)
        index = index.cpu().numpy() if isinstance(index, torch.Tensor) else np.asarray(index)
        return to_batch_tensor(self.views[name].take(index), device)

    def __getitem__(self, rows):
        return self.__getitems__(rows)

    def gather(self, index):
        """The batch ``(X, y)`` of the rows ``index`` (a tensor on the device of the resident
        inputs), gathered there: no host work beyond launching the gathers."""
        X = {name: self.tensors[name].index_select(0, index) for name in self.views}
        X["index"] = index
        if self.y is None:
            return X, torch.zeros(index.shape[0], 1, device=index.device)
        return X, self.tensors["y"].index_select(0, index)

    def __getitems__(self, rows):
        rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        if self.tensors is not None:
            return self.gather(torch.from_numpy(rows).to(self.device))
        X = {name: to_batch_tensor(view.take(rows)) for name, view in self.views.items()}
        X["index"] = torch.from_numpy(rows)
        if self.y is None:
            return X, torch.zeros(len(rows), 1)
        return X, torch.as_tensor(self.y[rows])
