"""``LazySGD``: torch's SGD, with exact lazy updates of the rows a sparse gradient leaves out."""

import numpy as np
import torch
from numba import njit, prange


class LazySGD(torch.optim.SGD):
    """:class:`torch.optim.SGD` (momentum, weight decay) that updates a sparse gradient's rows
    only, and brings every other row up to date when it is next read, exactly.

    A wide first layer over a bag-of-words view (20,000 words by 4,096 units) holds 82 million
    weights, but one mini-batch touches only the few hundred rows of its words. Dense SGD with
    weight decay and momentum still rewrites every row at every step (decay and momentum move
    rows without gradient), which costs far more than the batch. For a row without gradient the
    step is linear, ``(w, b) <- ((1 - lr wd) w - lr mu b, wd w + mu b)`` (weight, momentum
    buffer), so ``k`` skipped steps are one 2x2 matrix power: this optimizer applies it when the
    row is read again (by :class:`~sklearn_xmh.nn.SparseLinear`'s forward, or at the step) and
    for every row in :meth:`flush`. The result is dense SGD's, up to rounding, while ``lr``,
    ``momentum`` and ``weight_decay`` stay constant between flushes.

    On CPU the rows are caught up and stepped by compiled kernels (numba, ``parallel=True``),
    one pass each over the rows' weights and momenta; other devices use torch's indexed ops.
    Dense gradients are stepped by :class:`torch.optim.SGD` itself. Nesterov momentum,
    dampening and ``maximize`` are not supported on sparse gradients.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups, as for :class:`torch.optim.SGD`.
    **kwargs
        ``lr``, ``momentum``, ``weight_decay`` and the other arguments of
        :class:`torch.optim.SGD`.

    Examples
    --------
    >>> import torch
    >>> from sklearn_xmh.nn import LazySGD
    >>> weight = torch.nn.Parameter(torch.ones(4, 2))
    >>> optimizer = LazySGD([weight], lr=0.1, momentum=0.9, weight_decay=0.1)
    >>> optimizer.zero_grad()
    >>> torch.nn.functional.embedding(torch.tensor([1]), weight, sparse=True).sum().backward()
    >>> optimizer.step()
    >>> optimizer.flush()
    >>> weight[:, 0].tolist()  # row 1 had the gradient; the others only decayed
    [0.9900000095367432, 0.8899999856948853, 0.9900000095367432, 0.9900000095367432]
    """

    def __init__(self, params, **kwargs):
        super().__init__(params, **kwargs)
        for group in self.param_groups:
            for p in group["params"]:
                p._catch_up = _CatchUp(self, p)

    # ---- the lazy rows ----

    def _lazy_state(self, p):
        state = self.state[p]
        if "last_step" not in state:
            state["step"] = 0
            state["last_step"] = torch.zeros(p.shape[0], dtype=torch.int64, device=p.device)
            state["momentum_buffer"] = torch.zeros_like(p)
        return state

    def _group(self, p):
        for group in self.param_groups:
            if any(q is p for q in group["params"]):
                return group
        raise KeyError("parameter not in this optimizer")

    def _powers(self, group, n):
        """``A**k`` for ``k < n`` (A the step of a row without gradient), as an (n, 2, 2) table
        kept per group and rebuilt when its hyperparameters change."""
        key = (group["lr"], group["momentum"], group["weight_decay"])
        table = group.get("_lazy_powers")
        if table is None or group.get("_lazy_key") != key or len(table) < n:
            lr, momentum, decay = key
            step = np.array([[1.0 - lr * decay, -lr * momentum], [decay, momentum]])
            grown = 2 * len(table) if table is not None and group.get("_lazy_key") == key else 0
            size = max(n, grown, 1024)
            powers = np.empty((size, 2, 2))
            powers[0] = np.eye(2)
            for k in range(1, size):
                powers[k] = powers[k - 1] @ step
            group["_lazy_powers"], group["_lazy_key"] = torch.from_numpy(powers), key
        return group["_lazy_powers"]

    @torch.no_grad()
    def _catch_up(self, p, rows=None):
        """Apply the skipped steps to ``rows`` of ``p`` (all rows when None): a linear map of each
        row's weight and momentum, by the power of the no-gradient step that it skipped."""
        state = self.state.get(p)
        if not state or "last_step" not in state:
            return
        last = state["last_step"]
        rows = torch.arange(p.shape[0], device=p.device) if rows is None else rows.unique()
        skipped = state["step"] - last[rows]
        stale = skipped > 0
        if not stale.any():
            return
        rows, skipped = rows[stale], skipped[stale]
        powers = self._powers(self._group(p), int(skipped.max()) + 1)
        coefficients = powers[skipped.cpu()].to(device=p.device, dtype=p.dtype)
        buffer = state["momentum_buffer"]
        if _compiled(p, buffer):
            _catch_up_rows(
                p.detach().numpy(),
                buffer.numpy(),
                rows.numpy(),
                coefficients.reshape(-1, 4).contiguous().numpy(),
            )
        else:
            w, m = p.index_select(0, rows), buffer.index_select(0, rows)
            shape = (-1,) + (1,) * (p.dim() - 1)
            a, b, c, d = (coefficients[:, i, j].reshape(shape) for i, j in _ENTRIES)
            p.index_copy_(0, rows, torch.addcmul(w.mul(a), m, b))
            buffer.index_copy_(0, rows, torch.addcmul(m.mul_(d), w, c))
        last[rows] = state["step"]

    @torch.no_grad()
    def flush(self, block_size=2048):
        """Bring every row of every lazily updated parameter up to date, ``block_size`` rows at
        a time (so that memory grows by a block, not by a copy of the parameter)."""
        for group in self.param_groups:
            for p in group["params"]:
                if "last_step" in self.state.get(p, {}):
                    for rows in torch.arange(p.shape[0], device=p.device).split(block_size):
                        self._catch_up(p, rows)

    @torch.no_grad()
    def _sparse_step(self, p, group):
        if group["nesterov"] or group["dampening"] or group["maximize"]:
            raise ValueError(
                "LazySGD supports sparse gradients without nesterov, dampening or maximize."
            )
        state = self._lazy_state(p)
        grad = p.grad.coalesce()
        rows, values = grad.indices()[0], grad.values()
        self._catch_up(p, rows)
        lr, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
        buffer = state["momentum_buffer"]
        if _compiled(p, buffer) and values.is_contiguous():
            # One pass over the rows: decay, momentum and the step fused (the rows are unique).
            scalar = p.detach().numpy().dtype.type
            _step_rows(
                p.detach().numpy(),
                buffer.numpy(),
                rows.numpy(),
                values.numpy(),
                scalar(lr),
                scalar(momentum),
                scalar(decay),
            )
        else:
            if grad is p.grad:
                values = values.clone()  # the update below works in place; keep the gradient
            update = values.add_(p.index_select(0, rows), alpha=decay) if decay else values
            if momentum:
                update = update.add_(buffer.index_select(0, rows), alpha=momentum)
                buffer.index_copy_(0, rows, update)
            p.index_add_(0, rows, update, alpha=-lr)
        state["step"] += 1
        state["last_step"][rows] = state["step"]

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        hidden = []
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None and p.grad.is_sparse:
                    self._sparse_step(p, group)
                    hidden.append((p, p.grad))
                    p.grad = None
        try:
            super().step()
        finally:
            for p, grad in hidden:
                p.grad = grad
        return loss

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            for p in group["params"]:
                p._catch_up = _CatchUp(self, p)


_ENTRIES = ((0, 0), (0, 1), (1, 0), (1, 1))


def _compiled(p, buffer):
    """Whether the compiled row kernels apply: 2-D contiguous CPU tensors of a float type."""
    return (
        p.device.type == "cpu"
        and p.dim() == 2
        and p.dtype in (torch.float32, torch.float64)
        and p.is_contiguous()
        and buffer.is_contiguous()
    )


@njit(parallel=True, cache=True)
def _catch_up_rows(weight, buffer, rows, coefficients):
    """``(w, m) <- (a w + b m, c w + d m)`` for each row, ``(a, b, c, d)`` its coefficients."""
    for i in prange(rows.shape[0]):
        r = rows[i]
        a, b = coefficients[i, 0], coefficients[i, 1]
        c, d = coefficients[i, 2], coefficients[i, 3]
        for j in range(weight.shape[1]):
            w, m = weight[r, j], buffer[r, j]
            weight[r, j] = w * a + m * b
            buffer[r, j] = m * d + w * c


@njit(parallel=True, cache=True)
def _step_rows(weight, buffer, rows, grad, lr, momentum, decay):
    """torch's SGD step on the (unique) ``rows``, whose gradient rows are ``grad``."""
    for i in prange(rows.shape[0]):
        r = rows[i]
        for j in range(weight.shape[1]):
            update = grad[i, j]
            if decay != 0:
                update = update + decay * weight[r, j]
            if momentum != 0:
                update = update + momentum * buffer[r, j]
                buffer[r, j] = update
            weight[r, j] = weight[r, j] - lr * update


class _CatchUp:
    """``p._catch_up(rows)``: what :class:`~sklearn_xmh.nn.SparseLinear` calls before it reads
    rows of ``p``; a weak link back to the optimizer, so pickling ``p`` does not drag it."""

    def __init__(self, optimizer, p):
        import weakref

        self._optimizer = weakref.ref(optimizer)
        self._p = weakref.ref(p)

    def __call__(self, rows):
        optimizer = self._optimizer() if self._optimizer is not None else None
        p = self._p() if self._p is not None else None
        if optimizer is not None and p is not None:
            optimizer._catch_up(p, rows)

    def __reduce__(self):
        # A pickled parameter keeps no link; the optimizer restores it when it is loaded.
        return _detached, ()


def _detached():
    catch_up = _CatchUp.__new__(_CatchUp)
    catch_up._optimizer = catch_up._p = None
    return catch_up
