"""CHN: Correlation Hashing Network, supervised cross-modal hashing.

Yue Cao, Mingsheng Long, Jianmin Wang and Philip S. Yu. "Correlation Hashing Network for Efficient
Cross-Modal Retrieval." BMVC 2017, arXiv:1602.06697.
"""

from numbers import Real

from sklearn.utils._param_validation import Interval

from .base import BaseDeepHasher
from .utils._docs import fill_doc
from .utils._validation import label_indicator, warn_degenerate_labels


@fill_doc
class CHNHasher(BaseDeepHasher):
    """Supervised cross-modal hashing with a cosine max-margin loss (CHN).

    Each view has a tower ``d -> hidden (ReLU) -> n_bits`` ending in ``tanh``. An image and a text
    are similar (``s_ij = +1``) when they share a label and dissimilar (``-1``) otherwise, and the
    structured max-margin loss ``mean max(0, margin - s_ij cos(u_i, v_j))`` over the cross-modal
    pairs of a batch pulls similar pairs together and pushes dissimilar ones apart in cosine. The
    quantization control ``quantization_weight * mean max(0, quantization_margin - cos(|u|,
    1))``, for both views, pushes
    every bit of a relaxed code towards +-1. Codes are the signs of the tower outputs.

    This is a supervised method: :meth:`fit` requires ``labels``.

    Read more in the :ref:`User Guide <methods>`.

    Parameters
    ----------
    %(n_bits)s
    hidden_layer_sizes : tuple of int, default=(1024,)
        Widths of the hidden layers of each tower (one of 4096 in the reference designs).
    margin : float, default=0.3
        Margin of the cosine hinge.
    quantization_margin : float, default=0.9
        Margin of the quantization hinge. ``cos(|u|, 1)`` of a relaxed code with Gaussian-like
        entries is already about 0.8, so at the paper's starting value of 0.5 the term only acts
        on codes with a few dominant bits (and gives the same codes as
        ``quantization_weight=0``); at 0.9 it pushes every code towards +-1.
    quantization_weight : float, default=0.1
        Weight of the quantization terms.
    balanced : bool, default=True
        Give the similar and the dissimilar pairs half the loss weight each. With many classes
        almost every pair is dissimilar, and the plain mean (``balanced=False``, the paper's
        form) is then minimised by the degenerate solution of one constant code per view, the
        text code the opposite of the image code. Balancing keeps the objective's form and
        removes that solution.
    memory_bank : bool, default=False
        Compare every batch with the latest codes of all training pairs of the other view, so
        that each batch sees every pair, rather than with the batch's own pairs only.
    image_dropout : float, default=0.5
        Dropout on the image tower's input, against the image tower's overfitting of the
        training pairs (which held image->text on Wiki below CCA-ITQ without it).
    text_dropout : float, default=0.0
        Dropout on the text tower's input.
    learning_rate : float, default=1e-3
        Adam learning rate.
    weight_decay : float, default=0.0
        Adam weight decay.
    batch_size : int, default=128
        Training mini-batch size.
    max_epochs : int, default=40
        Training epochs. The defaults of ``margin``, ``max_epochs``, ``image_dropout`` and
        ``quantization_margin`` come from 3-fold cross-validation on the training pairs of
        Wiki and UCI with their labels, scored by the library's mAP@50 scorer over both
        directions, among margins 0.1-0.7, 5-150 epochs, dropouts 0-0.8, learning rates,
        widths, weight decays, ``memory_bank`` and quantization settings (see
        :ref:`mechanisms`); the other defaults are the paper's starting values.
    %(deep_parameters)s

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained network.
    %(deep_attributes)s

    See Also
    --------
    DBRCHasher, DJSRHHasher, UGACHHasher : The unsupervised deep methods.

    Notes
    -----
    A custom ``image_module`` / ``text_module`` is mapped linearly to the ``n_bits`` pre-tanh
    outputs.

    References
    ----------
    .. [1] Y. Cao, M. Long, J. Wang and P. S. Yu, "Correlation Hashing Network for Efficient
       Cross-Modal Retrieval", BMVC 2017, arXiv:1602.06697.

    Examples
    --------
    >>> from sklearn_xmh import CHNHasher
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> data = make_cross_modal(n_samples=200, random_state=0)
    >>> hasher = CHNHasher(n_bits=16, max_epochs=5, random_state=0)
    >>> hasher.fit(data.X_image, data.X_text, labels=data.labels).transform(data.X_image).shape
    (200, 16)
    >>> hasher.transform_text(data.X_text).shape
    (200, 16)
    """

    _parameter_constraints: dict = {
        **BaseDeepHasher._parameter_constraints,
        "hidden_layer_sizes": [tuple, list],
        "margin": [Interval(Real, None, None, closed="neither")],
        "quantization_margin": [Interval(Real, None, None, closed="neither")],
        "quantization_weight": [Interval(Real, 0, None, closed="left")],
        "balanced": ["boolean"],
        "memory_bank": ["boolean"],
        "image_dropout": [Interval(Real, 0, 1, closed="left")],
        "text_dropout": [Interval(Real, 0, 1, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        n_bits=64,
        *,
        hidden_layer_sizes=(1024,),
        margin=0.3,
        quantization_margin=0.9,
        quantization_weight=0.1,
        balanced=True,
        memory_bank=False,
        image_dropout=0.5,
        text_dropout=0.0,
        learning_rate=1e-3,
        weight_decay=0.0,
        batch_size=128,
        max_epochs=40,
        image_preprocessor=None,
        text_preprocessor=None,
        code_format="bits",
        device="cpu",
        cuda_graph="auto",
        accelerator=None,
        callbacks=None,
        validation_fraction=None,
        n_iter_no_change=10,
        warm_start=False,
        verbose=0,
        random_state=None,
        image_module=None,
        text_module=None,
        **kwargs,
    ):
        self.n_bits = n_bits
        self.hidden_layer_sizes = hidden_layer_sizes
        self.margin = margin
        self.quantization_margin = quantization_margin
        self.quantization_weight = quantization_weight
        self.balanced = balanced
        self.memory_bank = memory_bank
        self.image_dropout = image_dropout
        self.text_dropout = text_dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.image_preprocessor = image_preprocessor
        self.text_preprocessor = text_preprocessor
        self.code_format = code_format
        self.device = device
        self.cuda_graph = cuda_graph
        self.accelerator = accelerator
        self.callbacks = callbacks
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state
        self.image_module = image_module
        self.text_module = text_module
        self._set_module_params(kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.hasher_tags.supervised = True
        return tags

    def _prepare_labels(self, labels, n_samples):
        # Class ids and multi-hot labels both become 0/1 indicators: s_ij is their overlap.
        indicator = label_indicator(super()._prepare_labels(labels, n_samples))
        warn_degenerate_labels(indicator, self)
        return indicator

    def _build_module(self, image, text):
        from .nn import CHNModule

        return CHNModule(
            image.n_features,
            text.n_features,
            self.n_bits,
            hidden_layer_sizes=self.hidden_layer_sizes,
            dropout=(self.image_dropout, self.text_dropout),
            image_net=self._view_net("image", image.sample_shape, self.n_bits),
            text_net=self._view_net("text", text.sample_shape, self.n_bits),
        )

    def _build_loss(self):
        from .nn import CHNLoss

        return CHNLoss(
            margin=self.margin,
            quantization_margin=self.quantization_margin,
            quantization_weight=self.quantization_weight,
            balanced=self.balanced,
        )

    def _net_class(self):
        from .nn import CHNNet

        return CHNNet

    def _net_params(self, image, text):
        return {
            **super()._net_params(image, text),
            "lr": self.learning_rate,
            "memory_bank": self.memory_bank,
        }
