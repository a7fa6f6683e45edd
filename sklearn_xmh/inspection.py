"""Health figures of a fitted deep hasher: whether the mechanism that makes it its method works.

A hasher can score well while its signature mechanism sits idle (an adaptive tanh that never
adapts, a generator that samples uniformly); these figures show it directly.
"""

from numbers import Integral

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from .chn import CHNHasher
from .dbrc import DBRCHasher
from .djsrh import DJSRHHasher
from .metrics._scorer import last_step
from .ugach import UGACHHasher
from .utils._views import as_dense_float32, flatten_samples, validate_view, validate_views

__all__ = ["mechanism_health"]

# |u| at or above this counts as saturated: the relaxed code is already (nearly) binary.
SATURATION = 0.9


def _relaxed_codes(hasher, X, view):
    """The relaxed codes ``u`` in [-1, 1] of one view, as the method's loss sees them."""
    encoder = getattr(hasher, f"{view}_encoder_")
    outputs = encoder._project(
        validate_view(encoder, X, view=view, reset=False, allow_nd=True)
    ).astype(np.float64)
    if isinstance(hasher, DBRCHasher):
        return outputs  # the ATanh layer's own output
    if isinstance(hasher, DJSRHHasher):
        return np.tanh(float(hasher.net_.module_.alpha) * outputs)
    if isinstance(hasher, UGACHHasher):
        return 2.0 / (1.0 + np.exp(-outputs)) - 1.0  # 2 sigmoid - 1: same sign as the bit
    return np.tanh(outputs)  # CHN


def _ugach_policy(hasher, X, y, n_queries, pool_size, rng):
    """Entropy of the generator's policy relative to uniform, and how often its picks are
    graph positives, against the rate of positives in its pools."""
    import torch

    net = hasher.net_
    views = {
        "image": _preprocessed(hasher, X, "image"),
        "text": _preprocessed(hasher, y, "text"),
    }
    n_samples = views["image"].shape[0]
    if n_samples != net.neighbors_.shape[0]:
        raise ValueError(
            f"The generator's policy is measured on the training views, in training order: got "
            f"{n_samples} pairs, the correlation graph holds {net.neighbors_.shape[0]}."
        )
    size = pool_size or net.pool_size or max(2, n_samples // 50)
    size = int(min(size, n_samples))
    queries = rng.choice(n_samples, size=min(n_queries, n_samples), replace=False)
    entropies, picked, base = [], [], []
    generator = net.generator_.eval()
    device = next(generator.parameters()).device
    neighbors = net.neighbors_[queries]
    # Rows are padded with copies of their first neighbour beyond n_distinct_.
    distinct = np.arange(neighbors.shape[1])[None, :] < net.n_distinct_[queries][:, None]
    with torch.no_grad():
        for query_view, item_view in (("image", "text"), ("text", "image")):
            pool = rng.choice(n_samples, size=size, replace=False)
            query = generator.encode(
                query_view, torch.as_tensor(views[query_view][queries], device=device)
            )
            items = generator.encode(
                item_view, torch.as_tensor(views[item_view][pool], device=device)
            )
            logits = -((query[:, None, :] - items[None, :, :]) ** 2).sum(-1)
            probabilities = torch.softmax(logits.double(), dim=1).cpu().numpy()
            log_p = np.log(np.maximum(probabilities, 1e-300))
            entropies.append(-(probabilities * log_p).sum(axis=1))
            # One pick per query from its policy, by inverse transform sampling.
            draw = rng.random(len(queries))[:, None]
            choice = np.minimum((np.cumsum(probabilities, axis=1) < draw).sum(axis=1), size - 1)
            picked.append(((neighbors == pool[choice][:, None]) & distinct).any(axis=1))
            in_pool = np.zeros(n_samples, dtype=bool)
            in_pool[pool] = True
            base.append((in_pool[neighbors] & distinct).sum(axis=1) / size)
    return Bunch(
        policy_entropy_ratio=float(np.mean(entropies) / np.log(size)),
        generator_positive_rate=float(np.mean(picked)),
        pool_positive_rate=float(np.mean(base)),
        pool_size=size,
    )


def _preprocessed(hasher, X, view):
    encoder = getattr(hasher, f"{view}_encoder_")
    X = flatten_samples(validate_view(encoder, X, view=view, reset=False, allow_nd=True))
    return as_dense_float32(encoder.preprocessor_.transform(X))


@validate_params(
    {
        "estimator": [HasMethods(["transform", "transform_text"])],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like", "sparse matrix"],
        "n_queries": [Interval(Integral, 1, None, closed="left")],
        "pool_size": [Interval(Integral, 2, None, closed="left"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def mechanism_health(estimator, X, y, *, n_queries=500, pool_size=None, random_state=0):
    """Figures that show whether a fitted deep hasher's mechanism works.

    - every deep hasher: ``saturation``, the fraction of relaxed code entries ``u`` of both
      views with ``|u| >= 0.9`` (``saturation_image``, ``saturation_text`` per view): how
      binary the codes are before the sign;
    - DBRC: ``alpha``, the ATanh scale of each bit, and ``alpha_mean``;
    - DJSRH: ``alpha``, the tanh scale its schedule reached;
    - UGACH: ``policy_entropy_ratio``, the mean entropy of the generator's softmax over a random
      candidate pool divided by the uniform entropy ``log(pool_size)`` (1 is a generator that
      does not play); ``generator_positive_rate``, how often an item it samples is a graph
      positive of the query, beside ``pool_positive_rate``, how often a uniform pick would be.

    Parameters
    ----------
    estimator : fitted DBRCHasher, DJSRHHasher, UGACHHasher or CHNHasher, or a Pipeline
        ending in one.
    X, y : {array-like, sparse matrix}
        Paired image and text views; for UGACH's policy, the training views in training
        order (its correlation graph indexes them).
    n_queries : int, default=500
        Queries sampled for UGACH's policy figures.
    pool_size : int or None, default=None
        Candidate pool of UGACH's generator; None uses the fitted hasher's ``pool_size``, or
        its rule when that is None (1/50 of the training items, at least 2).
    random_state : int, RandomState instance or None, default=0
        Seeds the sampled queries, pools and picks.

    Returns
    -------
    health : :class:`~sklearn.utils.Bunch`

    Examples
    --------
    >>> from sklearn_xmh import DBRCHasher
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> from sklearn_xmh.inspection import mechanism_health
    >>> data = make_cross_modal(n_samples=200, random_state=0)
    >>> hasher = DBRCHasher(n_bits=16, max_epochs=3, random_state=0)
    >>> health = mechanism_health(hasher.fit(data.X_image, data.X_text), data.X_image, data.X_text)
    >>> sorted(health)
    ['alpha', 'alpha_mean', 'saturation', 'saturation_image', 'saturation_text']
    """
    hasher = last_step(estimator)
    check_is_fitted(hasher)
    name = type(hasher).__name__
    if not isinstance(hasher, (DBRCHasher, DJSRHHasher, UGACHHasher, CHNHasher)) or not hasattr(
        hasher, "net_"
    ):
        raise ValueError(
            f"mechanism_health reports on fitted deep hashers whose training net is present "
            f"(DBRC, DJSRH, UGACH, CHN); got {name}"
            + ("" if hasattr(hasher, "net_") else " without net_ (loaded from skops?)")
            + "."
        )
    if hasher is not estimator:
        X = estimator[:-1].transform(X)
    X, y = validate_views(hasher, X, y, reset=False, allow_nd=hasher._allow_nd())
    health = Bunch()
    saturated = {
        view: np.abs(_relaxed_codes(hasher, data, view)) >= SATURATION
        for view, data in (("image", X), ("text", y))
    }
    health.saturation = float(np.mean([saturated["image"].mean(), saturated["text"].mean()]))
    health.saturation_image = float(saturated["image"].mean())
    health.saturation_text = float(saturated["text"].mean())
    module = hasher.net_.module_
    if isinstance(hasher, DBRCHasher):
        health.alpha = module.atanh.alpha.detach().cpu().numpy().astype(np.float64)
        health.alpha_mean = float(health.alpha.mean())
    elif isinstance(hasher, DJSRHHasher):
        health.alpha = float(module.alpha)
    elif isinstance(hasher, UGACHHasher):
        rng = check_random_state(random_state)
        health.update(_ugach_policy(hasher, X, y, n_queries, pool_size, rng))
    return health
