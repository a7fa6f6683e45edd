"""The ``xmh`` command line: it parses arguments and calls :mod:`sklearn_xmh.benchmark`.

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

import numpy as np

from .benchmark import database_part, fit_method, format_table, load_benchmark_data, run_benchmark
from .utils.discovery import all_estimators


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
    data = load_benchmark_data(args.data, n_query=args.n_query, n_train=args.n_train)
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
    labels = data["labels_query"], database_part(data, "labels")
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
    data = load_benchmark_data(args.data, n_query=args.n_query, n_train=args.n_train)
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
    from .datasets._mat import read_mat

    variables = read_mat(path)
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

        from .utils._persistence import trusted_types

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
