"""Persistence: saving and loading models by file suffix, torch modules as plain data for
secure persistence with skops, and the types a skops file of the library may hold.

:func:`module_to_state` turns a torch module into a tree of plain values: its class, its own
attributes, and its parameters and buffers as numpy arrays. :func:`module_from_state` rebuilds it
without running any pickle code, so ``skops.io.load`` can restore a fitted model from types it
was told to trust. The encoders keep their towers in this form whenever they are serialised.
"""

from functools import cache

import numpy as np

_MARKER = "torch_module_class"


@cache
def _internal_attributes():
    from torch import nn

    # What nn.Module.__init__ creates: rebuilt by calling it, never stored.
    return frozenset(vars(nn.Module()))


def module_to_state(module):
    """A torch module as plain data: ``{torch_module_class, attributes, training, parameters,
    buffers, non_persistent_buffers, modules}``, with every tensor as a CPU numpy array."""
    internal = _internal_attributes()

    def array(tensor):
        return None if tensor is None else tensor.detach().cpu().numpy()

    return {
        _MARKER: type(module),
        "attributes": {k: v for k, v in vars(module).items() if k not in internal},
        "training": module.training,
        "parameters": {name: array(p) for name, p in module._parameters.items()},
        "buffers": {name: array(b) for name, b in module._buffers.items()},
        "non_persistent_buffers": sorted(module._non_persistent_buffers_set),
        "modules": {
            name: None if child is None else module_to_state(child)
            for name, child in module._modules.items()
        },
    }


def is_module_state(value):
    """Whether ``value`` is the output of :func:`module_to_state`."""
    return isinstance(value, dict) and _MARKER in value


def module_from_state(state):
    """Rebuild the torch module that :func:`module_to_state` described, on the CPU."""
    import torch
    from torch import nn

    cls = state[_MARKER]
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise TypeError(f"{cls!r} is not a torch module class.")
    module = cls.__new__(cls)
    nn.Module.__init__(module)
    module.__dict__.update(state["attributes"])
    module.training = state["training"]

    def tensor(value):
        return None if value is None else torch.from_numpy(np.array(value))

    for name, value in state["parameters"].items():
        module._parameters[name] = None if value is None else nn.Parameter(tensor(value))
    for name, value in state["buffers"].items():
        module._buffers[name] = tensor(value)
    module._non_persistent_buffers_set = set(state["non_persistent_buffers"])
    for name, child in state["modules"].items():
        module._modules[name] = None if child is None else module_from_state(child)
    return module


class UntrustedTypesError(ValueError):
    """A ``.skops`` file holds types the library does not trust."""


def save_model(model, path):
    """Save a model or index to ``.skops`` (safe to share; deflated, as its schema is JSON text)
    or, for any other suffix, with joblib."""
    if str(path).endswith(".skops"):
        import zipfile

        import skops.io

        skops.io.dump(model, path, compression=zipfile.ZIP_DEFLATED)
    else:
        import joblib

        joblib.dump(model, path)


def load_model(path):
    """Load a ``.skops`` file with the library's trusted types (raising
    :class:`UntrustedTypesError` when it holds others), or a joblib file (which runs code from
    the file: load only files you trust)."""
    if str(path).endswith(".skops"):
        import skops.io

        untrusted = sorted(set(skops.io.get_untrusted_types(file=path)) - set(trusted_types()))
        if untrusted:
            raise UntrustedTypesError(
                f"{path} holds types the library does not trust: {untrusted}. Check them, then "
                "load the file in Python with skops.io.load(..., trusted=...)."
            )
        return skops.io.load(path, trusted=trusted_types())
    import joblib

    return joblib.load(path)


def trusted_types():
    """The types a ``skops`` file of this library's objects may hold, for ``skops.io.load``.

    These are the library's own estimators, encoders, index and torch modules, and the torch
    layers of the default towers; the scikit-learn and numpy types inside are trusted by skops
    already. A model with a custom
    ``image_module`` / ``text_module`` or extra callbacks also holds those classes: add them
    yourself after checking them with ``skops.io.get_untrusted_types``.

    Returns
    -------
    types : list of str
        Fully qualified type names.

    Examples
    --------
    >>> import skops.io as sio
    >>> from sklearn_xmh import CCAITQHasher, trusted_types
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> data = make_cross_modal(n_samples=100, random_state=0)
    >>> hasher = CCAITQHasher(n_bits=16, random_state=0).fit(data.X_image, data.X_text)
    >>> loaded = sio.loads(sio.dumps(hasher), trusted=trusted_types())
    >>> bool((loaded.transform(data.X_image) == hasher.transform(data.X_image)).all())
    True
    """
    return sorted(_TRUSTED)


_TRUSTED = {
    # The library.
    "sklearn_xmh._encoders.LinearProjection",
    "sklearn_xmh._encoders.ModalityEncoder",
    "sklearn_xmh.baselines.CCAITQHasher",
    "sklearn_xmh.chn.CHNHasher",
    "sklearn_xmh.dbrc.DBRCHasher",
    "sklearn_xmh.djsrh.DJSRHHasher",
    "sklearn_xmh.neighbors._index.HammingIndex",
    "sklearn_xmh.ugach.UGACHHasher",
    "sklearn_xmh.nn.layers.AdaptiveTanh",
    "sklearn_xmh.nn.layers.ModuleTower",
    "sklearn_xmh.nn.layers.SingleViewTower",
    "sklearn_xmh.nn.layers.SparseDropout",
    "sklearn_xmh.nn.layers.SparseLinear",
    # The torch layers of the default towers and of ModuleTower.
    "torch.nn.modules.activation.ReLU",
    "torch.nn.modules.activation.Tanh",
    "torch.nn.modules.batchnorm.BatchNorm1d",
    "torch.nn.modules.container.Sequential",
    "torch.nn.modules.dropout.Dropout",
    "torch.nn.modules.linear.Identity",
    "torch.nn.modules.linear.Linear",
}
