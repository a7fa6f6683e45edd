"""DBRC: Deep Binary Reconstruction for cross-modal hashing.

Di Hu, Feiping Nie and Xuelong Li. "Deep Binary Reconstruction for Cross-modal Hashing." ACM
Multimedia 2017; IEEE Transactions on Multimedia 2019. arXiv:1708.05127.
"""

from numbers import Real

from sklearn.utils._param_validation import Interval, StrOptions

from .base import BaseDeepHasher
from .nn import DBRCLoss, DBRCModule


class DBRCHasher(BaseDeepHasher):
    """Unsupervised cross-modal hashing by multimodal binary reconstruction (DBRC).

    An encoder per view feeds one shared binary layer with Adaptive Tanh (ATanh) activations, and a
    decoder per view reconstructs *both* views from that layer, so the codes are learned directly
    rather than relaxed and thresholded afterwards. ATanh computes ``tanh(alpha * h)`` with a
    learnable scale ``alpha`` per bit, and the penalty ``lambda_alpha * sum(1 / alpha**2)`` pushes
    the outputs towards +-1 while early gradients stay alive. Modality dropout (zeroing one view of
    a training pair and still reconstructing both) makes single-view queries encode well: an image
    query is encoded as ``(x, 0)`` and a text query as ``(0, t)``.

    Read more in the :ref:`User Guide <methods>`.

    Parameters
    ----------
    n_bits : int, default=64
        Code length.
    hidden_sizes : tuple of int, default=(1024, 512)
        Widths of each view's encoder; the decoders mirror them.
    scaling : {"linear", "nonlinear"}, default="linear"
        ATanh variant: ``tanh(alpha * h)``, or ``tanh(alpha * h + c * h**3)`` with learnable
        positive ``alpha`` and ``c``. These are our reading of the paper's linear and non-linear
        variants.
    modality_dropout : float, default=1.0
        Probability that a training pair has one of its two views zeroed (each view equally
        likely). The default trains on single views only, each reconstructing both views; it was
        chosen by 3-fold cross-validation on Wiki's training pairs with pair-retrieval mAP (no
        labels) among 0.5, 0.8 and 1.0.
    lambda_alpha : float, default=1e-3
        Weight of the ATanh penalty ``sum(1 / alpha**2)``.
    image_loss, text_loss : {"mse", "bce"}, default="mse"
        Reconstruction loss of each view: mean squared error on (standardised) features, or binary
        cross-entropy for binary bag-of-words (use it with ``*_preprocessor="passthrough"``).
    lr : float, default=1e-3
        Adam learning rate.
    weight_decay : float, default=3e-3
        Adam weight decay (L2 penalty). With ``max_epochs=30`` it was chosen by 3-fold
        cross-validation on the training pairs of Wiki and UCI with an unlabelled criterion,
        how well the codes keep each pair's feature-space neighbourhood
        (``benchmarks/cv_defaults.py``); without it the network memorises the training pairs.
    batch_size : int, default=64
        Training mini-batch size.
    max_epochs : int, default=30
        Training epochs.
    image_preprocessor, text_preprocessor : transformer, "passthrough" or None, default=None
        Per-view preprocessing fitted on the training view; None standardises.
    code_format : {"bits", "signed", "packed"}, default="bits"
        Format of the codes returned by :meth:`transform` and :meth:`transform_text`.
    device : str, default="cpu"
        Torch device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"``.
    accelerator : accelerate.Accelerator or None, default=None
        Train through skorch's :class:`~skorch.hf.AccelerateMixin`: data-parallel training
        over several processes, or mixed precision, as the accelerator is configured. Launch the
        script with ``torchrun`` or ``accelerate launch``; each process trains on its share of
        every epoch and all end with the same fitted model. The accelerator then chooses the
        device, and ``device`` is ignored.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks.
    train_split : float or None, default=None
        Fraction of the training pairs held out for a validation loss with early stopping.
    n_iter_no_change : int, default=10
        Early-stopping patience in epochs, with ``train_split``. Training then keeps the
        weights of the epoch with the lowest validation loss, as scikit-learn's MLP does.
    warm_start : bool, default=False
        Continue training the previous network on the next ``fit``.
    verbose : int, default=0
        0 is silent, 1 prints skorch's epoch log, 2 adds a progress bar.
    random_state : int, RandomState instance or None, default=None
        Seeds weights, batch order and modality dropout.
    image_module, text_module : torch.nn.Module class or instance, default=None
        A network that replaces the view's default feature MLP, for example a CNN on raw pixels;
        its output is flattened and mapped to ``hidden_sizes[-1]`` features (ReLU), where the
        default encoder ends.
        With a custom module the view may have more than two axes: each sample reaches the
        module in its original shape. An instance is copied at each fit.
    **kwargs : dict
        ``image_module__<name>`` / ``text_module__<name>`` arguments of the module classes, in
        skorch's style; they are parameters like any other (``get_params``, ``GridSearchCV``).

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained network.
    history_ : skorch.History
        Per-epoch training log.
    image_encoder_, text_encoder_ : ModalityEncoder
        Standalone fitted encoders of each view.
    image_preprocessor_, text_preprocessor_ : transformer
        The fitted per-view preprocessors.
    device_ : str
        The resolved torch device.
    n_features_in_ : int
        Number of image features.
    n_text_features_in_ : int
        Number of text features.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Image feature names, when ``X`` has string column names.

    See Also
    --------
    CCAITQHasher : The linear baseline.

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
        "lr": [Interval(Real, 0, None, closed="neither")],
        "hidden_sizes": [tuple, list],
        "scaling": [StrOptions({"linear", "nonlinear"})],
        "modality_dropout": [Interval(Real, 0, 1, closed="both")],
        "lambda_alpha": [Interval(Real, 0, None, closed="left")],
        "image_loss": [StrOptions({"mse", "bce"})],
        "text_loss": [StrOptions({"mse", "bce"})],
    }

    def __init__(
        self,
        n_bits=64,
        *,
        hidden_sizes=(1024, 512),
        scaling="linear",
        modality_dropout=1.0,
        lambda_alpha=1e-3,
        image_loss="mse",
        text_loss="mse",
        lr=1e-3,
        weight_decay=3e-3,
        batch_size=64,
        max_epochs=30,
        image_preprocessor=None,
        text_preprocessor=None,
        code_format="bits",
        device="cpu",
        accelerator=None,
        callbacks=None,
        train_split=None,
        n_iter_no_change=10,
        warm_start=False,
        verbose=0,
        random_state=None,
        image_module=None,
        text_module=None,
        **kwargs,
    ):
        self.n_bits = n_bits
        self.hidden_sizes = hidden_sizes
        self.scaling = scaling
        self.modality_dropout = modality_dropout
        self.lambda_alpha = lambda_alpha
        self.image_loss = image_loss
        self.text_loss = text_loss
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.image_preprocessor = image_preprocessor
        self.text_preprocessor = text_preprocessor
        self.code_format = code_format
        self.device = device
        self.accelerator = accelerator
        self.callbacks = callbacks
        self.train_split = train_split
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state
        self.image_module = image_module
        self.text_module = text_module
        self._set_module_params(kwargs)

    def _fit_towers(self, X_image, X_text, labels, random_state):
        for view, loss, X in (
            ("image", self.image_loss, X_image),
            ("text", self.text_loss, X_text),
        ):
            if loss == "bce" and X.size and (X.min() < 0 or X.max() > 1):
                raise ValueError(
                    f"{view}_loss='bce' needs {view} features in [0, 1] after preprocessing, got "
                    f"[{X.min():.3g}, {X.max():.3g}]; use {view}_preprocessor='passthrough' on "
                    "binary bag-of-words, or the 'mse' loss."
                )
        return super()._fit_towers(X_image, X_text, labels, random_state)

    def _build_module(self, n_image_features, n_text_features):
        from torch import nn

        return DBRCModule(
            n_image_features,
            n_text_features,
            self.n_bits,
            hidden_sizes=self.hidden_sizes,
            scaling=self.scaling,
            modality_dropout=self.modality_dropout,
            image_encoder=self._view_net("image", self.hidden_sizes[-1], nn.ReLU),
            text_encoder=self._view_net("text", self.hidden_sizes[-1], nn.ReLU),
        )

    def _build_loss(self):
        return DBRCLoss(self.lambda_alpha, self.image_loss, self.text_loss)
