"""CCA-ITQ: the linear baseline every deep method must beat.

Yunchao Gong, Svetlana Lazebnik, Albert Gordo and Florent Perronnin. "Iterative Quantization: A
Procrustean Approach to Learning Binary Codes for Large-Scale Image Retrieval." IEEE TPAMI 2013
(section 5, the CCA-ITQ variant).
"""

from numbers import Integral, Real

import numpy as np
from scipy import linalg
from scipy.sparse import issparse
from sklearn.utils._param_validation import Interval

from ._encoders import LinearProjection
from .base import BaseCrossModalHasher
from .utils._docs import fill_doc


def _float64_blocks(view, mean=None):
    """The preprocessed ``view``, a block of rows at a time, dense float64, minus ``mean``."""
    for block in view.blocks():
        block = np.asarray(block.toarray() if issparse(block) else block, dtype=np.float64)
        yield block if mean is None else block - mean


def _inverse_sqrt(C):
    eigenvalues, eigenvectors = linalg.eigh(C)
    return (eigenvectors / np.sqrt(np.maximum(eigenvalues, 1e-12))) @ eigenvectors.T


@fill_doc
class CCAITQHasher(BaseCrossModalHasher):
    """Cross-modal hashing by regularised CCA followed by an ITQ rotation.

    Regularised canonical correlation analysis projects both (standardised) views into a common
    space, each canonical direction scaled by its correlation. Iterative quantisation (ITQ) then
    learns one orthogonal rotation of the joint projections of both views that minimises the
    quantisation error, and the codes are the signs. Needs no torch.

    When the views share fewer than ``n_bits`` canonical directions (for instance a 10-d topic
    vector text view), the canonical space is extended deterministically to ``n_bits`` dimensions
    by a Gaussian random projection seeded by ``random_state``, shared by both views.

    Parameters
    ----------
    n_bits : int, default=64
        Code length, at most 1024 (the ITQ rotation is ``n_bits x n_bits``).
    reg : float, default=1e-3
        Ridge added to each view's covariance, relative to its mean variance.
    n_iter : int, default=50
        ITQ iterations.
    %(preprocessor_parameters)s
    %(random_state)s

    Attributes
    ----------
    correlations_ : ndarray of shape (n_components,)
        Canonical correlations of the kept directions.
    rotation_ : ndarray of shape (n_bits, n_bits)
        The learned ITQ rotation.
    image_encoder_, text_encoder_ : ModalityEncoder
        Standalone fitted encoders of each view.
    n_features_in_ : int
        Number of image features.
    n_text_features_in_ : int
        Number of text features.

    See Also
    --------
    DBRCHasher : Deep binary reconstruction.

    References
    ----------
    .. [1] Y. Gong, S. Lazebnik, A. Gordo and F. Perronnin, "Iterative Quantization: A Procrustean
       Approach to Learning Binary Codes for Large-Scale Image Retrieval", IEEE TPAMI 35(12), 2013.

    Examples
    --------
    >>> from sklearn_xmh import CCAITQHasher
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> data = make_cross_modal(n_samples=200, random_state=0)
    >>> hasher = CCAITQHasher(n_bits=16, random_state=0).fit(data.X_image, data.X_text)
    >>> hasher.transform(data.X_image).shape
    (200, 16)
    """

    _parameter_constraints: dict = {
        **BaseCrossModalHasher._parameter_constraints,
        # The ITQ rotation is n_bits x n_bits, rotated 50 times: more bits than this take
        # minutes and gigabytes, and no view pair has that many canonical directions.
        "n_bits": [Interval(Integral, 1, 1024, closed="both")],
        "reg": [Interval(Real, 0, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_bits=64,
        *,
        reg=1e-3,
        n_iter=50,
        image_preprocessor=None,
        text_preprocessor=None,
        code_format="bits",
        random_state=None,
    ):
        self.n_bits = n_bits
        self.reg = reg
        self.n_iter = n_iter
        self.image_preprocessor = image_preprocessor
        self.text_preprocessor = text_preprocessor
        self.code_format = code_format
        self.random_state = random_state

    def _fit_towers(self, image, text, labels, random_state, *, device, **inputs):
        # Every statistic is a sum over rows, so the preprocessed views are read a block of
        # rows at a time, in float64: memory grows by the covariances and the projections, not
        # by a copy of the views. (With one block this is the arithmetic of a whole-view fit.)
        n_samples = image.n_samples
        mean_image = sum(block.sum(axis=0) for block in _float64_blocks(image)) / n_samples
        mean_text = sum(block.sum(axis=0) for block in _float64_blocks(text)) / n_samples
        Cxx = Cyy = Cxy = 0.0
        for X, Y in zip(_float64_blocks(image, mean_image), _float64_blocks(text, mean_text)):
            Cxx, Cyy, Cxy = Cxx + X.T @ X, Cyy + Y.T @ Y, Cxy + X.T @ Y
        n = max(n_samples - 1, 1)

        def covariance(C):
            C = C / n
            return C + self.reg * max(np.trace(C) / C.shape[0], 1e-12) * np.eye(C.shape[0])

        whiten_image, whiten_text = _inverse_sqrt(covariance(Cxx)), _inverse_sqrt(covariance(Cyy))
        U, correlations, Vt = linalg.svd(whiten_image @ (Cxy / n) @ whiten_text)
        n_components = min(self.n_bits, correlations.size)
        scale = correlations[:n_components]
        W_image = whiten_image @ U[:, :n_components] * scale
        W_text = whiten_text @ Vt[:n_components].T * scale
        if n_components < self.n_bits:
            extension = random_state.standard_normal((n_components, self.n_bits))
            W_image, W_text = W_image @ extension, W_text @ extension

        # ITQ on the joint projections of both views: one rotation, one Hamming space.
        V = np.vstack(
            [X @ W_image for X in _float64_blocks(image, mean_image)]
            + [Y @ W_text for Y in _float64_blocks(text, mean_text)]
        )
        rotation = linalg.qr(random_state.standard_normal((self.n_bits, self.n_bits)))[0]
        for _ in range(self.n_iter):
            B = np.where(V @ rotation >= 0, 1.0, -1.0)
            left, _, right = linalg.svd(V.T @ B)
            rotation = left @ right
        self.correlations_ = scale
        self.rotation_ = rotation
        W_image, W_text = W_image @ rotation, W_text @ rotation
        return (
            LinearProjection(W_image, -mean_image @ W_image),
            LinearProjection(W_text, -mean_text @ W_text),
        )
