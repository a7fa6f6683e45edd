"""Datasets: a seeded synthetic paired two-view generator."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_classes": [Interval(Integral, 1, None, closed="left")],
        "n_img_features": [Interval(Integral, 1, None, closed="left")],
        "n_txt_features": [Interval(Integral, 1, None, closed="left")],
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
    n_img_features=128,
    n_txt_features=64,
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
    n_img_features : int, default=128
        Width of the image view.
    n_txt_features : int, default=64
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
        ``X_image`` of shape (n_samples, n_img_features), ``X_text`` of shape (n_samples,
        n_txt_features), both float32, ``labels`` of shape (n_samples, n_classes) uint8 multi-hot,
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

    image_map = rng.standard_normal((n_latent, n_img_features)) / np.sqrt(n_latent)
    text_map = rng.standard_normal((n_latent, n_txt_features)) / np.sqrt(n_latent)
    X_image = np.tanh(latent @ image_map) + noise * 0.5 * rng.standard_normal(
        (n_samples, n_img_features)
    )
    X_text = np.logaddexp(
        0.0, latent @ text_map + noise * rng.standard_normal((n_samples, n_txt_features))
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


_SPLIT_KEYS = ("I_tr", "T_tr", "L_tr", "I_te", "T_te", "L_te")


def load_mat_dataset(path, *, image_key="I", text_key="T"):
    """Load a cross-modal ``.mat`` release with a fixed train/test split.

    Reads the layout of the Wikipedia ``wikiData.mat`` and of the UCI ``uci_all.mat`` releases:
    ``{image_key}_tr``, ``{text_key}_tr``, ``L_tr`` for training and ``{image_key}_te``,
    ``{text_key}_te``, ``L_te`` for testing. Following the usual protocol, the test pairs are the
    queries and the training pairs are both the training set and the retrieval database.

    Parameters
    ----------
    path : str or path-like
        The ``.mat`` file.
    image_key, text_key : str, default="I", "T"
        Prefixes of the two views, for files with more views (``uci_all.mat`` also holds ``P``,
        240-d pixel averages).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``X_image_train``, ``X_text_train``, ``labels_train``, ``X_image_query``,
        ``X_text_query``, ``labels_query`` (labels as 1-D class ids), and ``name``.
    """
    from pathlib import Path

    from scipy.io import loadmat

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such dataset file: {path}")
    mat = loadmat(path)
    keys = [key.replace("I", image_key, 1).replace("T", text_key, 1) for key in _SPLIT_KEYS]
    missing = [key for key in keys if key not in mat]
    if missing:
        raise ValueError(
            f"{path.name} does not have the train/test split layout: missing keys {missing}; "
            f"found {sorted(k for k in mat if not k.startswith('__'))}."
        )
    image_tr, text_tr, labels_tr, image_te, text_te, labels_te = (mat[key] for key in keys)
    return Bunch(
        X_image_train=image_tr.astype(np.float32),
        X_text_train=text_tr.astype(np.float32),
        labels_train=_as_labels(labels_tr),
        X_image_query=image_te.astype(np.float32),
        X_text_query=text_te.astype(np.float32),
        labels_query=_as_labels(labels_te),
        name=path.stem,
    )


def _as_labels(labels):
    labels = np.asarray(labels)
    return labels.ravel().astype(np.int64) if min(labels.shape) == 1 else labels.astype(np.uint8)
