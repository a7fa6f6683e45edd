"""DBRC: the multimodal binary reconstruction network and its loss (Hu, Nie and Li, 2017)."""

from numbers import Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from torch import nn
from torch.nn import functional as F

from .data import dense, scale_rows
from .layers import SHAPE_CONSTRAINTS, AdaptiveTanh, CrossModalModule, SingleViewTower, make_mlp

_RECONSTRUCTION = [StrOptions({"mse", "bce"})]


class DBRCModule(CrossModalModule):
    """Two encoders fused by summation into one ATanh binary layer, and one decoder per view.

    Parameters
    ----------
    n_image_features, n_text_features : int
        Input widths.
    n_bits : int
        Code length.
    hidden_layer_sizes : tuple of int
        Encoder widths; each decoder mirrors them.
    scaling : {"linear", "nonlinear", "fixed"}
        The Adaptive Tanh variant; ``"fixed"`` is a plain tanh.
    modality_dropout : float
        Probability that a training pair has one of its views zeroed (each view equally likely), so
        that single-view queries encode well.
    hash_batch_norm : bool
        Standardise each bit's pre-activation over the batch (batch normalisation without affine
        parameters) in front of ATanh. Not in the paper: it fixes the scale of ``h``, so that
        ``alpha`` alone sets how binary the outputs are.
    image_net, text_net : nn.Module or None, default=None
        A custom encoder (for example a :class:`ModuleTower`) to use instead of a view's default
        MLP; it must output ``hidden_layer_sizes[-1]`` features.
    """

    @validate_params(
        {
            **SHAPE_CONSTRAINTS,
            "scaling": [StrOptions({"linear", "nonlinear", "fixed"})],
            "modality_dropout": [Interval(Real, 0, 1, closed="both")],
            "hash_batch_norm": ["boolean"],
        },
        prefer_skip_nested_validation=True,
    )
    def __init__(
        self,
        n_image_features,
        n_text_features,
        n_bits,
        *,
        hidden_layer_sizes,
        scaling,
        modality_dropout,
        hash_batch_norm,
        image_net=None,
        text_net=None,
    ):
        super().__init__()
        hidden = list(hidden_layer_sizes)
        self.n_image_features = n_image_features
        self.n_text_features = n_text_features
        self.n_bits = n_bits
        self.modality_dropout = modality_dropout
        self.image_net = (
            image_net if image_net is not None else make_mlp([n_image_features, *hidden])
        )
        self.text_net = text_net if text_net is not None else make_mlp([n_text_features, *hidden])
        # The paper's hash layer is a linear map and ATanh. The optional batch normalisation
        # fixes the scale of ``h``, so that alpha, not the linear weights, decides how close
        # ``tanh(alpha * h)`` gets to +-1 (without it the network can shrink the weights as
        # alpha grows); it is not in the paper and costs retrieval (docs: mechanisms).
        self.hash_layer = nn.Sequential(
            nn.Linear(hidden[-1], n_bits),
            *([nn.BatchNorm1d(n_bits, affine=False)] if hash_batch_norm else []),
            AdaptiveTanh(n_bits, scaling=scaling),
        )
        self.image_decoder = make_mlp(
            [n_bits, *hidden[::-1], n_image_features], final_activation=False
        )
        self.text_decoder = make_mlp(
            [n_bits, *hidden[::-1], n_text_features], final_activation=False
        )

    @property
    def atanh(self):
        return self.hash_layer[-1]

    def forward(self, image, text):
        if self.training and self.modality_dropout > 0:
            draw = torch.rand(image.shape[0], 1, device=image.device)
            image = scale_rows(image, draw >= self.modality_dropout / 2)
            text = scale_rows(
                text, (draw < self.modality_dropout / 2) | (draw >= self.modality_dropout)
            )
        codes = self.hash_layer(self.image_net(image) + self.text_net(text))
        return codes, self.image_decoder(codes), self.text_decoder(codes), self.atanh.penalty()

    def relax(self, outputs):
        """The ATanh layer's own outputs: the towers end in it."""
        return outputs

    def health(self):
        """``alpha``, the ATanh scale of each bit, and ``alpha_mean``."""
        alpha = self.atanh.alpha.detach().cpu().numpy().astype(np.float64)
        return {"alpha": alpha, "alpha_mean": float(alpha.mean())}

    def image_hash_inputs(self, image):
        """What the hash layer reads for a batch of images alone, for diagnosis: the fused
        features (the text side at its zero-input offset, as in :meth:`image_tower`) and the
        linear output ``h`` before ATanh. Returns ``(features, h)``, without gradients."""
        with torch.no_grad():
            features = self.image_net(image) + self._offset(self.text_net, self.n_text_features)
            return features, self.hash_layer[0](features)

    def _offset(self, encoder, n_features):
        with torch.no_grad():
            device = next(encoder.parameters()).device
            return encoder(torch.zeros(1, n_features, device=device))[0]

    def image_tower(self):
        return SingleViewTower(
            self.image_net,
            self.hash_layer,
            self._offset(self.text_net, self.n_text_features),
        )

    def text_tower(self):
        return SingleViewTower(
            self.text_net,
            self.hash_layer,
            self._offset(self.image_net, self.n_image_features),
        )


class DBRCLoss(nn.Module):
    """Reconstruction of both views from the shared code, plus the ATanh penalty.

    ``loss = rec(image) + rec(text) + alpha_penalty_weight * sum(1 / alpha**2)``, where ``rec``
    is the mean squared error on standardised features or, for binary bag-of-words, binary
    cross-entropy.
    """

    @validate_params(
        {
            "alpha_penalty_weight": [Interval(Real, 0, None, closed="left")],
            "image_loss": _RECONSTRUCTION,
            "text_loss": _RECONSTRUCTION,
        },
        prefer_skip_nested_validation=True,
    )
    def __init__(self, *, alpha_penalty_weight, image_loss, text_loss):
        super().__init__()
        self.alpha_penalty_weight = alpha_penalty_weight
        self.image_loss = image_loss
        self.text_loss = text_loss

    @staticmethod
    def _reconstruction(kind, prediction, target):
        if kind == "bce":
            return F.binary_cross_entropy_with_logits(prediction, target)
        return F.mse_loss(prediction, target)

    def forward(self, y_pred, y_true, X):
        _, image_rec, text_rec, penalty = y_pred
        return (
            self._reconstruction(self.image_loss, image_rec, dense(X["image"]))
            + self._reconstruction(self.text_loss, text_rec, dense(X["text"]))
            + self.alpha_penalty_weight * penalty
        )
