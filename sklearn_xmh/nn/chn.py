"""CHN: the two tanh hashing towers, the cosine max-margin loss with quantization control, and the
memory-bank net (Cao, Long, Wang and Yu, BMVC 2017)."""

import math
from contextlib import contextmanager
from numbers import Real

import torch
from sklearn.utils._param_validation import Interval, validate_params
from skorch.utils import to_tensor
from torch import nn
from torch.nn import functional as F

from .layers import TwoTowers
from .net import CrossModalAccelerateMixin, CrossModalNet, register_accelerated

_REAL = [Interval(Real, None, None, closed="neither")]


class CHNModule(TwoTowers):
    """An image and a text tower, each ``d -> hidden (ReLU) -> n_bits``, then ``tanh``.

    It takes the parameters of :class:`TwoTowers` (ReLU hidden layers).
    """

    def forward(self, image, text):
        return torch.tanh(self.image_net(image)), torch.tanh(self.text_net(text))


@validate_params(
    {"labels_a": [torch.Tensor], "labels_b": [torch.Tensor]}, prefer_skip_nested_validation=True
)
def label_similarity(labels_a, labels_b):
    """``s_ij = +1`` when items ``i`` and ``j`` share a label, ``-1`` otherwise.

    Parameters
    ----------
    labels_a : torch.Tensor of shape (m, n_classes)
    labels_b : torch.Tensor of shape (p, n_classes)
        Multi-hot (or one-hot) label indicators.

    Returns
    -------
    S : torch.Tensor of shape (m, p)
    """
    return torch.where(labels_a @ labels_b.T > 0, 1.0, -1.0)


@validate_params(
    {
        "codes_a": [torch.Tensor],
        "codes_b": [torch.Tensor],
        "similarity": [torch.Tensor],
        "margin": _REAL,
        "balanced": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def cosine_max_margin(codes_a, codes_b, similarity, margin, *, balanced=False):
    """CHN's structured max-margin loss: the mean of ``max(0, margin - s_ij cos(a_i, b_j))``
    over all pairs.

    With ``balanced=True`` the similar and the dissimilar pairs each carry half the weight, so
    that the far more numerous dissimilar pairs of a many-class problem cannot be satisfied by
    the degenerate solution of opposite constant codes for the two views.
    """
    cos = F.normalize(codes_a, dim=1) @ F.normalize(codes_b, dim=1).T
    hinge = F.relu(margin - similarity * cos)
    if not balanced:
        return hinge.mean()
    # Each kind's mean by masked sums, so that no step waits on the device for a count (and
    # a CUDA graph can capture it); a kind absent from the batch drops out of the average.
    similar = (similarity > 0).to(hinge.dtype)
    counts = torch.stack([similar.sum(), similar.numel() - similar.sum()])
    sums = torch.stack([(hinge * similar).sum(), (hinge * (1 - similar)).sum()])
    present = counts > 0
    return (sums / counts.clamp_min(1)).sum() / present.sum()


@validate_params({"codes": [torch.Tensor], "margin": _REAL}, prefer_skip_nested_validation=True)
def quantization_loss(codes, margin):
    """CHN's quantization control, the mean of ``max(0, margin - cos(|u|, 1))`` over codes.

    ``cos(|u|, 1) = sum|u_k| / (||u|| sqrt(K))`` is 1 exactly when every bit of ``u`` has the same
    magnitude, so the loss pushes all bits of a relaxed code towards +-1 together.
    """
    n_bits = codes.shape[1]
    cos = codes.abs().sum(dim=1) / (codes.norm(dim=1) * math.sqrt(n_bits)).clamp_min(1e-12)
    return F.relu(margin - cos).mean()


class CHNLoss(nn.Module):
    """The cosine max-margin loss over cross-modal pairs plus quantization control of both views.

    ``L = mean_ij max(0, margin - s_ij cos(u_i, v_j)) + quantization_weight (Q(u) + Q(v))``
    with ``Q(u) = mean_i max(0, quantization_margin - cos(|u_i|, 1))``. The hinge is applied to
    the plain margin violation (never squared inside), so it turns off once a pair is far
    enough.

    With a memory bank ``(U, V, Y)`` of every training pair's latest codes and labels, each batch
    image ``u_i`` is compared with every bank text ``V_j`` and each batch text with every bank
    image, so that a batch sees all training pairs; the two directions are averaged.

    Parameters
    ----------
    margin : float
        Margin of the cosine hinge.
    quantization_margin : float
        Margin of the quantization hinge.
    quantization_weight : float
        Weight of the quantization terms.
    balanced : bool
        Give the similar and the dissimilar pairs half the weight each (see
        :func:`cosine_max_margin`); False takes the plain mean over pairs.
    """

    @validate_params(
        {
            "margin": _REAL,
            "quantization_margin": _REAL,
            "quantization_weight": [Interval(Real, 0, None, closed="left")],
            "balanced": ["boolean"],
        },
        prefer_skip_nested_validation=True,
    )
    def __init__(self, *, margin, quantization_margin, quantization_weight, balanced):
        super().__init__()
        self.margin = margin
        self.quantization_margin = quantization_margin
        self.quantization_weight = quantization_weight
        self.balanced = balanced

    def forward(self, y_pred, y_true, X=None, bank=None):
        codes_image, codes_text = y_pred
        labels = y_true.to(codes_image.dtype)
        if bank is None:
            pairs = cosine_max_margin(
                codes_image,
                codes_text,
                label_similarity(labels, labels),
                self.margin,
                balanced=self.balanced,
            )
        else:
            bank_image, bank_text, bank_labels = bank
            similarity = label_similarity(labels, bank_labels)
            pairs = 0.5 * (
                cosine_max_margin(
                    codes_image, bank_text, similarity, self.margin, balanced=self.balanced
                )
                + cosine_max_margin(
                    codes_text, bank_image, similarity, self.margin, balanced=self.balanced
                )
            )
        quantization = quantization_loss(codes_image, self.quantization_margin) + quantization_loss(
            codes_text, self.quantization_margin
        )
        return pairs + self.quantization_weight * quantization


class CHNNet(CrossModalNet):
    """The CHN net, with an optional memory bank of every training pair's codes.

    Parameters
    ----------
    module, criterion : see :class:`skorch.NeuralNet`
    memory_bank : bool
        Keep the latest codes of all training pairs: the bank starts from the network's codes at
        the start of training and each batch refreshes its own rows, so that the loss of a batch
        covers its pairs with every training item of the other view (DCMH-style training).
    """

    def __init__(self, module, *args, memory_bank, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.memory_bank = memory_bank

    @contextmanager
    def training_state(self, X, y=None):
        self._bank = None
        if self.memory_bank:
            codes_image, codes_text = self.forward(X, training=False, device=self.device)
            labels = to_tensor(y, device=self.device).to(codes_image.dtype)
            self._bank = (codes_image.detach(), codes_text.detach(), labels)
        try:
            yield
        finally:
            # The bank is training state only: it is neither pickled nor kept.
            del self._bank

    def get_loss(self, y_pred, y_true, X=None, training=False):
        bank = getattr(self, "_bank", None)
        if not (training and bank is not None):
            return super().get_loss(y_pred, y_true, X=X, training=training)
        X, y_true = self._on_device(X, y_true)
        bank_image, bank_text, _ = bank
        index = X["index"].to(bank_image.device).long()
        bank_image[index] = y_pred[0].detach()
        bank_text[index] = y_pred[1].detach()
        return self.criterion_(y_pred, y_true, X, bank=bank)


class AcceleratedCHNNet(CrossModalAccelerateMixin, CHNNet):
    """:class:`CHNNet` trained through accelerate; a memory bank then holds the codes each
    process has seen."""


register_accelerated(CHNNet, AcceleratedCHNNet)
