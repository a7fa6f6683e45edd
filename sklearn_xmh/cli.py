"""The ``xmh`` command line.

- ``xmh benchmark --data synthetic --methods cca-itq,dbrc --bits 16,32`` fits every method at
  every code length and seed, and prints image-to-text and text-to-image mAP as mean +- std over
  seeds, with the mean fit time; ``--output`` writes the records as JSON and ``--plot`` the
  precision-recall and precision@k curves.
- ``xmh fit --data PATH --method djsrh --bits 64 --output model.skops`` trains one model on a
  dataset's training pairs and saves it (skops, or joblib for other extensions).
- ``xmh encode --model model.skops --input features.npy --view text --output codes.npy`` encodes a
  ``.npy`` or ``.mat`` feature file to packed codes.
"""

import argparse
import json
import sys
import time

import numpy as np

from ._discovery import all_estimators
from .datasets import load_mat_dataset, make_cross_modal, split_query_database
from .metrics import mean_average_precision


def _synthetic(random_state=0):
    """The embedded default: 2,000 training/database pairs and 500 query pairs."""
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


def _load(data, n_query=2000, n_train=10000):
    if data == "synthetic":
        return _synthetic()
    loaded = load_mat_dataset(data)
    if "X_image_train" in loaded:
        return loaded
    # A layout without a split (DCMH): the protocol's seeded query/database/training split.
    return split_query_database(loaded, n_query=n_query, n_train=n_train, random_state=0)


def _database(data, view):
    """The retrieval database: its own part when the split has one, else the training pairs."""
    return data.get(f"{view}_database", data[f"{view}_train"])


def fit_method(method, data, n_bits, seed, *, device="cpu"):
    """Fit one registered method at its defaults on ``data``'s training pairs.

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

    Returns
    -------
    estimator : BaseCrossModalHasher
        The fitted hasher.
    seconds : float
        Wall time of ``fit``.

    Examples
    --------
    >>> from sklearn_xmh.cli import fit_method
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> d = make_cross_modal(n_samples=100, random_state=0)
    >>> data = {"X_image_train": d.X_image, "X_text_train": d.X_text, "labels_train": d.labels}
    >>> hasher, seconds = fit_method("cca-itq", data, 8, 0)
    >>> hasher.transform(d.X_image).shape
    (100, 8)
    """
    estimator = dict(all_estimators())[method](n_bits=n_bits, random_state=seed)
    if "device" in estimator.get_params():
        estimator.set_params(device=device)
    labels = {"labels": data["labels_train"]} if estimator._requires_labels else {}
    start = time.perf_counter()
    estimator.fit(data["X_image_train"], data["X_text_train"], **labels)
    return estimator, time.perf_counter() - start


def run_benchmark(data, methods, bits, *, seeds=1, top_k=50, device="cpu", log=None, on_codes=None):
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

    Returns
    -------
    records : list of dict
        Keys ``method``, ``n_bits``, ``direction``, ``map``, ``top_k``, ``seed``, ``fit_seconds``.

    Examples
    --------
    >>> from sklearn_xmh.cli import run_benchmark
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> d = make_cross_modal(n_samples=300, random_state=0)
    >>> data = {f"{key}_{part}": d[key if key == "labels" else key][rows]
    ...         for key in ("X_image", "X_text", "labels")
    ...         for part, rows in (("train", slice(0, 200)), ("query", slice(200, None)))}
    >>> records = run_benchmark(data, ["cca-itq"], [16], top_k=20)
    >>> [(r["method"], r["n_bits"], r["direction"]) for r in records]
    [('cca-itq', 16, 'i2t'), ('cca-itq', 16, 't2i')]
    """
    records = []
    for method in methods:
        for n_bits in bits:
            for seed in range(seeds):
                estimator, seconds = fit_method(method, data, n_bits, seed, device=device)
                query = (
                    estimator.transform(data["X_image_query"]),
                    estimator.transform_text(data["X_text_query"]),
                )
                database = (
                    estimator.transform(_database(data, "X_image")),
                    estimator.transform_text(_database(data, "X_text")),
                )
                db_labels = _database(data, "labels")
                if on_codes is not None:
                    on_codes(method, n_bits, seed, query, database)
                for direction, q, db in (
                    ("i2t", query[0], database[1]),
                    ("t2i", query[1], database[0]),
                ):
                    score = mean_average_precision(
                        q, db, data["labels_query"], db_labels, top_k=top_k
                    )
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
                if log is not None:
                    log(f"{method} {n_bits} bits seed {seed}: fit {seconds:.1f}s")
    return records


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
        Each cell is the mean +- std over seeds; the last column is the mean fit time.

    Examples
    --------
    >>> from sklearn_xmh.cli import format_table
    >>> records = [
    ...     {"method": "dbrc", "n_bits": 16, "direction": d, "map": m, "top_k": 50, "seed": 0,
    ...      "fit_seconds": 2.0}
    ...     for d, m in (("i2t", 0.5), ("t2i", 0.6))
    ... ]
    >>> print(format_table(records))
    mAP@50, mean ± std over seeds
    <BLANKLINE>
    | method | I→T 16 | T→I 16 | fit s |
    |---|---|---|---|
    | dbrc | 0.500 ± 0.000 | 0.600 ± 0.000 | 2.0 |
    """
    methods = list(dict.fromkeys(r["method"] for r in records))
    bits = sorted({r["n_bits"] for r in records})
    top_k = records[0]["top_k"] if records else None
    metric = "mAP@all" if top_k is None else f"mAP@{top_k}"
    header = ["method"] + [f"{d} {b}" for d in ("I→T", "T→I") for b in bits] + ["fit s"]
    lines = [title] if title else []
    lines += [f"{metric}, mean ± std over seeds", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method in methods:
        rows = [r for r in records if r["method"] == method]
        cells = [method]
        for direction in ("i2t", "t2i"):
            for n_bits in bits:
                scores = [
                    r["map"] for r in rows if r["direction"] == direction and r["n_bits"] == n_bits
                ]
                cells.append(f"{np.mean(scores):.3f} ± {np.std(scores):.3f}")
        cells.append(f"{np.mean([r['fit_seconds'] for r in rows]):.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _parse_list(text, names=None):
    items = [item.strip() for item in text.split(",") if item.strip()]
    if names is not None:
        if items == ["all"]:
            return list(names)
        unknown = sorted(set(items) - set(names))
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown methods {unknown}; choose from {list(names)}"
            )
    return items


def build_parser():
    names = [name for name, _ in all_estimators()]
    parser = argparse.ArgumentParser(prog="xmh", description="Cross-modal hashing.")
    commands = parser.add_subparsers(dest="command", required=True)
    data_help = "'synthetic', a Wiki/UCI .mat file, or a DCMH file or prefix"

    def add_split_arguments(command):
        command.add_argument(
            "--n-query", type=int, default=2000, help="queries of a DCMH split (seed 0)"
        )
        command.add_argument(
            "--n-train", type=int, default=10000, help="training pairs of a DCMH split"
        )

    bench = commands.add_parser("benchmark", help="print a paper-style mAP table")
    bench.add_argument("--data", default="synthetic", help=data_help)
    bench.add_argument(
        "--methods",
        default="all",
        type=lambda text: _parse_list(text, names),
        help=f"comma-separated, or 'all': {','.join(names)}",
    )
    bench.add_argument(
        "--bits", default="16,32", type=lambda text: [int(b) for b in _parse_list(text)]
    )
    bench.add_argument(
        "--top-k",
        default="50",
        type=lambda text: None if text == "all" else int(text),
        help="K of mAP@K, or 'all'",
    )
    bench.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 per cell")
    bench.add_argument("--device", default="cpu")
    bench.add_argument(
        "--output", help="write the per-seed records as JSON, or as CSV for a .csv path"
    )
    bench.add_argument(
        "--plot", help="write PR and precision@k curves (longest code, seed 0) to this image"
    )
    add_split_arguments(bench)

    fit = commands.add_parser("fit", help="train one model and save it")
    fit.add_argument("--data", default="synthetic", help=data_help)
    fit.add_argument("--method", required=True, choices=names)
    fit.add_argument("--bits", type=int, default=64)
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--device", default="cpu")
    fit.add_argument(
        "--output", required=True, help="model file: .skops (safe to share) or .joblib"
    )
    add_split_arguments(fit)

    encode = commands.add_parser("encode", help="encode a feature file to packed codes")
    encode.add_argument(
        "--model",
        required=True,
        help=".skops (loaded with the library's trusted types) or .joblib (load only files "
        "you trust: joblib runs code from the file)",
    )
    encode.add_argument("--input", required=True, help=".npy or .mat feature file")
    encode.add_argument("--key", help="variable of a .mat file (default: its only one)")
    encode.add_argument("--view", choices=["image", "text"], default="image")
    encode.add_argument("--output", required=True, help=".npy file of packed codes")
    return parser


def _benchmark(args):
    data = _load(args.data, args.n_query, args.n_train)
    longest, curves = max(args.bits), {}

    def keep_codes(method, n_bits, seed, query, database):
        if args.plot and n_bits == longest and seed == 0:
            curves[method] = (query, database)

    records = run_benchmark(
        data,
        args.methods,
        args.bits,
        seeds=args.seeds,
        top_k=args.top_k,
        device=args.device,
        log=lambda message: print(message, file=sys.stderr, flush=True),
        on_codes=keep_codes,
    )
    print(format_table(records, title=f"## {data['name']}"))
    if args.output:
        _write_records(records, args.output)
    if args.plot:
        _plot_curves(curves, data, longest, args.plot)
    return 0


def _write_records(records, path):
    """JSON ``{"results": [...]}``, or one CSV row per record for a ``.csv`` path."""
    with open(path, "w", newline="") as stream:
        if str(path).endswith(".csv"):
            import csv

            writer = csv.DictWriter(stream, fieldnames=list(records[0]) if records else [])
            writer.writeheader()
            writer.writerows(records)
        else:
            json.dump({"results": records}, stream, indent=1)


def _plot_curves(curves, data, n_bits, path):
    """PR (top) and precision@k (bottom) curves, image-to-text (left) and text-to-image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import RetrievalCurveDisplay

    fig, axes = plt.subplots(2, 2, figsize=(10, 8))
    labels = data["labels_query"], _database(data, "labels")
    for method, (query, database) in curves.items():
        for column, (q, db) in enumerate(((query[0], database[1]), (query[1], database[0]))):
            for row, kind in enumerate(("pr", "precision_at_k")):
                RetrievalCurveDisplay.from_codes(
                    q, db, *labels, kind=kind, name=method, ax=axes[row, column]
                )
    for column, title in enumerate(("image → text", "text → image")):
        axes[0, column].set_title(f"{data['name']}, {n_bits} bits: {title}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"curves written to {path}", file=sys.stderr)


def _fit(args):
    data = _load(args.data, args.n_query, args.n_train)
    estimator, seconds = fit_method(args.method, data, args.bits, args.seed, device=args.device)
    print(
        f"{args.method}: {args.bits} bits fitted on {len(data['X_image_train'])} pairs of "
        f"{data['name']} in {seconds:.1f}s",
        file=sys.stderr,
    )
    if args.output.endswith(".skops"):
        import skops.io

        skops.io.dump(estimator, args.output)
    else:
        import joblib

        joblib.dump(estimator, args.output)
    print(f"model written to {args.output}", file=sys.stderr)
    return 0


def _read_features(path, key=None):
    if path.endswith(".npy"):
        return np.load(path, mmap_mode="r")  # encoded in batches, never whole in memory
    from .datasets import _read_mat

    variables = _read_mat(path)
    if key is None:
        if len(variables) != 1:
            raise SystemExit(f"{path} holds {sorted(variables)}: choose one with --key.")
        (key,) = variables
    if key not in variables:
        raise SystemExit(f"{path} has no variable {key!r}; found {sorted(variables)}.")
    return variables[key]


def _encode(args):
    if args.model.endswith(".skops"):
        import skops.io

        from ._persistence import trusted_types

        model = skops.io.load(args.model, trusted=trusted_types())
    else:
        import joblib

        model = joblib.load(args.model)
    X = _read_features(args.input, args.key)
    model.set_params(code_format="packed")
    codes = model.transform(X) if args.view == "image" else model.transform_text(X)
    np.save(args.output, codes)
    print(
        f"{codes.shape[0]} {args.view} codes of {model.n_bits} bits, packed into "
        f"{codes.shape[1]} bytes each, written to {args.output}",
        file=sys.stderr,
    )
    return 0


def main(argv=None):
    """Entry point of the ``xmh`` console script."""
    args = build_parser().parse_args(argv)
    return {"benchmark": _benchmark, "fit": _fit, "encode": _encode}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
