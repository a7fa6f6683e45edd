"""Datasets: a seeded synthetic paired two-view generator, the loaders of the public ``.mat``
releases, and the DCMH query/database/training split."""

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


_LAYOUTS = ("auto", "wiki", "uci", "dcmh")
_DCMH_SUFFIXES = {"image": "-iall.mat", "text": "-yall.mat", "labels": "-lall.mat"}
_DCMH_KEYS = {"image": "IAll", "text": "YAll", "labels": "LAll"}


def _read_mat(path, keys=None):
    """The variables of a ``.mat`` file: MATLAB v5 through scipy, v7.3 (HDF5) through h5py.

    HDF5 stores MATLAB arrays column-major, so their axes come back reversed.
    """
    from scipy.io import loadmat

    try:
        import h5py
    except ImportError:
        h5py = None
    if h5py is not None and h5py.is_hdf5(path):
        with h5py.File(path, "r") as f:
            names = [k for k in f.keys() if not k.startswith("#")] if keys is None else keys
            return {k: np.asarray(f[k]).T for k in names if k in f}
    try:
        mat = loadmat(path, variable_names=keys)
    except NotImplementedError as exc:  # a v7.3 file without h5py
        raise ImportError(
            f"{path} is a MATLAB v7.3 (HDF5) file; reading it needs h5py: "
            "pip install sklearn-xmh[h5py]."
        ) from exc
    return {k: v for k, v in mat.items() if not k.startswith("__")}


def _dcmh_files(path, image_path=None):
    """The ``-iall`` / ``-yall`` / ``-lall`` files of a DCMH release, from any one of them or
    their common prefix."""
    from pathlib import Path

    path = Path(path)
    prefix = str(path)
    for suffix in _DCMH_SUFFIXES.values():
        if prefix.endswith(suffix):
            prefix = prefix[: -len(suffix)]
    files = {view: Path(prefix + suffix) for view, suffix in _DCMH_SUFFIXES.items()}
    if image_path is not None:
        files["image"] = Path(image_path)
    return files


def _detect_layout(path):
    if any(str(path).endswith(suffix) for suffix in _DCMH_SUFFIXES.values()):
        return "dcmh"
    if not path.exists() and any(f.exists() for f in _dcmh_files(path).values()):
        return "dcmh"
    return "split"


def load_mat_dataset(path, layout="auto", *, image_view="I", text_view="T", image_path=None):
    """Load a cross-modal ``.mat`` release: the Wiki and UCI split layouts, or the DCMH layout.

    - **Split layouts** (``wikiData.mat``, ``uci_all.mat``): ``{view}_tr`` / ``{view}_te``
      arrays and ``L_tr`` / ``L_te`` labels. Following the usual protocol, the test pairs are the
      queries and the training pairs are both the training set and the retrieval database.
      ``uci_all.mat`` holds three views, ``I`` (76-d Fourier), ``T`` (64-d Karhunen-Loeve) and
      ``P`` (240 pixels), any two of which can be paired.
    - **DCMH layout** (MIRFlickr-25K, NUS-WIDE as released with DCMH): three files
      ``<name>-iall.mat`` (``IAll``), ``<name>-yall.mat`` (``YAll``) and ``<name>-lall.mat``
      (``LAll``), with no split: draw one with :func:`split_query_database`. MATLAB v7.3 (HDF5)
      files are read through h5py, the ``[h5py]`` extra.

    Parameters
    ----------
    path : str or path-like
        The ``.mat`` file of a split layout; for the DCMH layout any of its three files, or their
        common prefix (``.../mirflickr25k``).
    layout : {"auto", "wiki", "uci", "dcmh"}, default="auto"
        ``"auto"`` reads the DCMH layout when ``path`` names one of its files or prefixes, and a
        split layout otherwise; ``"wiki"`` and ``"uci"`` are both split layouts.
    image_view, text_view : str, default="I", "T"
        The views of a split layout paired as image and text (``"P"`` for UCI's pixels).
    image_path : str or path-like, default=None
        For the DCMH layout, an image-feature file (``IAll``) elsewhere than beside the others,
        for example 4096-d CNN features you extracted yourself.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Split layouts: ``X_image_train``, ``X_text_train``, ``labels_train``, ``X_image_query``,
        ``X_text_query``, ``labels_query`` and ``name``; single-label sets give 1-D class ids.
        DCMH layout: ``X_image``, ``X_text``, ``labels`` (multi-hot) and ``name``.

    Examples
    --------
    >>> from sklearn_xmh.datasets import load_mat_dataset
    >>> wiki = load_mat_dataset("../shared/data/wiki/wikiData.mat")  # doctest: +SKIP
    >>> wiki.X_image_train.shape, wiki.X_text_query.shape  # doctest: +SKIP
    ((2173, 128), (693, 10))
    """
    from pathlib import Path

    if layout not in _LAYOUTS:
        raise ValueError(f"layout must be one of {_LAYOUTS}, got {layout!r}.")
    path = Path(path)
    if layout == "auto":
        layout = _detect_layout(path)
    if layout == "dcmh":
        return _load_dcmh(path, image_path)
    if not path.exists():
        raise FileNotFoundError(f"No such dataset file: {path}")
    keys = [f"{view}_{part}" for part in ("tr", "te") for view in (image_view, text_view, "L")]
    mat = _read_mat(path)
    missing = [key for key in keys if key not in mat]
    if missing:
        raise ValueError(
            f"{path.name} does not have the train/test split layout with views "
            f"{image_view!r} and {text_view!r}: missing keys {missing}; found {sorted(mat)}."
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


def _load_dcmh(path, image_path):
    files = _dcmh_files(path, image_path)
    views = {}
    for view, file in files.items():
        if not file.exists():
            hint = (
                " (pass image_path= to read image features from elsewhere)"
                if view == "image"
                else ""
            )
            raise FileNotFoundError(
                f"The DCMH layout needs {file.name} ({_DCMH_KEYS[view]}) beside the other files: "
                f"{file} does not exist{hint}."
            )
        mat = _read_mat(file)
        key = _DCMH_KEYS[view]
        if key not in mat:
            raise ValueError(f"{file.name} has no variable {key!r}; found {sorted(mat)}.")
        views[view] = mat[key]
    n_rows = {view: array.shape[0] for view, array in views.items()}
    if len(set(n_rows.values())) != 1:
        raise ValueError(f"The DCMH files disagree on the number of pairs: {n_rows}.")
    name = files["text"].name[: -len(_DCMH_SUFFIXES["text"])]
    return Bunch(
        X_image=np.asarray(views["image"], dtype=np.float32),
        X_text=np.asarray(views["text"], dtype=np.float32),
        labels=np.asarray(views["labels"]).astype(np.uint8),
        name=name,
    )


@validate_params(
    {
        "n_query": [Interval(Integral, 1, None, closed="left")],
        "n_train": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def split_query_database(data, *, n_query=2000, n_train=10000, random_state=None):
    """Split a DCMH-layout dataset into queries, a retrieval database and a training set.

    The DCMH protocol on MIRFlickr-25K and NUS-WIDE: ``n_query`` random pairs are the queries,
    all the others form the database, and the training pairs are ``n_train`` random pairs drawn
    from the database.

    Parameters
    ----------
    data : Bunch or dict
        ``X_image``, ``X_text`` and ``labels`` of the same length, as
        :func:`load_mat_dataset` returns for the DCMH layout.
    n_query : int, default=2000
        Number of queries.
    n_train : int or None, default=10000
        Number of training pairs drawn from the database; None takes the whole database.
    random_state : int, RandomState instance or None, default=None
        Seeds the split.

    Returns
    -------
    split : :class:`~sklearn.utils.Bunch`
        ``X_image_{part}``, ``X_text_{part}``, ``labels_{part}`` and ``index_{part}`` (rows of
        ``data``) for each part in ``query``, ``database`` and ``train``, and ``name``.

    Examples
    --------
    >>> from sklearn_xmh.datasets import make_cross_modal, split_query_database
    >>> data = make_cross_modal(n_samples=500, random_state=0)
    >>> split = split_query_database(data, n_query=100, n_train=200, random_state=0)
    >>> split.X_image_query.shape[0], split.X_image_database.shape[0], split.X_text_train.shape[0]
    (100, 400, 200)
    """
    n_samples = len(data["labels"])
    lengths = {key: len(data[key]) for key in ("X_image", "X_text", "labels")}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"X_image, X_text and labels must have the same length, got {lengths}.")
    if n_query >= n_samples:
        raise ValueError(f"n_query={n_query} leaves no database: the data has {n_samples} pairs.")
    n_database = n_samples - n_query
    if n_train is not None and n_train > n_database:
        raise ValueError(
            f"n_train={n_train} is larger than the database ({n_database} pairs after "
            f"{n_query} queries); pass a smaller n_train, or None for the whole database."
        )
    rng = check_random_state(random_state)
    order = rng.permutation(n_samples)
    index = {"query": np.sort(order[:n_query]), "database": np.sort(order[n_query:])}
    train = (
        index["database"]
        if n_train is None
        else rng.choice(index["database"], size=n_train, replace=False)
    )
    index["train"] = np.sort(train)
    split = Bunch(name=data.get("name", "data"))
    for part, rows in index.items():
        split[f"index_{part}"] = rows
        for key in ("X_image", "X_text", "labels"):
            split[f"{key}_{part}"] = np.asarray(data[key])[rows]
    return split


def _as_labels(labels):
    labels = np.asarray(labels)
    return labels.ravel().astype(np.int64) if min(labels.shape) == 1 else labels.astype(np.uint8)
