"""DJSRH: the two hashing towers, the joint-semantics affinity, the reconstruction loss and the
alpha schedule (Su, Zhong and Zhang, ICCV 2019)."""

import math
from numbers import Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, validate_params
from skorch.callbacks import Callback
from torch import nn
from torch.nn import functional as F

from .data import dense
from .layers import TwoTowers
from .net import unwrapped


class DJSRHModule(TwoTowers):
    """An image and a text tower, each ``d -> hidden (ReLU) -> n_bits``, then ``tanh(alpha * h)``.

    On precomputed features a single hidden ReLU layer stands in for AlexNet's fc6/fc7 on the
    image side. ``alpha`` is set from outside by :class:`DJSRHAlphaSchedule`.

    It takes the parameters of :class:`TwoTowers` (ReLU hidden layers).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The tanh scale, which the schedule sets in place every epoch: a tensor, so that a
        # captured training step (a CUDA graph) reads its current value.
        self.register_buffer("alpha", torch.ones(()))

    def forward(self, image, text):
        return (
            torch.tanh(self.alpha * self.image_net(image)),
            torch.tanh(self.alpha * self.text_net(text)),
        )

    def relax(self, outputs):
        """``tanh(alpha * outputs)``, at the scale the schedule reached."""
        return np.tanh(float(self.alpha) * outputs)

    def health(self):
        """``alpha``, the tanh scale the schedule reached."""
        return {"alpha": float(self.alpha)}


# How a view's cosines become affinities.
AFFINITIES = ("shifted", "cosine")

_AFFINITY_CONSTRAINTS = {
    "beta": [Interval(Real, 0, 1, closed="both")],
    "eta": [Interval(Real, 0, 1, closed="both")],
    "mu": [Interval(Real, 0, None, closed="neither")],
}


def _view_affinity(features, kind):
    features = F.normalize(features, dim=1)
    cosine = features @ features.T
    return cosine if kind == "cosine" else 2.0 * cosine - 1.0


@validate_params(
    {
        "image": [torch.Tensor],
        "text": [torch.Tensor],
        **_AFFINITY_CONSTRAINTS,
        "affinity": [tuple, list],
    },
    prefer_skip_nested_validation=True,
)
def joint_semantics_affinity(image, text, *, beta, eta, mu, affinity=("shifted", "shifted")):
    """The joint-semantics affinity matrix of a mini-batch of ``m`` pairs (DJSRH, eq. 2-4).

    ``S_I`` and ``S_T`` are the cosine affinities of the image and the text input features;
    ``S~ = beta S_I + (1 - beta) S_T``; ``S = mu ((1 - eta) S~ + eta S~ S~^T / m)``.

    A view's affinity is ``2 cos - 1`` (``"shifted"``, the reference's, which maps the cosines
    of non-negative features, in [0, 1], onto [-1, 1]; signed features' reach -3) or the
    cosine itself (``"cosine"``, in [-1, 1] for any features).

    Parameters
    ----------
    image : torch.Tensor of shape (m, n_image_features)
    text : torch.Tensor of shape (m, n_text_features)
    beta, eta, mu : float
        Weight of the image affinity, weight of the second-order term, and scale.
    affinity : tuple of {"shifted", "cosine"}, default=("shifted", "shifted")
        The affinity of the image and of the text view.

    Returns
    -------
    S : torch.Tensor of shape (m, m)
    """
    if len(affinity) != 2 or not set(affinity) <= set(AFFINITIES):
        raise ValueError(
            f"affinity must be two of {AFFINITIES} (image, text), got {tuple(affinity)!r}."
        )
    S_image = _view_affinity(image, affinity[0])
    S_text = _view_affinity(text, affinity[1])
    S_tilde = beta * S_image + (1.0 - beta) * S_text
    # The second-order term: two pairs are similar when they have similar neighbours (eq. 3).
    S = (1.0 - eta) * S_tilde + eta * (S_tilde @ S_tilde.T) / S_tilde.shape[0]
    return mu * S


class DJSRHLoss(nn.Module):
    """Reconstruct the joint-semantics affinity from the cosine similarities of the codes.

    ``L = w_I MSE(B_I B_I^T, S) + MSE(B_I B_T^T, S) + w_T MSE(B_T B_T^T, S)`` with
    L2-normalised relaxed codes ``B_I``, ``B_T`` and ``S`` from :func:`joint_semantics_affinity`
    (DJSRH, eq. 5-7). Each MSE is the mean over all ``m**2`` entries. The affinity reads the
    batch's ``X["image_affinity"]`` and ``X["text_affinity"]`` where it holds them (the features
    as given, as the reference computes it on raw AlexNet features and bags of words), else the
    network inputs ``X["image"]`` and ``X["text"]``.

    Parameters
    ----------
    beta, eta, mu : float
        Parameters of the affinity.
    intra_image_weight, intra_text_weight : float
        Weights ``w_I`` and ``w_T`` of the image-image and text-text reconstruction terms
        (``lambda1`` and ``lambda2`` of the paper).
    affinity : tuple of {"shifted", "cosine"}, default=("shifted", "shifted")
        Each view's affinity (see :func:`joint_semantics_affinity`).
    """

    @validate_params(
        {
            **_AFFINITY_CONSTRAINTS,
            "intra_image_weight": [Interval(Real, 0, None, closed="left")],
            "intra_text_weight": [Interval(Real, 0, None, closed="left")],
            "affinity": [tuple, list],
        },
        prefer_skip_nested_validation=True,
    )
    def __init__(
        self, *, beta, eta, mu, intra_image_weight, intra_text_weight, affinity=("shifted",) * 2
    ):
        super().__init__()
        self.beta = beta
        self.eta = eta
        self.mu = mu
        self.affinity = tuple(affinity)
        self.intra_image_weight = intra_image_weight
        self.intra_text_weight = intra_text_weight

    def forward(self, y_pred, y_true, X):
        codes_image, codes_text = y_pred
        with torch.no_grad():
            S = joint_semantics_affinity(
                dense(X.get("image_affinity", X["image"])),
                dense(X.get("text_affinity", X["text"])),
                beta=self.beta,
                eta=self.eta,
                mu=self.mu,
                affinity=self.affinity,
            )
        B_image = F.normalize(codes_image, dim=1)
        B_text = F.normalize(codes_text, dim=1)
        return (
            self.intra_image_weight * F.mse_loss(B_image @ B_image.T, S)
            + F.mse_loss(B_image @ B_text.T, S)
            + self.intra_text_weight * F.mse_loss(B_text @ B_text.T, S)
        )


class DJSRHAlphaSchedule(Callback):
    """Set the towers' tanh scale to ``alpha = sqrt(epoch + 1)`` at the start of every epoch.

    A slowly steepening tanh lets gradients flow early and pushes the relaxed codes towards +-1
    late in training. Epochs count from 0 and continue across warm starts.
    """

    def on_epoch_begin(self, net, **kwargs):
        # skorch has already opened this epoch's history row, so ``len - 1`` is its 0-based index.
        unwrapped(net.module_).alpha.fill_(math.sqrt(len(net.history)))
