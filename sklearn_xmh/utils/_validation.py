"""Validation of what is not a view: labels (metadata), integer parameters and torch devices.

The views themselves are read and checked in :mod:`._views`.
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn.utils import check_array

from ._views import is_sparse


def check_labels(labels, n_samples, *, required=False, estimator=None):
    """Validate ``labels`` as class ids ``(n,)`` or multi-hot ``(n, n_classes)``.

    Parameters
    ----------
    labels : {array-like, sparse matrix} of shape (n_samples,) or (n_samples, n_classes), or None
        Class ids or a multi-hot indicator matrix, dense or sparse.
    n_samples : int
        The number of paired samples the labels must describe.
    required : bool, default=False
        Raise when ``labels`` is None.
    estimator : estimator instance, default=None
        Named in error messages.

    Returns
    -------
    labels : ndarray or None
    """
    name = type(estimator).__name__ if estimator is not None else "This function"
    if labels is None:
        if required:
            raise ValueError(
                f"{name} is supervised and requires labels: call fit(X_image, X_text, labels=Y) "
                "with Y of shape (n_samples,) class ids or (n_samples, n_classes) multi-hot."
            )
        return None
    if np.ndim(labels) > 2:
        raise ValueError(
            f"labels must be 1-D class ids or 2-D multi-hot, got a {np.ndim(labels)}-D array of "
            f"shape {np.shape(labels)}."
        )
    labels = check_array(
        labels, ensure_2d=False, dtype=None, accept_sparse="csr", input_name="labels"
    )
    if labels.shape[0] != n_samples:
        raise ValueError(
            f"labels has {labels.shape[0]} rows but the views have {n_samples} samples."
        )
    if labels.ndim == 2 and not is_sparse(labels) and labels.dtype.kind not in "biuf":
        raise ValueError(
            f"Multi-hot labels (2-D) must be numbers, 0 or 1 per class, got dtype "
            f"{labels.dtype}. Class ids may be strings in a 1-D array."
        )
    return labels


def check_int_parameters(estimator, names=("n_bits",)):
    """Reject booleans where ints are expected (``True`` passes scikit-learn's Integral
    constraint), and ``hidden_layer_sizes`` that are not positive ints."""
    cls = type(estimator).__name__
    for name in names:
        value = getattr(estimator, name, None)
        if isinstance(value, (bool, np.bool_)):
            raise ValueError(
                f"The {name!r} parameter of {cls} must be an int, got {value!r} (a bool)."
            )
    sizes = getattr(estimator, "hidden_layer_sizes", None)
    if sizes is not None and not all(
        isinstance(size, Integral) and not isinstance(size, (bool, np.bool_)) and size >= 1
        for size in sizes
    ):
        raise ValueError(
            f"The 'hidden_layer_sizes' parameter of {cls} must hold positive ints (layer widths), "
            f"got {tuple(sizes)!r}."
        )


def warn_degenerate_labels(indicator, estimator=None):
    """Warn when labels cannot supervise: no label at all, a single class, or pairs without a
    label."""
    name = type(estimator).__name__ if estimator is not None else "The labels"
    per_class = np.asarray(indicator.sum(axis=0)).ravel()
    empty = int((np.asarray(indicator.sum(axis=1)).ravel() == 0).sum())
    problem = None
    if not per_class.any():
        problem = "labels that are all zero: no pair has a label, so every pair is dissimilar"
    elif (per_class > 0).sum() == 1:
        problem = "labels of a single class: every pair is similar to every other"
    elif empty:
        problem = f"{empty} pairs without any label (all-zero rows): each is dissimilar to all"
    if problem is not None:
        warnings.warn(
            f"{name} got {problem}, and the labels barely supervise.", UserWarning, stacklevel=3
        )


def resolve_device(device):
    """Return a torch device string for ``device``, failing clearly when it does not exist.

    Parameters
    ----------
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"`` (CUDA, then MPS, then CPU).

    Returns
    -------
    device : str
    """
    if device == "cpu":
        return device  # without importing torch: a linear hasher never needs it
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a valid torch device: {exc}") from exc
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested, but CUDA is not available on this machine "
                "(torch.cuda.is_available() is False). Use device='cpu' or device='auto'."
            )
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested, but only {torch.cuda.device_count()} CUDA "
                "device(s) exist."
            )
    elif parsed.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device={device!r} was requested, but MPS is not available.")
    elif parsed.type != "cpu":
        raise ValueError(f"device={device!r} is not supported; use 'cpu', 'cuda', 'mps' or 'auto'.")
    return str(parsed)


def loadable_device(device):
    """The device a loaded model can use: ``device`` when this machine has it, else the CPU,
    with a warning.

    The warning names only the kind of device and comes from one place, so that a hasher, its
    two encoders and its training net, loaded together, say it once.

    Parameters
    ----------
    device : str
        The device the model was fitted on.

    Returns
    -------
    device : str
    """
    try:
        return resolve_device(device)
    except ValueError:
        _warn_loaded_on_cpu(device.split(":")[0])
        return "cpu"


def _warn_loaded_on_cpu(kind):
    # One text from one line, whoever loads (hasher, encoder, net, from pickle or joblib):
    # Python's default filter shows it once.
    warnings.warn(
        f"This model was fitted on a {kind!r} device, which this machine does not have: it "
        "was loaded on the CPU, and encodes there.",
        UserWarning,
        stacklevel=1,
    )


def label_indicator(labels):
    """Class ids ``(n,)`` as a one-hot matrix, or multi-hot labels ``(n, n_classes)`` as 0/1,
    both float32.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,) or (n_samples, n_classes)
        Labels checked by :func:`check_labels`.

    Returns
    -------
    indicator : ndarray of shape (n_samples, n_classes), dtype float32
    """
    if is_sparse(labels):
        labels = labels.toarray()
    if labels.ndim == 2:
        return (labels != 0).astype(np.float32)
    _, ids = np.unique(labels, return_inverse=True)
    return np.eye(ids.max(initial=-1) + 1, dtype=np.float32)[ids.ravel()]
