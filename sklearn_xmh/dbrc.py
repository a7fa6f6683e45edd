"""DBRC: Deep Binary Reconstruction for cross-modal hashing.

Di Hu, Feiping Nie and Xuelong Li. "Deep Binary Reconstruction for Cross-modal Hashing." ACM
Multimedia 2017; IEEE Transactions on Multimedia 2019. arXiv:1708.05127.
"""

from numbers import Real

from sklearn.utils._param_validation import Interval, StrOptions

from .base import BaseDeepHasher
from .utils._docs import fill_doc


@fill_doc
class DBRCHasher(BaseDeepHasher):
    """Unsupervised cross-modal hashing by multimodal binary reconstruction (DBRC).

    An encoder per view feeds one shared binary layer with Adaptive Tanh (ATanh) activations, and a
    decoder per view reconstructs *both* views from that layer, so the codes are learned directly
    rather than relaxed and thresholded afterwards. ATanh computes ``tanh(alpha * h)`` with a
    learnable scale ``alpha`` per bit, and the penalty ``alpha_penalty_weight * sum(1 /
    alpha**2)`` pushes the outputs towards +-1 while early gradients stay alive; ``alpha`` is
    learned by its own gradient, free of weight decay. Modality dropout (zeroing one view of a
    training pair and still reconstructing both) makes single-view queries encode well: an
    image query is encoded as ``(x, 0)`` and a text query as ``(0, t)``.

    Read more in the :ref:`User Guide <methods>`.

    Parameters
    ----------
    %(n_bits)s
    hidden_layer_sizes : tuple of int, default=(1024, 512)
        Widths of each view's encoder; the decoders mirror them.
    scaling : {"linear", "nonlinear", "fixed"}, default="linear"
        ATanh variant: ``tanh(alpha * h)``, or ``tanh(alpha * h + c * h**3)`` with learnable
        positive ``alpha`` and ``c``. These are our reading of the paper's linear and non-linear
        variants. ``"fixed"`` keeps ``alpha = 1``, a plain tanh: the ablation of ATanh.
    hash_batch_norm : bool, default=False
        Standardise each bit's pre-activation over the batch (batch normalisation without affine
        parameters) in front of ATanh, so that ``alpha`` alone sets how binary the layer is.
        Not in the paper: with it about 88% of the outputs saturate on Wiki at 32 bits, against
        about 17% without, and text-to-image retrieval drops (see :ref:`mechanisms`). With it,
        an epoch's last incomplete batch is dropped (unless it is the only one) and at least 2
        training pairs are needed.
    modality_dropout : float, default=1.0
        Probability that a training pair has one of its two views zeroed (each view equally
        likely). The default trains on single views only, each reconstructing both views; it was
        chosen by 3-fold cross-validation on Wiki's training pairs with pair-retrieval mAP (no
        labels) among 0.5, 0.8 and 1.0.
    alpha_penalty_weight : float, default=1.0
        Weight of the ATanh penalty ``sum(1 / alpha**2)``, whose gradient pushes ``alpha`` up.
        Chosen (with the batch normalisation then in front of ATanh) by 3-fold
        cross-validation on the training pairs of Wiki and UCI among 1e-3, 0.1, 0.3 and 1.
    alpha_learning_rate : float, default=3e-2
        Adam learning rate of the ATanh scales. They are trained without weight decay and
        parametrised by their logarithm (``alpha = exp(s)``, positive without a clamp), so each
        step can scale ``alpha`` by about ``exp(alpha_learning_rate)``. Chosen (with
        ``weight_decay=3e-3``, the default then) by 3-fold cross-validation on the training
        pairs of Wiki, UCI, UCI-pixels and their signed (PCA) versions among 1e-3, 1e-2 and
        3e-2 (``benchmarks/cv_defaults.py``; held-out labelled mAP@50 averaged over the five
        pairings 0.435, 0.495, 0.550, and the label-free neighbourhood criterion 0.255, 0.275,
        0.300): at 1e-2 and below the network collapsed on signed UCI features (0.42 and 0.13
        against 0.71).
    image_loss, text_loss : {"mse", "bce"}, default="mse"
        Reconstruction loss of each view: mean squared error on (standardised) features, or binary
        cross-entropy for binary bag-of-words (use it with ``*_preprocessor="passthrough"``).
    learning_rate : float, default=1e-3
        Adam learning rate.
    weight_decay : float, default=1e-3
        Adam weight decay (an L2 penalty added to Adam's gradient; the paper gives none).
        Without it the network memorises the training pairs. With ``max_epochs=30`` it was
        chosen by 3-fold cross-validation on the training pairs of Wiki, UCI, UCI-pixels and
        their signed (PCA) versions at 32 and 64 bits (``benchmarks/cv_defaults.py``) among 0,
        1e-4, 1e-3 and 3e-3 (seed 0; the two leading ones at seed 1 as well), as the one whose
        worst pairing lost least: 3e-3 has the higher mean, from 32 bits, but shrinks every
        weight to zero on signed UCI features at 64 bits (see :ref:`mechanisms`). If ``fit``
        warns that the training collapsed on white (standardised PCA) features, lower it.
    batch_size : int, default=64
        Training mini-batch size.
    max_epochs : int, default=30
        Training epochs.
    %(deep_parameters)s

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained network.
    %(deep_attributes)s

    See Also
    --------
    CCAITQHasher : The linear baseline.

    Notes
    -----
    A custom ``image_module`` / ``text_module`` replaces the view's encoder: its output is mapped
    to ``hidden_layer_sizes[-1]`` features (ReLU), where the default encoder ends.

    References
    ----------
    .. [1] D. Hu, F. Nie and X. Li, "Deep Binary Reconstruction for Cross-modal Hashing",
       ACM Multimedia 2017, arXiv:1708.05127.

    Examples
    --------
    >>> from sklearn_xmh import DBRCHasher
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> data = make_cross_modal(n_samples=200, random_state=0)
    >>> hasher = DBRCHasher(n_bits=16, max_epochs=5, random_state=0)
    >>> hasher.fit(data.X_image, data.X_text).transform(data.X_image).shape
    (200, 16)
    >>> hasher.transform_text(data.X_text).shape
    (200, 16)
    """

    _parameter_constraints: dict = {
        **BaseDeepHasher._parameter_constraints,
        "hidden_layer_sizes": [tuple, list],
        "scaling": [StrOptions({"linear", "nonlinear", "fixed"})],
        "hash_batch_norm": ["boolean"],
        "modality_dropout": [Interval(Real, 0, 1, closed="both")],
        "alpha_penalty_weight": [Interval(Real, 0, None, closed="left")],
        "image_loss": [StrOptions({"mse", "bce"})],
        "text_loss": [StrOptions({"mse", "bce"})],
        "alpha_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        n_bits=64,
        *,
        hidden_layer_sizes=(1024, 512),
        scaling="linear",
        hash_batch_norm=False,
        modality_dropout=1.0,
        alpha_penalty_weight=1.0,
        alpha_learning_rate=3e-2,
        image_loss="mse",
        text_loss="mse",
        learning_rate=1e-3,
        weight_decay=1e-3,
        batch_size=64,
        max_epochs=30,
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
        self.scaling = scaling
        self.hash_batch_norm = hash_batch_norm
        self.modality_dropout = modality_dropout
        self.alpha_penalty_weight = alpha_penalty_weight
        self.alpha_learning_rate = alpha_learning_rate
        self.image_loss = image_loss
        self.text_loss = text_loss
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

    def _check_training_views(self, image, text):
        if not self.hidden_layer_sizes:
            raise ValueError(
                f"{type(self).__name__} needs at least one hidden layer (its encoders end at "
                "hidden_layer_sizes[-1] units), got hidden_layer_sizes=()."
            )
        if self.hash_batch_norm and image.n_samples < 2:
            raise ValueError(
                f"{type(self).__name__} with hash_batch_norm=True needs at least 2 training "
                f"pairs, got n_samples = {image.n_samples}: its hash layer standardises each "
                "bit over a batch."
            )
        for name, loss, view in (("image", self.image_loss, image), ("text", self.text_loss, text)):
            if loss != "bce":
                continue
            # One pass over the preprocessed view: each block's range.
            ranges = [(block.min(), block.max()) for block in view.blocks() if block.shape[0]]
            low = min((lo for lo, _ in ranges), default=0.0)
            high = max((hi for _, hi in ranges), default=0.0)
            if low < 0 or high > 1:
                raise ValueError(
                    f"{name}_loss='bce' needs {name} features in [0, 1] after preprocessing, got "
                    f"[{low:.3g}, {high:.3g}]; use {name}_preprocessor='passthrough' on "
                    "binary bag-of-words, or the 'mse' loss."
                )

    def _build_module(self, image, text):
        from torch import nn

        from .nn import DBRCModule

        width = self.hidden_layer_sizes[-1]
        return DBRCModule(
            image.n_features,
            text.n_features,
            self.n_bits,
            hidden_layer_sizes=self.hidden_layer_sizes,
            scaling=self.scaling,
            modality_dropout=self.modality_dropout,
            hash_batch_norm=self.hash_batch_norm,
            image_net=self._view_net("image", image.sample_shape, width, nn.ReLU),
            text_net=self._view_net("text", text.sample_shape, width, nn.ReLU),
        )

    def _net_params(self, image, text):
        # ATanh's scales: their own learning rate, and no weight decay, which would pull them
        # towards 0 against the penalty.
        group = {"lr": self.alpha_learning_rate, "weight_decay": 0.0}
        # A batch-standardised hash layer cannot train on a batch of one pair: the last short
        # batch of an epoch is then dropped (kept when it is the only one).
        return {
            **super()._net_params(image, text),
            "lr": self.learning_rate,
            "optimizer__param_groups": [("hash_layer.*.log_*", group)],
            "iterator_train__drop_last": self.hash_batch_norm,
        }

    def _build_loss(self):
        from .nn import DBRCLoss

        return DBRCLoss(
            alpha_penalty_weight=self.alpha_penalty_weight,
            image_loss=self.image_loss,
            text_loss=self.text_loss,
        )
