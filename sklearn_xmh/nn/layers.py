"""Torch building blocks shared by the methods: MLP towers, Adaptive Tanh, single-view towers."""

import torch
from torch import nn
from torch.nn import functional as F


def make_mlp(sizes, *, activation=nn.ReLU, final_activation=True, dropout=0.0):
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
    """
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2 or final_activation:
            layers.append(activation())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class AdaptiveTanh(nn.Module):
    """Adaptive Tanh (ATanh) of DBRC: ``tanh(alpha * h)``, a learnable positive ``alpha`` per bit.

    ``scaling="linear"`` computes ``tanh(alpha * h)``. ``scaling="nonlinear"`` computes
    ``tanh(alpha * h + c * h**3)`` with ``alpha = softplus(a)`` and ``c = softplus(b)``, a positive,
    monotone non-linear scale. These are our reading of the paper's linear and non-linear variants.
    :meth:`penalty` is ``sum(1 / alpha**2)``, which training adds to push ``alpha`` up so that the
    outputs approach +-1 while early gradients stay alive.

    Parameters
    ----------
    n_bits : int
        Width of the layer.
    scaling : {"linear", "nonlinear"}, default="linear"
        The scaling variant.
    """

    def __init__(self, n_bits, scaling="linear"):
        super().__init__()
        self.scaling = scaling
        # softplus(0.5413) == 1.0: both parametrisations start at alpha == 1.
        init = 1.0 if scaling == "linear" else 0.5413
        self.alpha_param = nn.Parameter(torch.full((n_bits,), init))
        if scaling == "nonlinear":
            self.cubic_param = nn.Parameter(torch.full((n_bits,), -4.0))

    @property
    def alpha(self):
        if self.scaling == "linear":
            return self.alpha_param.clamp_min(1e-2)
        return F.softplus(self.alpha_param)

    def forward(self, h):
        scaled = self.alpha * h
        if self.scaling == "nonlinear":
            scaled = scaled + F.softplus(self.cubic_param) * h.clamp(-3.0, 3.0) ** 3
        return torch.tanh(scaled)

    def penalty(self):
        return (1.0 / self.alpha**2).sum()


class SingleViewTower(nn.Module):
    """One view's path to the pre-binarisation output, for a network that fuses two views.

    Computes ``head(encoder(x) + offset)``, where ``offset`` is the other view's encoder output on
    an all-zero (that is, mean, after standardisation) input: an image-only query is encoded as
    ``(x, 0)``.
    """

    def __init__(self, encoder, head, offset):
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.register_buffer("offset", offset.detach().clone())

    def forward(self, x):
        return self.head(self.encoder(x) + self.offset)


class TwoTowers(nn.Module):
    """An image and a text tower, each ``d -> hidden -> n_bits`` by default, whose raw outputs
    a method's ``forward`` squashes (tanh, a scaled tanh, a sigmoid).

    The squashing keeps the sign, so :meth:`image_tower` and :meth:`text_tower`, the paths to
    the pre-binarisation outputs, are the towers themselves.

    Parameters
    ----------
    n_image_features, n_text_features : int
        Input widths.
    n_bits : int
        Code length.
    image_hidden_size, text_hidden_size : int
        Width of each tower's hidden layer.
    activation : type of nn.Module, default=nn.ReLU
        The hidden layers' non-linearity.
    image_net, text_net : nn.Module or None, default=None
        A custom network (for example a :class:`ModuleTower`) to ``n_bits`` outputs that replaces
        a view's default MLP.
    """

    def __init__(
        self,
        n_image_features,
        n_text_features,
        n_bits,
        image_hidden_size,
        text_hidden_size,
        *,
        activation=nn.ReLU,
        image_net=None,
        text_net=None,
    ):
        super().__init__()
        self.n_image_features = n_image_features
        self.n_text_features = n_text_features
        self.n_bits = n_bits
        widths = ((n_image_features, image_hidden_size), (n_text_features, text_hidden_size))
        self.image_net, self.text_net = (
            net
            if net is not None
            else make_mlp([n_in, hidden, n_bits], activation=activation, final_activation=False)
            for net, (n_in, hidden) in zip((image_net, text_net), widths)
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
        features = self.module(x.reshape(x.shape[0], *self.input_shape))
        return self.activation(self.head(features.flatten(1)))
