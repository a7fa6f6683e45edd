"""UGACH: Unsupervised Generative Adversarial Cross-modal Hashing.

Jian Zhang, Yuxin Peng and Mingkuan Yuan. "Unsupervised Generative Adversarial Cross-Modal
Hashing." AAAI 2018.
"""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from .base import BaseDeepHasher
from .utils._docs import fill_doc


@fill_doc
class UGACHHasher(BaseDeepHasher):
    """Unsupervised cross-modal hashing by a generative adversarial game (UGACH).

    A correlation graph links every training item to its ``n_image_neighbors`` nearest
    neighbours by image features and its ``n_text_neighbors`` by text features (itself
    included); the other view of those neighbours are its positives in both retrieval
    directions. A discriminator and a generator, each with an image and a text pathway
    ``d -> hidden (tanh) -> n_bits -> sigmoid``, play against each other: the generator samples,
    by a softmax over a random candidate pool, items it finds close to a query, and the
    discriminator learns a triplet hinge that ranks the graph positive above the generated
    item, with margin ``n_bits / 8`` on squared distances. The generator is trained by policy
    gradient with the reward ``sigmoid(hinge)`` from the discriminator. The discriminator is
    first pre-trained with random non-neighbour negatives until its loss plateaus; the
    negatives the generator then draws for it exclude the query's graph positives. Codes come
    from the discriminator: a bit is 1 where its sigmoid output is at least 0.5.
    :func:`~sklearn_xmh.inspection.mechanism_health` reports how far the generator's policy is
    from uniform.

    By default the generator is trained as the official code trains it: its loss is a softmax
    over the two items it drew for a query (``generator_objective="sampled"``), it starts from
    its own truncated normal initialisation, and it steps by SGD with weight decay. With that
    loss the policy stays near uniform (about 0.99 of the uniform entropy on Wiki), so the game
    hardly changes the discriminator's negatives; the whole-pool policy gradient
    (``"pool"``) makes the generator play, and measurably costs retrieval (see
    :ref:`mechanisms`).

    This is an unsupervised method: ``labels`` passed to :meth:`fit` are ignored, and nothing
    selects epochs or models on labels; the last epoch is kept.

    Read more in the :ref:`User Guide <methods>`.

    Parameters
    ----------
    %(n_bits)s
    hidden_layer_sizes : tuple of int, default=(1024,)
        Widths of the hidden layers of every pathway of both networks (one of 8192 in the
        reference code).
    n_image_neighbors : int, default=5
        Nearest neighbours by image features in the correlation graph, the item itself
        included.
    n_text_neighbors : int, default=5
        Nearest neighbours by text features in the correlation graph, the item itself
        included. The two counts weigh the views, as DJSRH's ``beta`` does.
    pool_size : int or None, default=None
        Candidates the generator chooses from per query, drawn at random; None takes 1/50 of the
        training items (at least 2), as the reference code.
    margin : float or None, default=None
        Margin of the triplet hinge on squared distances between sigmoid codes; None is
        ``n_bits / 8``.
    learning_rate : float, default=3e-2
        SGD learning rate of the discriminator. The reference code uses 1e-3 with one triplet
        per step; with batches of triplets, 3e-2 scored best in cross-validation on Wiki.
    generator_learning_rate : float, default=0.64
        SGD learning rate of the generator. The reference code takes steps of 1e-2 on one
        query at a time; a step on the mean loss of a batch of 64 queries moves as far per
        epoch at 64 times that rate.
    weight_decay : float, default=0.01
        Weight decay of the discriminator.
    generator_weight_decay : float, default=0.02
        Weight decay of the generator. The reference adds ``0.01 * ||w||**2 / 2`` to the loss of
        every step, one step per query and direction; with the batch-scaled learning rate and
        both directions in one step, 0.02 shrinks the weights as much per epoch.
    batch_size : int, default=64
        Query items per batch; each gives ``triplets_per_query`` triplets per retrieval
        direction.
    triplets_per_query : int, default=2
        Triplets per query item, direction and epoch, and the items the generator draws per
        query to learn from (``SELECTNUM`` of the reference code). The default objective needs
        at least 2.
    pretrain_epochs : int, default=15
        Most epochs of discriminator pre-training with random non-neighbour negatives.
    pretrain_tol : float, default=0.01
        Pre-training stops early once an epoch's discriminator loss is not ``pretrain_tol``
        (relative) below its best so far: a plateau, detected without labels. 0 pre-trains for
        ``pretrain_epochs`` epochs.
    adversarial : bool, default=True
        Whether adversarial rounds follow pre-training. False trains the discriminator alone
        on random non-neighbour negatives for all ``max_epochs``: the ablation of the game.
    generator_init : {"normal", "discriminator", "random"}, default="normal"
        The generator's initial weights: the reference code's normal of standard deviation 0.1
        truncated at two (zero biases), the pre-trained discriminator's weights, or torch's
        default initialisation.
    generator_objective : {"sampled", "pool", "pool_baseline"}, default="sampled"
        The generator's policy-gradient loss over the items it drew for a query.
        ``"sampled"`` is the reference code's: a softmax over the drawn items' scores only,
        whose gradient pulls items of equal reward to equal scores. ``"pool"`` is the policy
        gradient of the softmax over the whole pool that drew them (UGACH's eq. 8 read
        literally): every draw is reinforced, as the reward is at least 0.5, and the policy
        peaks. ``"pool_baseline"`` subtracts the batch's mean reward from each reward, the
        usual variance reduction of a policy gradient.
    generator_epochs : int, default=2
        Generator epochs per adversarial round, as the reference code.
    max_epochs : int, default=30
        Total discriminator epochs, pre-training included; every epoch after pre-training is
        one adversarial round (a discriminator epoch on generated negatives, then
        ``generator_epochs`` generator epochs).
    graph_algorithm : {"exact", "nndescent"}, default="exact"
        The correlation graph's neighbour search: exact (``O(n**2)``), or the approximate
        k-NN graph of pynndescent for hundreds of thousands of pairs (see
        :func:`~sklearn_xmh.neighbors.correlation_graph`; its recall is measured in
        ``benchmarks/bench_scale.py``).
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

    The reference code trains on one triplet per step, with hidden layers of 8192 units, an
    exponential decay of its learning rates (0.9 every 20,000 steps), and selects its best
    epoch by the labelled mAP of the *test* queries (``map_best_val_dis``,
    ``DIS_MODEL_BEST_FILE``), which hides any harm the game does. Here the steps take batches
    of triplets, the learning rates are constant, and the last epoch is kept: nothing is
    selected on labels.

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
        "n_image_neighbors": [Interval(Integral, 1, None, closed="left")],
        "n_text_neighbors": [Interval(Integral, 1, None, closed="left")],
        "pool_size": [Interval(Integral, 2, None, closed="left"), None],
        "margin": [Interval(Real, 0, None, closed="left"), None],
        "generator_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "generator_weight_decay": [Interval(Real, 0, None, closed="left")],
        "graph_algorithm": [StrOptions({"exact", "nndescent"})],
        "n_jobs": [Integral, None],
        "pretrain_epochs": [Interval(Integral, 0, None, closed="left")],
        "pretrain_tol": [Interval(Real, 0, 1, closed="left")],
        "adversarial": ["boolean"],
        "generator_init": [StrOptions({"normal", "discriminator", "random"})],
        "generator_objective": [StrOptions({"sampled", "pool", "pool_baseline"})],
        "generator_epochs": [Interval(Integral, 1, None, closed="left")],
        "triplets_per_query": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_bits=64,
        *,
        hidden_layer_sizes=(1024,),
        n_image_neighbors=5,
        n_text_neighbors=5,
        pool_size=None,
        margin=None,
        learning_rate=3e-2,
        generator_learning_rate=0.64,
        weight_decay=0.01,
        generator_weight_decay=0.02,
        batch_size=64,
        triplets_per_query=2,
        pretrain_epochs=15,
        pretrain_tol=0.01,
        adversarial=True,
        generator_init="normal",
        generator_objective="sampled",
        generator_epochs=2,
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
        graph_algorithm="exact",
        n_jobs=None,
        image_module=None,
        text_module=None,
        **kwargs,
    ):
        self.n_bits = n_bits
        self.hidden_layer_sizes = hidden_layer_sizes
        self.n_image_neighbors = n_image_neighbors
        self.n_text_neighbors = n_text_neighbors
        self.pool_size = pool_size
        self.margin = margin
        self.learning_rate = learning_rate
        self.generator_learning_rate = generator_learning_rate
        self.weight_decay = weight_decay
        self.generator_weight_decay = generator_weight_decay
        self.batch_size = batch_size
        self.triplets_per_query = triplets_per_query
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_tol = pretrain_tol
        self.adversarial = adversarial
        self.generator_init = generator_init
        self.generator_objective = generator_objective
        self.generator_epochs = generator_epochs
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
        self.graph_algorithm = graph_algorithm
        self.n_jobs = n_jobs
        self.image_module = image_module
        self.text_module = text_module
        self._set_module_params(kwargs)

    def _check_training_views(self, image, text):
        if (
            self.adversarial
            and self.generator_objective == "sampled"
            and self.triplets_per_query < 2
        ):
            raise ValueError(
                "generator_objective='sampled' learns from a softmax over the items the "
                "generator drew for a query, which needs triplets_per_query >= 2; got "
                f"triplets_per_query={self.triplets_per_query}. Draw 2 or more, or use "
                "generator_objective='pool'."
            )

    def _build_module(self, image, text):
        from .nn import UGACHModule

        return UGACHModule(
            image.n_features,
            text.n_features,
            self.n_bits,
            hidden_layer_sizes=self.hidden_layer_sizes,
            image_net=self._view_net("image", image.sample_shape, self.n_bits),
            text_net=self._view_net("text", text.sample_shape, self.n_bits),
        )

    def _build_loss(self):
        from .nn import UGACHTripletLoss

        return UGACHTripletLoss(margin=self.n_bits / 8 if self.margin is None else self.margin)

    def _net_class(self):
        from .nn import UGACHNet

        return UGACHNet

    def _net_params(self, image, text):
        import torch

        return {
            **super()._net_params(image, text),
            "optimizer": torch.optim.SGD,
            "lr": self.learning_rate,
            # The generator is built with the discriminator's shape, from its own copies of
            # any custom module.
            "generator__image_net": self._view_net("image", image.sample_shape, self.n_bits),
            "generator__text_net": self._view_net("text", text.sample_shape, self.n_bits),
            "optimizer_generator": torch.optim.SGD,
            "optimizer_generator__lr": self.generator_learning_rate,
            "optimizer_generator__weight_decay": self.generator_weight_decay,
            "n_neighbors": (self.n_image_neighbors, self.n_text_neighbors),
            "pool_size": self.pool_size,
            "pretrain_epochs": self.pretrain_epochs,
            "pretrain_tol": self.pretrain_tol,
            "adversarial": self.adversarial,
            "generator_init": self.generator_init,
            "generator_objective": self.generator_objective,
            "generator_epochs": self.generator_epochs,
            "triplets_per_query": self.triplets_per_query,
            "graph_algorithm": self.graph_algorithm,
            "n_jobs": self.n_jobs,
        }
