"""UGACH: Unsupervised Generative Adversarial Cross-modal Hashing.

Jian Zhang, Yuxin Peng and Mingkuan Yuan. "Unsupervised Generative Adversarial Cross-Modal
Hashing." AAAI 2018.
"""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval

from .base import BaseDeepHasher
from .utils._docs import fill_doc


@fill_doc
class UGACHHasher(BaseDeepHasher):
    """Unsupervised cross-modal hashing by a generative adversarial game (UGACH).

    A correlation graph links every training item to its ``n_neighbors`` nearest neighbours by
    image features and by text features (itself included); the other view of those neighbours
    are its positives in both retrieval directions. A discriminator and a generator, each with an
    image and a text pathway ``d -> hidden (tanh) -> n_bits -> sigmoid``, play against each other:
    the generator samples, by a softmax over a random candidate pool, items it finds close to a
    query, and the discriminator learns a triplet hinge that ranks the graph positive above the
    generated item, with margin ``n_bits / 8`` on squared distances. The generator is trained by
    policy gradient with the reward ``sigmoid(hinge)`` from the discriminator. The discriminator
    is first pre-trained with random non-neighbour negatives. Codes come from the discriminator:
    a bit is 1 where its sigmoid output is at least 0.5.

    This is an unsupervised method: ``labels`` passed to :meth:`fit` are ignored, and nothing
    selects epochs or models on labels; the last epoch is kept.

    Read more in the :ref:`User Guide <methods>`.

    Parameters
    ----------
    %(n_bits)s
    hidden_layer_sizes : tuple of int, default=(1024,)
        Widths of the hidden layers of every pathway of both networks (one of 8192 in the
        reference code).
    n_neighbors : int, default=5
        Nearest neighbours per view in the correlation graph, the item itself included.
    pool_size : int or None, default=None
        Candidates the generator chooses from per query, drawn at random; None takes 1/50 of the
        training items (at least 2), as the reference code.
    margin : float or None, default=None
        Margin of the triplet hinge on squared distances between sigmoid codes; None is
        ``n_bits / 8``.
    learning_rate : float, default=3e-2
        SGD learning rate of the discriminator. The reference code uses 1e-3 with one triplet
        per step; with batches of triplets, 3e-2 scored best in cross-validation on Wiki.
    generator_learning_rate : float, default=1e-2
        SGD learning rate of the generator.
    weight_decay : float, default=0.01
        Weight decay of both networks.
    batch_size : int, default=64
        Query items per batch; each gives one triplet per retrieval direction.
    pretrain_epochs : int, default=15
        Epochs of discriminator pre-training with random non-neighbour negatives.
    max_epochs : int, default=30
        Total epochs, pre-training included; every epoch after pre-training is one adversarial
        round (a discriminator epoch on generated negatives, then a generator epoch).
    n_jobs : int or None, default=None
        Parallel jobs of the correlation graph's neighbour search, as in
        :class:`~sklearn.neighbors.NearestNeighbors`.
    %(deep_parameters)s

    Attributes
    ----------
    net_ : UGACHNet
        The trained adversarial net; ``net_.module_`` is the discriminator, ``net_.generator_``
        the generator, ``net_.neighbors_`` the correlation graph.
    %(deep_attributes)s

    See Also
    --------
    DJSRHHasher : Deep joint-semantics reconstructing hashing.
    DBRCHasher : Deep binary reconstruction.
    CCAITQHasher : The linear baseline.

    Notes
    -----
    The correlation graph is built on the preprocessed features. A custom ``image_module`` /
    ``text_module`` is mapped linearly to the ``n_bits`` logits, and the generator and the
    discriminator each get their own instance. ``accelerator`` is not supported: the
    adversarial training step runs its own two optimizers outside accelerate's wrappers, and
    fitting with one raises a ValueError.

    The reference code trains on one triplet per step and selects its best epoch on labelled test
    mAP; here the steps take batches of triplets, and the last epoch is kept.

    References
    ----------
    .. [1] J. Zhang, Y. Peng and M. Yuan, "Unsupervised Generative Adversarial Cross-Modal
       Hashing", AAAI 2018.

    Examples
    --------
    >>> from sklearn_xmh import UGACHHasher
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> data = make_cross_modal(n_samples=200, random_state=0)
    >>> hasher = UGACHHasher(n_bits=16, hidden_layer_sizes=(32,), pretrain_epochs=1, max_epochs=2,
    ...                      random_state=0)
    >>> hasher.fit(data.X_image, data.X_text).transform(data.X_image).shape
    (200, 16)
    >>> hasher.transform_text(data.X_text).shape
    (200, 16)
    """

    _parameter_constraints: dict = {
        **BaseDeepHasher._parameter_constraints,
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "hidden_layer_sizes": [tuple, list],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "pool_size": [Interval(Integral, 2, None, closed="left"), None],
        "margin": [Interval(Real, 0, None, closed="left"), None],
        "generator_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [Integral, None],
        "pretrain_epochs": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_bits=64,
        *,
        hidden_layer_sizes=(1024,),
        n_neighbors=5,
        pool_size=None,
        margin=None,
        learning_rate=3e-2,
        generator_learning_rate=1e-2,
        weight_decay=0.01,
        batch_size=64,
        pretrain_epochs=15,
        max_epochs=30,
        image_preprocessor=None,
        text_preprocessor=None,
        code_format="bits",
        device="cpu",
        accelerator=None,
        callbacks=None,
        validation_fraction=None,
        n_iter_no_change=10,
        warm_start=False,
        verbose=0,
        random_state=None,
        n_jobs=None,
        image_module=None,
        text_module=None,
        **kwargs,
    ):
        self.n_bits = n_bits
        self.hidden_layer_sizes = hidden_layer_sizes
        self.n_neighbors = n_neighbors
        self.pool_size = pool_size
        self.margin = margin
        self.learning_rate = learning_rate
        self.generator_learning_rate = generator_learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.pretrain_epochs = pretrain_epochs
        self.max_epochs = max_epochs
        self.image_preprocessor = image_preprocessor
        self.text_preprocessor = text_preprocessor
        self.code_format = code_format
        self.device = device
        self.accelerator = accelerator
        self.callbacks = callbacks
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.image_module = image_module
        self.text_module = text_module
        self._set_module_params(kwargs)

    def _build_module(self, n_image_features, n_text_features):
        from .nn import UGACHModule

        return UGACHModule(
            n_image_features,
            n_text_features,
            self.n_bits,
            hidden_layer_sizes=self.hidden_layer_sizes,
            image_net=self._view_net("image", self.n_bits),
            text_net=self._view_net("text", self.n_bits),
        )

    def _build_loss(self):
        from .nn import UGACHTripletLoss

        return UGACHTripletLoss(margin=self.n_bits / 8 if self.margin is None else self.margin)

    def _net_class(self):
        from .nn import UGACHNet

        return UGACHNet

    def _net_params(self):
        import torch

        return {
            **super()._net_params(),
            "optimizer": torch.optim.SGD,
            # The generator is built with the discriminator's shape, from its own copies of
            # any custom module.
            "generator__image_net": self._view_net("image", self.n_bits),
            "generator__text_net": self._view_net("text", self.n_bits),
            "optimizer_generator": torch.optim.SGD,
            "optimizer_generator__lr": self.generator_learning_rate,
            "optimizer_generator__weight_decay": self.weight_decay,
            "n_neighbors": self.n_neighbors,
            "pool_size": self.pool_size,
            "pretrain_epochs": self.pretrain_epochs,
            "n_jobs": self.n_jobs,
        }
