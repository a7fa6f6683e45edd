"""Health figures of a fitted deep hasher: whether the mechanism that makes it its method works.

A hasher can score well while its signature mechanism sits idle (an adaptive tanh that never
adapts, a generator that samples uniformly); these figures show it directly.
"""

from numbers import Integral

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from .base import BaseDeepHasher
from .metrics._scorer import last_step
from .utils._views import as_dense_float32, flatten_samples, validate_view, validate_views

__all__ = ["mechanism_health"]

# |u| at or above this counts as saturated: the relaxed code is already (nearly) binary.
SATURATION = 0.9


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
    if not isinstance(hasher, BaseDeepHasher) or not hasattr(hasher, "net_"):
        raise ValueError(
            f"mechanism_health reports on fitted deep hashers whose training net is present "
            f"(DBRC, DJSRH, UGACH, CHN); got {type(hasher).__name__}"
            + ("" if hasattr(hasher, "net_") else " without net_ (loaded from skops?)")
            + "."
        )
    if hasher is not estimator:
        X = estimator[:-1].transform(X)
    X, y = validate_views(hasher, X, y, reset=False, allow_nd=hasher._allow_nd())
    net = hasher.net_
    health = Bunch()
    saturated = {
        view: np.abs(net.module_.relax(getattr(hasher, f"{view}_encoder_").decision_function(data)))
        >= SATURATION
        for view, data in (("image", X), ("text", y))
    }
    health.saturation = float(np.mean([saturated["image"].mean(), saturated["text"].mean()]))
    health.saturation_image = float(saturated["image"].mean())
    health.saturation_text = float(saturated["text"].mean())
    views = {"image": X, "text": y}
    health.update(
        net.health(
            lambda view: _preprocessed(hasher, views[view], view),
            n_queries=n_queries,
            pool_size=pool_size,
            random_state=check_random_state(random_state),
        )
    )
    return health
