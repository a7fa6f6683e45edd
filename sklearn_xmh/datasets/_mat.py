"""Loaders of the public cross-modal ``.mat`` releases: the Wiki and UCI split layouts and the
DCMH layout (MIRFlickr-25K, NUS-WIDE)."""

import os

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions, validate_params

_LAYOUTS = ("auto", "wiki", "uci", "dcmh")
_DCMH_SUFFIXES = {"image": "-iall.mat", "text": "-yall.mat", "labels": "-lall.mat"}
_DCMH_KEYS = {"image": "IAll", "text": "YAll", "labels": "LAll"}


def read_mat(path, keys=None):
    """The variables of a ``.mat`` file: MATLAB v5 through scipy, v7.3 (HDF5) through h5py.

    HDF5 stores MATLAB arrays column-major, so their axes come back reversed.
    """
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        import h5py
    except ImportError:
        h5py = None
    if h5py is not None and h5py.is_hdf5(path):
        with h5py.File(path, "r") as f:
            names = [k for k in f.keys() if not k.startswith("#")] if keys is None else keys
            return {k: np.asarray(f[k]).T for k in names if k in f}
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory, not a MATLAB .mat file.")
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path}")
    try:
        mat = loadmat(path, variable_names=keys)
    except NotImplementedError as exc:  # a v7.3 file without h5py
        raise ImportError(
            f"{path} is a MATLAB v7.3 (HDF5) file; reading it needs h5py: "
            "pip install sklearn-xmh[h5py]."
        ) from exc
    except (MatReadError, ValueError, TypeError, OSError) as exc:
        raise ValueError(f"{path} is not a readable MATLAB .mat file: {exc}") from exc
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


@validate_params(
    {
        "path": [str, os.PathLike],
        "layout": [StrOptions(set(_LAYOUTS))],
        "image_view": [str],
        "text_view": [str],
        "image_path": [str, os.PathLike, None],
    },
    prefer_skip_nested_validation=True,
)
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

    path = Path(path)
    if layout == "auto":
        layout = _detect_layout(path)
    if layout == "dcmh":
        return _load_dcmh(path, image_path)
    if not path.exists():
        raise FileNotFoundError(f"No such dataset file: {path}")
    keys = [f"{view}_{part}" for part in ("tr", "te") for view in (image_view, text_view, "L")]
    mat = read_mat(path)
    missing = [key for key in keys if key not in mat]
    if missing:
        raise ValueError(
            f"{path.name} does not have the train/test split layout with views "
            f"{image_view!r} and {text_view!r}: missing keys {missing}; found {sorted(mat)}."
        )
    image_tr, text_tr, labels_tr, image_te, text_te, labels_te = (mat[key] for key in keys)
    for part, arrays in (
        ("_tr", (image_tr, text_tr, labels_tr)),
        ("_te", (image_te, text_te, labels_te)),
    ):
        rows = {
            name + part: np.shape(array)[0]
            for name, array in zip((image_view, text_view, "L"), arrays)
        }
        if len(set(rows.values())) != 1:
            raise ValueError(
                f"{path.name}: the views and labels of a split must have one row per pair, got "
                f"rows {rows}."
            )
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
        mat = read_mat(file)
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


def _as_labels(labels):
    labels = np.asarray(labels)
    return labels.ravel().astype(np.int64) if min(labels.shape) == 1 else labels.astype(np.uint8)
