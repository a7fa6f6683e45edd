"""UGACH: the correlation graph, the generator / discriminator networks, their losses and the
adversarial skorch net (Zhang, Peng and Yuan, AAAI 2018)."""

from contextlib import contextmanager
from numbers import Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, validate_params
from torch import nn
from torch.nn import functional as F

from ..neighbors import correlation_graph
from ._policy import policy_health
from .data import CrossModalDataset
from .layers import TwoTowers, sparse_inputs
from .net import CrossModalNet


class UGACHModule(TwoTowers):
    """One player of UGACH, generator or discriminator: an image and a text pathway, each
    ``d -> hidden (tanh) -> n_bits -> sigmoid``.

    It takes the parameters of :class:`TwoTowers`, with tanh hidden layers.
    """

    def __init__(self, n_image_features, n_text_features, n_bits, **kwargs):
        super().__init__(n_image_features, n_text_features, n_bits, activation=nn.Tanh, **kwargs)

    def forward(self, image, text):
        return torch.sigmoid(self.image_net(image)), torch.sigmoid(self.text_net(text))

    def encode(self, view, x):
        return torch.sigmoid((self.image_net if view == "image" else self.text_net)(x))

    def relax(self, outputs):
        """``2 sigmoid(outputs) - 1``: the sigmoid codes on [-1, 1], of the bits' signs."""
        return 2.0 / (1.0 + np.exp(-outputs)) - 1.0


def squared_distances(query, items):
    """Squared Euclidean distances in code space between paired rows of ``query`` and ``items``,
    both of shape (b, n_bits)."""
    return ((query - items) ** 2).sum(dim=-1)


def pairwise_squared_distances(query, items):
    """Squared Euclidean distances of every row of ``query`` (b, n_bits) to every row of
    ``items`` (p, n_bits): shape (b, p)."""
    return ((query[:, None, :] - items[None, :, :]) ** 2).sum(dim=-1)


@validate_params(
    {
        "query": [torch.Tensor],
        "positive": [torch.Tensor],
        "negative": [torch.Tensor],
        "margin": [Interval(Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def triplet_hinge(query, positive, negative, margin):
    """Per-triplet hinge ``max(0, margin + d(q, p) - d(q, n))`` on squared distances (UGACH,
    eq. 6)."""
    return F.relu(margin + squared_distances(query, positive) - squared_distances(query, negative))


class UGACHTripletLoss(nn.Module):
    """The discriminator's loss: the mean triplet hinge with margin ``n_bits / 8`` (UGACH, eq. 6);
    its weight decay is the optimizer's.

    Parameters
    ----------
    margin : float
        Hinge margin on squared distances between sigmoid codes.
    """

    @validate_params(
        {"margin": [Interval(Real, 0, None, closed="left")]}, prefer_skip_nested_validation=True
    )
    def __init__(self, margin):
        super().__init__()
        self.margin = margin

    def forward(self, query, positive, negative):
        return triplet_hinge(query, positive, negative, self.margin).mean()


@validate_params(
    {"log_probabilities": [torch.Tensor], "reward": [torch.Tensor]},
    prefer_skip_nested_validation=True,
)
def policy_gradient_loss(log_probabilities, reward):
    """The generator's REINFORCE loss ``-mean(log p(n | q) * reward)`` (UGACH, eq. 8); the
    reward is held constant."""
    return -(log_probabilities * reward.detach()).mean()


# The two retrieval directions: query view, database view.
_DIRECTIONS = (("image", "text"), ("text", "image"))
# Uniform draws per query from which a random non-neighbour is taken.
_REDRAWS = 20


class UGACHNet(CrossModalNet):
    """The adversarial UGACH net: ``module`` is the discriminator, ``generator`` the generator.

    The discriminator first trains alone on triplets whose negatives are random non-neighbours,
    for at most ``pretrain_epochs`` epochs and until its epoch loss plateaus (improves by less
    than ``pretrain_tol``, relative, on its best so far). Every later epoch is one adversarial
    round: the discriminator trains one epoch on triplets whose negatives the (fixed) generator
    samples from its pool, the query's graph positives excluded; then the generator trains
    ``generator_epochs`` epochs by policy gradient, rewarded by the discriminator. Each batch of
    query items gives ``triplets_per_query`` triplets per query in both directions (image query /
    text items, text query / image items); positives come from the correlation graph built at the
    start of :meth:`fit_loop` (:meth:`training_state`). ``adversarial=False`` keeps the random
    negatives throughout: the discriminator alone, the ablation of the game.

    The generator's objective (``generator_objective``) is a REINFORCE loss over the
    ``triplets_per_query`` items it drew for a query from its softmax over the pool:

    - ``"sampled"``: the reference code's ``gen_loss``, ``-mean(log q(n) * reward)`` with ``q``
      the softmax of the generator's scores over the drawn items only (``input_neg``), so that
      items of equal reward are pulled to equal scores; it needs two draws or more;
    - ``"pool"``: ``-mean(log p(n) * reward)`` with ``p`` the softmax over the whole pool, the
      policy gradient of the policy that drew the items (UGACH, eq. 8, read literally); every
      draw is reinforced, since the reward ``sigmoid(hinge)`` is at least 0.5;
    - ``"pool_baseline"``: as ``"pool"``, with the batch's mean reward (per direction)
      subtracted from each reward, the usual variance-reduced policy gradient.

    The generator and its optimizer are registered in :meth:`initialize_module` and
    :meth:`initialize_optimizer`, so ``set_params(generator__hidden_layer_sizes=...)``,
    ``optimizer_generator__lr`` and pickling work as for the discriminator.

    Parameters
    ----------
    module : type or nn.Module
        The discriminator.
    generator : type or nn.Module, default=UGACHModule
        The generator; ``generator__*`` keyword arguments configure it. A class is built with the
        discriminator's ``n_image_features``, ``n_text_features``, ``n_bits`` and
        ``hidden_layer_sizes`` unless ``generator__*`` arguments say otherwise.
    optimizer_generator : type, default=torch.optim.SGD
        The generator's optimizer; ``optimizer_generator__*`` keyword arguments configure it.
    n_neighbors : int or tuple of (int, int)
        Neighbours per view in the correlation graph, or one count per view (image, text).
    pool_size : int or None
        Size of the random candidate pool the generator samples from; None takes 1/50 of the
        training items (at least 2), as the reference code.
    pretrain_epochs : int
        Most epochs of discriminator pre-training.
    pretrain_tol : float
        Pre-training ends once an epoch's loss is above ``(1 - pretrain_tol)`` times the best
        epoch loss so far; 0 pre-trains for ``pretrain_epochs`` epochs.
    adversarial : bool
        Whether the adversarial rounds follow pre-training.
    generator_init : {"normal", "discriminator", "random"}
        ``"normal"`` is the reference code's initialisation of the generator, weights from a
        normal of standard deviation 0.1 truncated at two, zero biases; ``"discriminator"``
        starts it from the pre-trained discriminator's weights (when both have the same shape);
        ``"random"`` keeps torch's default initialisation.
    generator_objective : {"sampled", "pool", "pool_baseline"}
        The generator's policy-gradient loss, see above.
    generator_epochs : int
        Generator epochs per adversarial round.
    triplets_per_query : int
        Triplets each query item gives per direction and epoch, and the items the generator
        draws per query to learn from (as the reference code's ``SELECTNUM``).
    graph_algorithm : {"exact", "nndescent"}
        The correlation graph's neighbour search (see
        :func:`~sklearn_xmh.neighbors.correlation_graph`).
    n_jobs : int or None
        Parallel jobs of the correlation graph's neighbour search.

    Attributes
    ----------
    adversarial_from_ : int or None
        The first epoch (1-based) of the adversarial rounds; None while pre-training, and
        always with ``adversarial=False``.
    """

    def __init__(
        self,
        module,
        *args,
        generator=UGACHModule,
        optimizer_generator=torch.optim.SGD,
        n_neighbors,
        pool_size,
        pretrain_epochs,
        pretrain_tol,
        adversarial,
        generator_init,
        generator_objective,
        generator_epochs,
        triplets_per_query,
        graph_algorithm,
        n_jobs,
        **kwargs,
    ):
        super().__init__(module, *args, **kwargs)
        self.generator = generator
        self.optimizer_generator = optimizer_generator
        self.n_neighbors = n_neighbors
        self.pool_size = pool_size
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_tol = pretrain_tol
        self.adversarial = adversarial
        self.generator_init = generator_init
        self.generator_objective = generator_objective
        self.generator_epochs = generator_epochs
        self.triplets_per_query = triplets_per_query
        self.graph_algorithm = graph_algorithm
        self.n_jobs = n_jobs

    def initialize_module(self):
        super().initialize_module()
        # By default the generator has the discriminator's shape, with its own weights.
        params = self.get_params_for("generator")
        if not isinstance(self.generator, nn.Module):
            shape = ("n_image_features", "n_text_features", "n_bits", "hidden_layer_sizes")
            params = {**{name: getattr(self.module_, name) for name in shape}, **params}
        self.generator_ = self.initialized_instance(self.generator, params)
        if self.sparse_views:
            sparse_inputs(
                self.generator_,
                self.sparse_views,
                sparse_grad=self._sparse_grad(self.optimizer_generator),
            )
        if self.generator_init == "normal":
            # The reference's initialisation (tf.truncated_normal_initializer(stddev=0.1), zero
            # biases): far wider than torch's default.
            for layer in self.generator_.modules():
                if isinstance(layer, nn.Linear):
                    nn.init.trunc_normal_(layer.weight, std=0.1, a=-0.2, b=0.2)
                    nn.init.zeros_(layer.bias)
        self.adversarial_from_ = None
        return self

    def initialize_optimizer(self, *args, **kwargs):
        named = self.module_.named_parameters()
        args, kwargs = self.get_params_for_optimizer("optimizer", named)
        self.optimizer_ = self.optimizer(*args, **kwargs)
        named = self.generator_.named_parameters()
        args, kwargs = self.get_params_for_optimizer("optimizer_generator", named)
        self.optimizer_generator_ = self.optimizer_generator(*args, **kwargs)
        return self

    def health(self, preprocessed, **kwargs):
        """The module's figures and its generator's policy figures (see
        :func:`~sklearn_xmh.inspection.mechanism_health`)."""
        return {
            **super().health(preprocessed, **kwargs),
            **policy_health(self, preprocessed, **kwargs),
        }

    # ---- data: the views of all training items, and the graph over them ----

    @contextmanager
    def training_state(self, X, y=None):
        # The views, kept only while training: positives, negatives and the generator's pool
        # are read from them a batch of rows at a time (sparse stays sparse), on the net's
        # device where they fit there.
        self._views = CrossModalDataset(
            {view: X[view] for view in ("image", "text")}, device=self.device
        )
        self.neighbors_, self.n_distinct_ = correlation_graph(
            self._views.views["image"],
            self._views.views["text"],
            n_neighbors=self.n_neighbors,
            algorithm=self.graph_algorithm,
            n_jobs=self.n_jobs,
            # The approximate search is seeded from torch's generator, which the hasher seeds.
            random_state=(
                int(torch.randint(np.iinfo(np.int32).max, ()).item())
                if self.graph_algorithm != "exact"
                else None
            ),
        )
        self._graph = (
            torch.as_tensor(self.neighbors_, device=self.device),
            torch.as_tensor(self.n_distinct_, device=self.device),
        )
        try:
            yield
        finally:
            del self._views, self._graph

    def get_dataset(self, X, y=None):
        # Training reads only the batches' rows ("index"); the views are those of training_state.
        views = getattr(self, "_views", None)
        if views is not None and isinstance(X, dict) and y is None:
            return views
        return super().get_dataset(X, y)

    def _pool_size(self):
        n_samples = self._graph[0].shape[0]
        size = self.pool_size if self.pool_size is not None else n_samples // 50
        return int(min(max(size, 2), n_samples))

    # ---- sampling ----

    def _sample_positives(self, index):
        neighbors, n_distinct = self._graph
        draw = torch.rand(index.shape[0], device=neighbors.device)
        column = (draw * n_distinct[index]).long().clamp_max(neighbors.shape[1] - 1)
        return neighbors[index, column]

    def _sample_non_neighbors(self, index):
        """A uniformly random non-neighbour of each query: the first of ``_REDRAWS`` uniform
        draws outside its neighbour set (an item neighbouring every draw keeps the first).
        Drawn at once, with no data-dependent loop, so a step never waits on the device."""
        neighbors, _ = self._graph
        draws = torch.randint(
            neighbors.shape[0], (index.shape[0], _REDRAWS), device=neighbors.device
        )
        hit = (draws[:, :, None] == neighbors[index][:, None, :]).any(dim=2)
        first = (~hit).to(torch.uint8).argmax(dim=1, keepdim=True)
        return draws.gather(1, first).squeeze(1)

    def _generator_policy(self, query_view, item_view, index):
        """The generator's scores ``-d(q, c)`` of a random candidate pool: ``(pool, scores)``,
        where ``scores`` has one row per query; their softmax is its policy.

        The queries of a batch share one pool, drawn afresh for every batch: each query still
        sees a uniformly random pool, and the pool is encoded once rather than once per query.
        """
        n_samples = self._graph[0].shape[0]
        pool = torch.randperm(n_samples, device=index.device)[: self._pool_size()]
        query = self.generator_.encode(query_view, self._rows(query_view, index))
        candidates = self.generator_.encode(item_view, self._rows(item_view, pool))
        return pool, -pairwise_squared_distances(query, candidates)

    def _sample_from_generator(self, query_view, item_view, index, exclude_positives=False):
        """Items drawn from the generator's policy and their log-probabilities.

        With ``exclude_positives`` the policy is renormalised over the pool items that are not
        graph positives of the query (the reference code rejects those picks); a query whose
        whole pool is positive keeps the full pool.
        """
        pool, scores = self._generator_policy(query_view, item_view, index)
        log_p = F.log_softmax(scores, dim=1)
        probabilities = log_p.exp()
        if exclude_positives:
            neighbors, n_distinct = self._graph
            rows = neighbors[index]
            rows = torch.where(
                torch.arange(rows.shape[1], device=rows.device) < n_distinct[index][:, None],
                rows,
                -1,
            )
            positive = (pool[None, :, None] == rows[:, None, :]).any(dim=2)
            allowed = probabilities.masked_fill(positive, 0.0)
            keep = allowed.sum(dim=1, keepdim=True) > 0
            probabilities = torch.where(keep, allowed, probabilities)
        choice = torch.multinomial(probabilities, 1).squeeze(1)
        return pool[choice], log_p.gather(1, choice[:, None]).squeeze(1)

    # ---- the two players' steps ----

    def _train_players(self, training):
        # Both players hold only linear and tanh layers; the mode matters for custom modules.
        self.module_.train(training)
        self.generator_.train(training)

    def _rows(self, view, index):
        """The preprocessed training rows ``index`` of ``view``, on the net's device."""
        return self._views.rows(view, index, self.device)

    def _triplets(self, player, query_view, item_view, index, positives, negatives):
        return (
            player.encode(query_view, self._rows(query_view, index)),
            player.encode(item_view, self._rows(item_view, positives)),
            player.encode(item_view, self._rows(item_view, negatives)),
        )

    def capture_variant(self, prefix):
        # The discriminator's step draws its negatives from the generator in adversarial
        # rounds, at random before: one captured graph for each.
        return self._is_adversarial() if prefix == "train" else None

    def _is_adversarial(self):
        """Whether the current epoch is an adversarial round."""
        start = self.adversarial_from_
        return self.adversarial and start is not None and len(self.history) >= start

    def _queries(self, batch):
        """The batch's query items, each repeated ``triplets_per_query`` times."""
        index = batch[0]["index"].to(self.device).long()
        return index.repeat(self.triplets_per_query)

    def _discriminator_loss(self, index, adversarial):
        loss = 0.0
        for query_view, item_view in _DIRECTIONS:
            positives = self._sample_positives(index)
            if adversarial:
                with torch.no_grad():
                    negatives, _ = self._sample_from_generator(
                        query_view, item_view, index, exclude_positives=True
                    )
            else:
                negatives = self._sample_non_neighbors(index)
            triplet = self._triplets(
                self.module_, query_view, item_view, index, positives, negatives
            )
            loss = loss + self.criterion_(*triplet)
        return loss

    def train_step(self, batch, **fit_params):
        """One discriminator update on a batch of query items, in both directions."""
        self._train_players(True)
        index = self._queries(batch)
        self.optimizer_.zero_grad()
        loss = self._discriminator_loss(index, self._is_adversarial())
        loss.backward()
        self.optimizer_.step()
        return {"loss": loss.detach(), "y_pred": None}

    def generator_step(self, batch, **fit_params):
        """One generator update by policy gradient on a batch of query items (UGACH, eq. 8):
        each query draws ``triplets_per_query`` items from the generator's policy over a pool,
        each rewarded by the discriminator against one of the query's graph positives."""
        self._train_players(True)
        index = batch[0]["index"].to(self.device).long()
        n_draws = self.triplets_per_query
        queries = index.repeat_interleave(n_draws)
        self.optimizer_generator_.zero_grad()
        loss = 0.0
        for query_view, item_view in _DIRECTIONS:
            pool, scores = self._generator_policy(query_view, item_view, index)
            log_p = F.log_softmax(scores, dim=1)
            choice = torch.multinomial(log_p.detach().exp(), n_draws, replacement=True)
            with torch.no_grad():
                positives = self._sample_positives(queries)
                triplet = self._triplets(
                    self.module_, query_view, item_view, queries, positives, pool[choice].ravel()
                )
                reward = torch.sigmoid(triplet_hinge(*triplet, self.criterion_.margin))
            reward = reward.reshape(choice.shape)
            if self.generator_objective == "sampled":
                # The reference's gen_prob: a softmax over the drawn items' scores only.
                log_q = F.log_softmax(scores.gather(1, choice), dim=1)
            else:
                log_q = log_p.gather(1, choice)
            if self.generator_objective == "pool_baseline":
                reward = reward - reward.mean()
            loss = loss + policy_gradient_loss(log_q, reward)
        loss.backward()
        self.optimizer_generator_.step()
        return {"loss": loss.detach(), "y_pred": None}

    def validation_step(self, batch, **fit_params):
        """The discriminator's triplet loss with random non-neighbour negatives: an unlabelled
        validation criterion."""
        self._train_players(False)
        index = self._queries(batch)
        with torch.no_grad():
            loss = self._discriminator_loss(index, adversarial=False)
        return {"loss": loss, "y_pred": None}

    def _end_pretraining(self):
        """After a pre-training epoch: whether pre-training is over (its epoch budget spent,
        or its loss on a plateau)."""
        epoch = len(self.history)
        if epoch >= self.pretrain_epochs:
            return True
        losses = [float(np.mean(row)) for row in self.history[:, "batches", :, "train_loss"]]
        best = min(losses[:-1], default=np.inf)
        return bool(self.pretrain_tol > 0 and losses[-1] > (1 - self.pretrain_tol) * best)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        adversarial = training and iterator is not None and self._is_adversarial()
        super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        if not training or iterator is None:
            return
        # After the discriminator's epoch of an adversarial round, the generator's epochs; their
        # mean loss goes to the history as ``generator_loss`` (NaN in pre-training epochs, which
        # keeps the epoch log's columns aligned).
        loss = np.nan
        if adversarial:
            for _ in range(self.generator_epochs):
                super().run_single_epoch(
                    iterator, training, "generator", self.generator_step, **fit_params
                )
            losses = self.history[-1, "batches", :, "generator_loss"]
            loss = float(np.mean(losses)) if losses else np.nan
        elif self.adversarial and self.adversarial_from_ is None and self._end_pretraining():
            self.adversarial_from_ = len(self.history) + 1
            if self.generator_init == "discriminator":
                self._copy_discriminator()
        self.history.record("generator_loss", loss)

    def _copy_discriminator(self):
        """Start the generator from the discriminator's weights, where their shapes agree."""
        source = self.module_.state_dict()
        target = self.generator_.state_dict()
        if source.keys() == target.keys() and all(
            source[key].shape == target[key].shape for key in source
        ):
            self.generator_.load_state_dict(source)
