"""CHN: Correlation Hashing Network, supervised cross-modal hashing.

Yue Cao, Mingsheng Long, Jianmin Wang and Philip S. Yu. "Correlation Hashing Network for Efficient
Cross-Modal Retrieval." BMVC 2017, arXiv:1602.06697.
"""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval

from ._validation import label_indicator
from .base import BaseDeepHasher
from .nn import CHNLoss, CHNModule, CHNNet


class CHNHasher(BaseDeepHasher):
    """Supervised cross-modal hashing with a cosine max-margin loss (CHN).

    Each view has a tower ``d -> hidden (ReLU) -> n_bits`` ending in ``tanh``. An image and a text
    are similar (``s_ij = +1``) when they share a label and dissimilar (``-1``) otherwise, and the
    structured max-margin loss ``mean max(0, margin - s_ij cos(u_i, v_j))`` over the cross-modal
    pairs of a batch pulls similar pairs together and pushes dissimilar ones apart in cosine. The
    quantization control ``lam * mean max(0, margin_q - cos(|u|, 1))``, for both views, pushes
    every bit of a relaxed code towards +-1. Codes are the signs of the tower outputs.

    This is a supervised method: :meth:`fit` requires ``labels``.

    Read more in the :ref:`User Guide <methods>`.

    Parameters
    ----------
    n_bits : int, default=64
        Code length.
    image_hidden_size, text_hidden_size : int, default=1024
        Width of the hidden layer of each tower (4096 in the reference designs).
    margin : float, default=0.3
        Margin of the cosine hinge.
    margin_q : float, default=0.5
        Margin of the quantization hinge. ``cos(|u|, 1)`` of a relaxed code with Gaussian-like
        entries is already about 0.8, so at 0.5 the term only acts on codes with a few dominant
        bits; values near 1 push harder towards +-1.
    lam : float, default=0.1
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
    lr : float, default=1e-3
        Adam learning rate.
    weight_decay : float, default=0.0
        Adam weight decay.
    batch_size : int, default=128
        Training mini-batch size.
    max_epochs : int, default=20
        Training epochs. The defaults of ``margin`` and ``max_epochs`` come from 3-fold
        cross-validation on Wiki's training pairs with their labels, scored by the library's
        mAP@50 scorer over both directions, among margins 0.1-0.7, 10-150 epochs, learning
        rates, widths, weight decays, ``memory_bank`` and quantization settings; the other
        defaults are the paper's starting values.
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
        Seeds weights and batch order.
    image_module, text_module : torch.nn.Module class or instance, default=None
        A network that replaces the view's default feature MLP, for example a CNN on raw pixels;
        its output is flattened and mapped linearly to the ``n_bits`` pre-tanh outputs.
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
    DBRCHasher, DJSRHHasher, UGACHHasher : The unsupervised deep methods.

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

    _requires_labels = True

    _parameter_constraints: dict = {
        **BaseDeepHasher._parameter_constraints,
        "image_hidden_size": [Interval(Integral, 1, None, closed="left")],
        "text_hidden_size": [Interval(Integral, 1, None, closed="left")],
        "margin": [Interval(Real, None, None, closed="neither")],
        "margin_q": [Interval(Real, None, None, closed="neither")],
        "lam": [Interval(Real, 0, None, closed="left")],
        "balanced": ["boolean"],
        "memory_bank": ["boolean"],
        "lr": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        n_bits=64,
        *,
        image_hidden_size=1024,
        text_hidden_size=1024,
        margin=0.3,
        margin_q=0.5,
        lam=0.1,
        balanced=True,
        memory_bank=False,
        lr=1e-3,
        weight_decay=0.0,
        batch_size=128,
        max_epochs=20,
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
        self.image_hidden_size = image_hidden_size
        self.text_hidden_size = text_hidden_size
        self.margin = margin
        self.margin_q = margin_q
        self.lam = lam
        self.balanced = balanced
        self.memory_bank = memory_bank
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
        # Class ids and multi-hot labels both become 0/1 indicators: s_ij is their overlap.
        return super()._fit_towers(X_image, X_text, label_indicator(labels), random_state)

    def _build_module(self, n_image_features, n_text_features):
        return CHNModule(
            n_image_features,
            n_text_features,
            self.n_bits,
            image_hidden_size=self.image_hidden_size,
            text_hidden_size=self.text_hidden_size,
            image_net=self._view_net("image", self.n_bits),
            text_net=self._view_net("text", self.n_bits),
        )

    def _build_loss(self):
        return CHNLoss(self.margin, self.margin_q, self.lam, balanced=self.balanced)

    def _net_class(self):
        return CHNNet

    def _net_params(self):
        return {**super()._net_params(), "memory_bank": self.memory_bank}
