"""A seeded synthetic paired two-view generator: the embedded default for examples and tests."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_classes": [Interval(Integral, 1, None, closed="left")],
        "n_image_features": [Interval(Integral, 1, None, closed="left")],
        "n_text_features": [Interval(Integral, 1, None, closed="left")],
        "n_latent": [Interval(Integral, 1, None, closed="left")],
        "max_labels": [Interval(Integral, 1, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_cross_modal(
    n_samples=1000,
    n_classes=10,
    n_image_features=128,
    n_text_features=64,
    *,
    n_latent=16,
    max_labels=3,
    noise=1.0,
    random_state=None,
):
    """Generate paired image and text views that share multi-hot labels.

    Each sample draws between 1 and ``max_labels`` labels. Its latent semantic vector is the mean of
    its labels' random prototypes plus Gaussian noise of scale ``noise / 2``. The image view is a
    random non-linear (tanh) map of the latent vector plus noise; the text view is a non-negative,
    bag-of-words-like (softplus) map of the latent vector through a different random matrix plus
    noise. The views are therefore correlated only through the shared semantics, as real image and
    text features are.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of pairs.
    n_classes : int, default=10
        Number of labels.
    n_image_features : int, default=128
        Width of the image view.
    n_text_features : int, default=64
        Width of the text view.
    n_latent : int, default=16
        Dimension of the shared semantic space.
    max_labels : int, default=3
        Largest number of labels per sample.
    noise : float, default=1.0
        Scale of the per-view noise.
    random_state : int, RandomState instance or None, default=None
        Seeds the generator.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X_image`` of shape (n_samples, n_image_features), ``X_text`` of shape (n_samples,
        n_text_features), both float32, ``labels`` of shape (n_samples, n_classes) uint8 multi-hot,
        and ``DESCR``.

    Examples
    --------
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> data = make_cross_modal(n_samples=100, random_state=0)
    >>> data.X_image.shape, data.X_text.shape, data.labels.shape
    ((100, 128), (100, 64), (100, 10))
    """
    rng = check_random_state(random_state)
    prototypes = rng.standard_normal((n_classes, n_latent)) * 2.0
    n_labels = rng.randint(1, min(max_labels, n_classes) + 1, size=n_samples)
    order = np.argsort(rng.random_sample((n_samples, n_classes)), axis=1)
    labels = (np.argsort(order, axis=1) < n_labels[:, None]).astype(np.uint8)
    latent = labels @ prototypes / n_labels[:, None]
    latent += rng.standard_normal(latent.shape) * (noise / 2)

    image_map = rng.standard_normal((n_latent, n_image_features)) / np.sqrt(n_latent)
    text_map = rng.standard_normal((n_latent, n_text_features)) / np.sqrt(n_latent)
    X_image = np.tanh(latent @ image_map) + noise * 0.5 * rng.standard_normal(
        (n_samples, n_image_features)
    )
    X_text = np.logaddexp(
        0.0, latent @ text_map + noise * rng.standard_normal((n_samples, n_text_features))
    )
    return Bunch(
        X_image=X_image.astype(np.float32),
        X_text=X_text.astype(np.float32),
        labels=labels,
        DESCR=(
            "Synthetic paired two-view data from sklearn_xmh.datasets.make_cross_modal: image and "
            "text views generated from shared multi-hot label semantics."
        ),
    )
