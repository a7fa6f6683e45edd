"""The benchmark harness behind ``xmh benchmark`` and ``benchmarks/bench_quality.py``: fit every
method at its defaults on a dataset's training pairs, score both retrieval directions on its
queries, and render the paper-style table."""

import os
import time
from numbers import Integral

import numpy as np
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params

from .datasets import load_mat_dataset, make_cross_modal, split_query_database
from .datasets._home import resolve_shorthand
from .metrics import mean_average_precision
from .utils.discovery import all_estimators


def _synthetic(random_state=0):
    # The embedded default: 2,000 training/database pairs and 500 query pairs.
    data = make_cross_modal(n_samples=2500, random_state=random_state)
    train, query = slice(0, 2000), slice(2000, None)
    return {
        "name": "synthetic",
        "X_image_train": data.X_image[train],
        "X_text_train": data.X_text[train],
        "labels_train": data.labels[train],
        "X_image_query": data.X_image[query],
        "X_text_query": data.X_text[query],
        "labels_query": data.labels[query],
    }


@validate_params(
    {
        "data": [str, os.PathLike],
        "n_query": [Interval(Integral, 1, None, closed="left")],
        "n_train": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def load_benchmark_data(data, *, n_query=2000, n_train=10000):
    """The benchmark's splits of ``data``: ``"synthetic"``, a short name, or a ``.mat`` release.

    ``"synthetic"`` is the embedded default, 2,000 training (and database) pairs and 500 query
    pairs of :func:`~sklearn_xmh.datasets.make_cross_modal` (seed 0). ``"wiki"``, ``"uci"``
    and ``"uci-pixels"`` (UCI's pixels as the image view) name the releases in the data folder
    (:func:`~sklearn_xmh.datasets.get_data_home`). A split layout (Wiki, UCI) comes with its
    own queries; a DCMH layout is split by :func:`~sklearn_xmh.datasets.split_query_database`
    with seed 0.

    Parameters
    ----------
    data : str or path-like
        ``"synthetic"``, a short name, or a path that
        :func:`~sklearn_xmh.datasets.load_mat_dataset` reads.
    n_query : int, default=2000
        Queries of a DCMH split.
    n_train : int, default=10000
        Training pairs of a DCMH split.

    Returns
    -------
    data : dict or Bunch
        ``X_image_train``, ``X_text_train``, ``labels_train``, ``X_image_query``,
        ``X_text_query``, ``labels_query``, ``name``, and the ``*_database`` parts of a DCMH
        split.

    Examples
    --------
    >>> from sklearn_xmh.benchmark import load_benchmark_data
    >>> load_benchmark_data("synthetic")["X_image_train"].shape
    (2000, 128)
    """
    if str(data) == "synthetic":
        return _synthetic()
    shorthand = resolve_shorthand(str(data))
    if shorthand is not None:
        path, image_view, text_view = shorthand
        loaded = load_mat_dataset(path, image_view=image_view, text_view=text_view)
        loaded.name = str(data)
        return loaded
    loaded = load_mat_dataset(data)
    if "X_image_train" in loaded:
        return loaded
    # A layout without a split (DCMH): the protocol's seeded query/database/training split.
    return split_query_database(loaded, n_query=n_query, n_train=n_train, random_state=0)


def database_part(data, view):
    """The retrieval database: its own part when the split has one, else the training pairs."""
    return data.get(f"{view}_database", data[f"{view}_train"])


@validate_params(
    {
        "method": [StrOptions({name for name, _ in all_estimators()})],
        "data": [dict],
        "n_bits": [Interval(Integral, 1, None, closed="left")],
        "seed": ["random_state"],
        "device": [str],
        "params": [dict, None],
    },
    prefer_skip_nested_validation=True,
)
def fit_method(method, data, n_bits, seed, *, device="cpu", params=None):
    """Fit one registered method at its defaults (or ``params``) on ``data``'s training pairs.

    Only a supervised method receives ``labels_train``; unsupervised ones never see labels.

    Parameters
    ----------
    method : str
        A name from :func:`~sklearn_xmh.all_estimators`.
    data : dict or Bunch
        With ``X_image_train``, ``X_text_train`` and ``labels_train``.
    n_bits : int
        Code length.
    seed : int
        ``random_state`` of the estimator.
    device : str, default="cpu"
        Torch device of a deep method; ignored by the others.
    params : dict or None, default=None
        Parameters that replace the method's defaults (an ablation's switch, for example).

    Returns
    -------
    estimator : BaseCrossModalHasher
        The fitted hasher.
    seconds : float
        Wall time of ``fit``.

    Examples
    --------
    >>> from sklearn_xmh.benchmark import fit_method
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> d = make_cross_modal(n_samples=100, random_state=0)
    >>> data = {"X_image_train": d.X_image, "X_text_train": d.X_text, "labels_train": d.labels}
    >>> hasher, seconds = fit_method("cca-itq", data, 8, 0)
    >>> hasher.transform(d.X_image).shape
    (100, 8)
    """
    estimator = dict(all_estimators())[method](n_bits=n_bits, random_state=seed)
    estimator.set_params(**(params or {}))
    if "device" in estimator.get_params():
        estimator.set_params(device=device)
    labels = {"labels": data["labels_train"]} if get_tags(estimator).hasher_tags.supervised else {}
    start = time.perf_counter()
    estimator.fit(data["X_image_train"], data["X_text_train"], **labels)
    return estimator, time.perf_counter() - start


@validate_params(
    {"estimator": [HasMethods(["transform", "transform_text"])], "data": [dict]},
    prefer_skip_nested_validation=True,
)
def encode_split(estimator, data):
    """The codes a fitted hasher gives the queries and the database of a split.

    Parameters
    ----------
    estimator : fitted hasher
        It encodes images with ``transform`` and texts with ``transform_text``.
    data : dict or Bunch
        ``X_image_query`` and ``X_text_query``, and the database: the ``*_database`` part
        when the split has one (the DCMH split), else ``X_image_train`` and ``X_text_train``.

    Returns
    -------
    query, database : tuple of (image codes, text codes)

    Examples
    --------
    >>> from sklearn_xmh.benchmark import encode_split, fit_method
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> d = make_cross_modal(n_samples=100, random_state=0)
    >>> data = {"X_image_train": d.X_image[:80], "X_text_train": d.X_text[:80],
    ...         "X_image_query": d.X_image[80:], "X_text_query": d.X_text[80:]}
    >>> hasher, _ = fit_method("cca-itq", data, 8, 0)
    >>> query, database = encode_split(hasher, data)
    >>> query[0].shape, database[1].shape
    ((20, 8), (80, 8))
    """
    query = (
        estimator.transform(data["X_image_query"]),
        estimator.transform_text(data["X_text_query"]),
    )
    database = (
        estimator.transform(database_part(data, "X_image")),
        estimator.transform_text(database_part(data, "X_text")),
    )
    return query, database


@validate_params(
    {
        "data": [dict],
        "methods": [list],
        "bits": [list],
        "seeds": [Interval(Integral, 1, None, closed="left")],
        "top_k": [Interval(Integral, 1, None, closed="left"), None],
        "device": [str],
        "log": [callable, None],
        "on_codes": [callable, None],
        "params": [dict, None],
    },
    # The estimators check their own parameters (n_bits=0 raises there).
    prefer_skip_nested_validation=False,
)
def run_benchmark(
    data,
    methods,
    bits,
    *,
    seeds=1,
    top_k=50,
    device="cpu",
    log=None,
    on_codes=None,
    params=None,
):
    """Fit each method at each code length and seed; return one record per direction.

    Unsupervised methods never receive labels. The queries are the test pairs; the database is
    the ``*_database`` part when ``data`` has one (the DCMH split), else the training pairs.

    Parameters
    ----------
    data : dict or Bunch
        ``X_image_train``, ``X_text_train``, ``labels_train``, ``X_image_query``,
        ``X_text_query`` and ``labels_query``, as :func:`~sklearn_xmh.datasets.load_mat_dataset`
        returns them.
    methods : list of str
        Names from :func:`~sklearn_xmh.all_estimators`.
    bits : list of int
        Code lengths.
    seeds : int, default=1
        Seeds ``0 .. seeds - 1`` per method and length, each a fresh ``random_state``.
    top_k : int or None, default=50
        K of mAP@K; None for mAP@all.
    device : str, default="cpu"
        Torch device of the deep methods.
    log : callable or None, default=None
        Called with a progress message after each fit.
    on_codes : callable or None, default=None
        Called as ``on_codes(method, n_bits, seed, query_codes, database_codes)`` after each
        fit, each a pair ``(image codes, text codes)``; for curves.
    params : dict of str to dict, default=None
        Parameters that replace a method's defaults, by method name.

    Returns
    -------
    records : list of dict
        Keys ``method``, ``n_bits``, ``direction``, ``map``, ``top_k``, ``seed``, ``fit_seconds``.

    Examples
    --------
    >>> from sklearn_xmh.benchmark import run_benchmark
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> d = make_cross_modal(n_samples=300, random_state=0)
    >>> data = {f"{key}_{part}": d[key if key == "labels" else key][rows]
    ...         for key in ("X_image", "X_text", "labels")
    ...         for part, rows in (("train", slice(0, 200)), ("query", slice(200, None)))}
    >>> records = run_benchmark(data, ["cca-itq"], [16], top_k=20)
    >>> [(r["method"], r["n_bits"], r["direction"]) for r in records]
    [('cca-itq', 16, 'i2t'), ('cca-itq', 16, 't2i')]
    """
    _check_benchmark_lists(methods, bits)
    missing = [key for key in _SPLIT_KEYS if key not in data]
    if missing:
        raise ValueError(f"data lacks {missing}: pass a split as load_benchmark_data returns.")
    # Every cell is fitted and encoded first, then scored: compiling the scoring kernels on
    # first use (numba) can overlap the fits (see the ``xmh`` command line's warm-up).
    cells = []
    for method in methods:
        for n_bits in bits:
            for seed in range(seeds):
                estimator, seconds = fit_method(
                    method, data, n_bits, seed, device=device, params=(params or {}).get(method)
                )
                query, database = encode_split(estimator, data)
                if on_codes is not None:
                    on_codes(method, n_bits, seed, query, database)
                cells.append((method, n_bits, seed, seconds, query, database))
                if log is not None:
                    log(f"{method} {n_bits} bits seed {seed}: fit {seconds:.1f}s")
    db_labels = database_part(data, "labels")
    records = []
    for method, n_bits, seed, seconds, query, database in cells:
        for direction, q, db in (("i2t", query[0], database[1]), ("t2i", query[1], database[0])):
            score = mean_average_precision(q, db, data["labels_query"], db_labels, top_k=top_k)
            records.append(
                {
                    "method": method,
                    "n_bits": n_bits,
                    "direction": direction,
                    "map": float(score),
                    "top_k": top_k,
                    "seed": seed,
                    "fit_seconds": seconds,
                }
            )
    return records


_SPLIT_KEYS = (
    "X_image_train",
    "X_text_train",
    "labels_train",
    "X_image_query",
    "X_text_query",
    "labels_query",
)


def _check_benchmark_lists(methods, bits):
    known = [name for name, _ in all_estimators()]
    unknown = [method for method in methods if method not in known]
    if not methods or unknown:
        raise ValueError(f"methods must be names of {known}; got {methods!r}.")
    bad = [
        b for b in bits if isinstance(b, (bool, np.bool_)) or not isinstance(b, Integral) or b < 1
    ]
    if not bits or bad:
        raise ValueError(f"bits must be positive code lengths; got {bits!r}.")


@validate_params({"records": [list], "title": [str]}, prefer_skip_nested_validation=True)
def format_table(records, *, title=""):
    """Render records as a markdown table: a row per method, I->T and T->I per code length.

    Parameters
    ----------
    records : list of dict
        The output of :func:`run_benchmark`.
    title : str, default=""
        A first line, such as a markdown heading.

    Returns
    -------
    table : str
        Each cell is the mean +- std over seeds (the score itself for one seed); the last column
        is the mean fit time.

    Examples
    --------
    >>> from sklearn_xmh.benchmark import format_table
    >>> records = [
    ...     {"method": "dbrc", "n_bits": 16, "direction": d, "map": m, "top_k": 50, "seed": 0,
    ...      "fit_seconds": 2.0}
    ...     for d, m in (("i2t", 0.5), ("t2i", 0.6))
    ... ]
    >>> print(format_table(records))
    mAP@50
    <BLANKLINE>
    | method | I→T 16 | T→I 16 | fit s |
    |---|---|---|---|
    | dbrc | 0.500 | 0.600 | 2.0 |
    """
    methods = list(dict.fromkeys(r["method"] for r in records))
    bits = sorted({r["n_bits"] for r in records})
    top_k = records[0]["top_k"] if records else None
    metric = "mAP@all" if top_k is None else f"mAP@{top_k}"
    header = ["method"] + [f"{d} {b}" for d in ("I→T", "T→I") for b in bits] + ["fit s"]
    lines = [title] if title else []
    n_seeds = len({r["seed"] for r in records})
    lines += [f"{metric}, mean ± std over {n_seeds} seeds" if n_seeds > 1 else metric, ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method in methods:
        rows = [r for r in records if r["method"] == method]
        cells = [method]
        for direction in ("i2t", "t2i"):
            for n_bits in bits:
                scores = [
                    r["map"] for r in rows if r["direction"] == direction and r["n_bits"] == n_bits
                ]
                spread = f" ± {np.std(scores):.3f}" if len(scores) > 1 else ""
                cells.append(f"{np.mean(scores):.3f}{spread}")
        cells.append(f"{np.mean([r['fit_seconds'] for r in rows]):.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
