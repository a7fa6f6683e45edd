"""Torch building blocks shared by the methods: the module contract, MLP towers, Adaptive Tanh,
single-view towers."""

from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from torch import nn
from torch.nn import functional as F

_POSITIVE = [Interval(Integral, 1, None, closed="left")]
# The shape arguments of every method's module.
SHAPE_CONSTRAINTS = {
    "n_image_features": _POSITIVE,
    "n_text_features": _POSITIVE,
    "n_bits": _POSITIVE,
    "hidden_layer_sizes": [tuple, list],
    "image_net": [nn.Module, None],
    "text_net": [nn.Module, None],
}


class CrossModalModule(nn.Module, metaclass=ABCMeta):
    """The contract between a method's torch module and the hashers that train it.

    :class:`~sklearn_xmh.base.BaseDeepHasher` trains any subclass through skorch and relies on
    exactly this:

    - ``forward(image, text)`` takes a batch of both views and returns what the method's loss
      expects;
    - :meth:`image_tower` and :meth:`text_tower` return, after training, each view's path from a
      batch of preprocessed rows to the real pre-binarisation outputs ``(n, n_bits)``, whose
      signs are the bits; each becomes the tower of a standalone
      :class:`~sklearn_xmh.ModalityEncoder`;
    - the attributes ``n_image_features``, ``n_text_features`` and ``n_bits`` give its shape
      (``warm_start`` continues only a module of the same shape);
    - :meth:`relax` and :meth:`health` answer for its mechanism, which
      :func:`~sklearn_xmh.inspection.mechanism_health` reports without knowing the method.
    """

    n_image_features: int
    n_text_features: int
    n_bits: int

    @abstractmethod
    def forward(self, image, text):
        """The outputs of a batch of pairs, as the method's loss reads them."""

    @abstractmethod
    def image_tower(self):
        """The image view's path to the pre-binarisation outputs, an ``nn.Module``."""

    @abstractmethod
    def text_tower(self):
        """The text view's path to the pre-binarisation outputs, an ``nn.Module``."""

    def relax(self, outputs):
        """The relaxed codes ``u`` in [-1, 1] the loss sees, from the towers' outputs.

        Parameters
        ----------
        outputs : ndarray of shape (n_samples, n_bits), dtype float64
            Pre-binarisation outputs of :meth:`image_tower` or :meth:`text_tower`.

        Returns
        -------
        relaxed : ndarray of shape (n_samples, n_bits)
            Of the same signs; ``tanh(outputs)`` unless the method relaxes otherwise.
        """
        return np.tanh(outputs)

    def health(self):
        """The figures of the module's own mechanism (a scale it learns, for example), as a
        dict; none unless the method has one."""
        return {}


@validate_params(
    {
        "sizes": [tuple, list],
        "activation": [type],
        "final_activation": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def make_mlp(sizes, *, activation=nn.ReLU, final_activation=True, dropout=0.0, input_dropout=0.0):
    """An MLP ``sizes[0] -> ... -> sizes[-1]`` with ``activation`` between layers.

    Parameters
    ----------
    sizes : sequence of int
        Input width, hidden widths, output width.
    activation : type of nn.Module, default=nn.ReLU
        The non-linearity after each hidden layer.
    final_activation : bool, default=True
        Whether the last layer is followed by ``activation`` too.
    dropout : float, default=0.0
        Dropout after each activation.
    input_dropout : float, default=0.0
        Dropout on the input, before the first layer.
    """
    layers = [nn.Dropout(input_dropout)] if input_dropout else []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2 or final_activation:
            layers.append(activation())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class SparseLinear(nn.Module):
    """A linear layer ``x @ weight + bias`` that multiplies sparse input without densifying it.

    The weight is stored one row per input feature, ``(in_features, out_features)``, so that a
    sparse batch (a torch sparse COO or CSR tensor, as bags of words give) reads only the rows of
    the features it holds, through :func:`torch.nn.functional.embedding_bag` with the batch's
    values as per-sample weights. With ``sparse_grad=True`` the weight's gradient is a sparse
    tensor over those rows too, for an optimizer that updates them lazily
    (:class:`~sklearn_xmh.nn.LazySGD`); a dense batch is multiplied as usual.

    Parameters
    ----------
    in_features, out_features : int
    sparse_grad : bool, default=False
        Whether sparse input gives the weight a sparse gradient.

    Examples
    --------
    >>> import torch
    >>> from sklearn_xmh.nn import SparseLinear
    >>> layer = SparseLinear.from_linear(torch.nn.Linear(5, 3))
    >>> x = torch.tensor([[0.0, 2.0, 0.0, 0.0, 1.0]])
    >>> bool(torch.allclose(layer(x.to_sparse()), layer(x)))
    True
    """

    @validate_params(
        {"in_features": _POSITIVE, "out_features": _POSITIVE, "sparse_grad": ["boolean"]},
        prefer_skip_nested_validation=True,
    )
    def __init__(self, in_features, out_features, *, sparse_grad=False):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.sparse_grad = sparse_grad
        linear = nn.Linear(in_features, out_features)
        self.weight = nn.Parameter(linear.weight.detach().T.contiguous())
        self.bias = nn.Parameter(linear.bias.detach().clone())

    @classmethod
    def from_linear(cls, linear, *, sparse_grad=False):
        """The layer that computes what ``linear`` (an ``nn.Linear``) computes, from its weights."""
        layer = cls.__new__(cls)
        nn.Module.__init__(layer)
        layer.in_features, layer.out_features = linear.in_features, linear.out_features
        layer.sparse_grad = sparse_grad
        layer.weight = nn.Parameter(linear.weight.detach().T.contiguous())
        layer.bias = nn.Parameter(
            linear.bias.detach().clone()
            if linear.bias is not None
            else torch.zeros(linear.out_features, device=linear.weight.device)
        )
        return layer

    def forward(self, x):
        if x.layout == torch.strided:
            return torch.addmm(self.bias, x, self.weight)
        if x.layout == torch.sparse_csr:
            offsets, columns, values = x.crow_indices(), x.col_indices(), x.values()
        else:
            x = x.coalesce()
            rows, columns = x.indices()
            values = x.values()
            offsets = torch.searchsorted(
                rows, torch.arange(x.shape[0] + 1, device=rows.device, dtype=rows.dtype)
            )
        catch_up = getattr(self.weight, "_catch_up", None)
        if catch_up is not None:
            catch_up(columns)  # a lazy optimizer brings the rows read up to date first
        out = F.embedding_bag(
            columns,
            self.weight,
            offsets[:-1],
            mode="sum",
            per_sample_weights=values,
            sparse=self.sparse_grad,
            include_last_offset=False,
        )
        return out + self.bias

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}"


class SparseDropout(nn.Dropout):
    """:class:`torch.nn.Dropout` that also drops the stored values of a sparse input."""

    def forward(self, x):
        if x.layout == torch.strided:
            return super().forward(x)
        x = x.coalesce() if x.layout == torch.sparse_coo else x.to_sparse_coo().coalesce()
        values = F.dropout(x.values(), self.p, self.training)
        return torch.sparse_coo_tensor(
            x.indices(), values, x.shape, check_invariants=False
        ).coalesce()


@validate_params(
    {"module": [nn.Module], "views": [tuple, list, set], "sparse_grad": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def sparse_inputs(module, views, *, sparse_grad=False):
    """Let the default towers of ``views`` read sparse batches, in place.

    The first ``nn.Linear`` of each ``{view}_net`` (an ``nn.Sequential``) becomes a
    :class:`SparseLinear` with the same weights, and a dropout before it a
    :class:`SparseDropout`; a custom network is left alone (its tower densifies each batch).

    Parameters
    ----------
    module : nn.Module
        A :class:`CrossModalModule` whose towers are ``image_net`` / ``text_net``.
    views : sequence of {"image", "text"}
        The views whose batches are sparse.
    sparse_grad : bool, default=False
        Whether the new layers give sparse gradients (for :class:`~sklearn_xmh.nn.LazySGD`).

    Returns
    -------
    module : nn.Module
        ``module`` itself.
    """
    for view in views:
        net = getattr(module, f"{view}_net", None)
        if not isinstance(net, nn.Sequential):
            continue
        for i, layer in enumerate(net):
            if type(layer) is nn.Dropout:
                net[i] = SparseDropout(layer.p)
            elif isinstance(layer, SparseLinear):
                layer.sparse_grad = sparse_grad
                break
            elif type(layer) is nn.Linear:
                net[i] = SparseLinear.from_linear(layer, sparse_grad=sparse_grad)
                break
            else:
                break
    return module


class AdaptiveTanh(nn.Module):
    """Adaptive Tanh (ATanh) of DBRC: ``tanh(alpha * h)``, a learnable positive ``alpha`` per bit.

    ``scaling="linear"`` computes ``tanh(alpha * h)``. ``scaling="nonlinear"`` computes
    ``tanh(alpha * h + c * h**3)`` with learnable positive ``alpha`` and ``c``, a positive,
    monotone non-linear scale. These are our reading of the paper's linear and non-linear
    variants. ``scaling="fixed"`` keeps ``alpha = 1`` (a plain tanh, nothing learned): the
    ablation of the mechanism.

    The learned scales are parametrised by their logarithms, ``alpha = exp(log_alpha)``, so
    that they stay positive without a clamp and an optimizer's step moves them by a factor
    rather than an amount: ``alpha`` can grow as fast as :meth:`penalty` asks. Train
    :meth:`scale_parameters` without weight decay, which would pull ``alpha`` back towards 0.
    :meth:`penalty` is ``sum(1 / alpha**2)``, which training adds to push ``alpha`` up so that
    the outputs approach +-1 while early gradients stay alive.

    Parameters
    ----------
    n_bits : int
        Width of the layer.
    scaling : {"linear", "nonlinear", "fixed"}
        The scaling variant.
    """

    @validate_params(
        {"n_bits": _POSITIVE, "scaling": [StrOptions({"linear", "nonlinear", "fixed"})]},
        prefer_skip_nested_validation=True,
    )
    def __init__(self, n_bits, *, scaling):
        super().__init__()
        self.scaling = scaling
        if scaling == "fixed":
            self.register_buffer("log_alpha", torch.zeros(n_bits))
        else:
            self.log_alpha = nn.Parameter(torch.zeros(n_bits))
        if scaling == "nonlinear":
            # c starts small (0.018), so both variants start as tanh(h).
            self.log_cubic = nn.Parameter(torch.full((n_bits,), -4.0))

    @property
    def alpha(self):
        return self.log_alpha.exp()

    def scale_parameters(self):
        """The learned scales (none for ``scaling="fixed"``), to train without weight decay."""
        return list(self.parameters())

    def forward(self, h):
        scaled = self.alpha * h
        if self.scaling == "nonlinear":
            scaled = scaled + self.log_cubic.exp() * h.clamp(-3.0, 3.0) ** 3
        return torch.tanh(scaled)

    def penalty(self):
        return (1.0 / self.alpha**2).sum()


class SingleViewTower(nn.Module):
    """One view's path to the pre-binarisation output, for a network that fuses two views.

    Computes ``head(encoder(x) + offset)``, where ``offset`` is the other view's encoder output on
    an all-zero (that is, mean, after standardisation) input: an image-only query is encoded as
    ``(x, 0)``.
    """

    @validate_params(
        {"encoder": [nn.Module], "head": [nn.Module], "offset": [torch.Tensor]},
        prefer_skip_nested_validation=True,
    )
    def __init__(self, encoder, head, offset):
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.register_buffer("offset", offset.detach().clone())

    def forward(self, x):
        return self.head(self.encoder(x) + self.offset)


class TwoTowers(CrossModalModule):
    """An image and a text tower, each ``d -> hidden... -> n_bits`` by default, whose raw
    outputs a method's ``forward`` squashes (tanh, a scaled tanh, a sigmoid).

    The squashing keeps the sign, so :meth:`image_tower` and :meth:`text_tower`, the paths to
    the pre-binarisation outputs, are the towers themselves.

    Parameters
    ----------
    n_image_features, n_text_features : int
        Input widths.
    n_bits : int
        Code length.
    hidden_layer_sizes : tuple of int
        Widths of each tower's hidden layers.
    activation : type of nn.Module, default=nn.ReLU
        The hidden layers' non-linearity.
    dropout : tuple of float, default=(0.0, 0.0)
        Dropout on the input of the image and of the text MLP (as AlexNet's classifier drops
        its fc6 features before fc7); a custom network is left as it is.
    image_net, text_net : nn.Module or None, default=None
        A custom network (for example a :class:`ModuleTower`) to ``n_bits`` outputs that replaces
        a view's default MLP.
    """

    @validate_params(
        {**SHAPE_CONSTRAINTS, "activation": [type], "dropout": [tuple, list]},
        prefer_skip_nested_validation=True,
    )
    def __init__(
        self,
        n_image_features,
        n_text_features,
        n_bits,
        *,
        hidden_layer_sizes,
        activation=nn.ReLU,
        dropout=(0.0, 0.0),
        image_net=None,
        text_net=None,
    ):
        super().__init__()
        self.n_image_features = n_image_features
        self.n_text_features = n_text_features
        self.n_bits = n_bits
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        if len(dropout) != 2:
            raise ValueError(f"dropout must hold two rates (image, text), got {dropout!r}.")
        self.image_net, self.text_net = (
            net
            if net is not None
            else make_mlp(
                [n_in, *self.hidden_layer_sizes, n_bits],
                activation=activation,
                final_activation=False,
                input_dropout=rate,
            )
            for net, n_in, rate in zip(
                (image_net, text_net), (n_image_features, n_text_features), dropout
            )
        )

    def image_tower(self):
        return self.image_net

    def text_tower(self):
        return self.text_net


class ModuleTower(nn.Module):
    """A user-supplied module on raw inputs, then a linear layer to the width a method needs.

    The hashers train on flattened rows, so the tower first restores each sample's original shape
    (for example ``(1, 15, 16)`` pixels for a CNN), runs ``module``, flattens its output and maps
    it to ``out_features``. The module's output width is found by one forward pass on zeros.

    Parameters
    ----------
    module : torch.nn.Module
        The feature extractor, applied to batches of shape ``(batch, *input_shape)``; its output
        may have any shape ``(batch, ...)``.
    input_shape : tuple of int
        Shape of one sample as given to ``fit``.
    out_features : int
        Width of the tower's output.
    activation : type of nn.Module or None, default=None
        Non-linearity after the linear layer.
    """

    @validate_params(
        {
            "module": [nn.Module],
            "input_shape": [tuple, list],
            "out_features": _POSITIVE,
            "activation": [type, None],
        },
        prefer_skip_nested_validation=True,
    )
    def __init__(self, module, input_shape, out_features, activation=None):
        super().__init__()
        self.input_shape = tuple(int(size) for size in input_shape)
        self.module = module
        was_training = module.training
        module.eval()
        with torch.no_grad():
            n_out = module(torch.zeros(2, *self.input_shape)).reshape(2, -1).shape[1]
        module.train(was_training)
        self.head = nn.Linear(n_out, out_features)
        self.activation = activation() if activation is not None else nn.Identity()

    def forward(self, x):
        if x.layout != torch.strided:
            x = x.to_dense()  # a custom module reads dense batches
        features = self.module(x.reshape(x.shape[0], *self.input_shape))
        return self.activation(self.head(features.flatten(1)))
