"""The skorch network that every deep hasher trains, and its training callbacks."""

import numpy as np
from skorch import NeuralNet
from skorch.callbacks import Callback


class CrossModalNet(NeuralNet):
    """A skorch :class:`~skorch.NeuralNet` over paired views.

    ``X`` is a dict ``{"image": ..., "text": ...}`` that skorch passes to the module's ``forward``
    as keyword arguments, and ``y`` holds labels for supervised methods (None otherwise). The
    criterion is a loss module called as ``criterion(y_pred, y_true, X)``, so that a loss can see
    the inputs (reconstruction targets, batch affinities) as well as the outputs.

    Every batch also carries ``X["index"]``, the training row of each sample, so that a loss or
    a training step can look up state kept over the whole training set (a graph, a memory bank).
    The module's ``forward`` never sees it.
    """

    def get_dataset(self, X, y=None):
        if isinstance(X, dict) and "index" not in X:
            X = {**X, "index": np.arange(len(X["image"]))}
        return super().get_dataset(X, y)

    def infer(self, x, **fit_params):
        if isinstance(x, dict):
            x = {key: value for key, value in x.items() if key != "index"}
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.criterion_(y_pred, y_true, X)


class NonFiniteLossGuard(Callback):
    """Stop training with a clear error as soon as a batch loss is NaN or infinite.

    A network that diverges would otherwise be returned fitted and silently produce constant codes.
    """

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        value = float(loss.detach()) if loss is not None else 0.0
        if not np.isfinite(value):
            epoch = len(net.history)
            raise FloatingPointError(
                f"The training loss of {type(net.module_).__name__} became {value} in epoch "
                f"{epoch}; training stopped. Lower the learning rate (lr) or check the input "
                "features for extreme values."
            )
