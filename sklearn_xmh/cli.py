"""The ``xmh`` command line: paper-style mAP tables of the library's hashers.

``xmh benchmark --data synthetic --methods cca-itq,dbrc --bits 16,32`` fits every method at every
code length and seed, and prints image-to-text and text-to-image mAP as mean +- std over seeds, with
the mean fit time.
"""

import argparse
import json
import sys
import time

import numpy as np

from ._discovery import all_estimators
from .datasets import load_mat_dataset, make_cross_modal
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


def _load(data):
    return _synthetic() if data == "synthetic" else load_mat_dataset(data)


def run_benchmark(data, methods, bits, *, seeds=1, top_k=50, device="cpu", log=None):
    """Fit each method at each code length and seed; return one record per direction.

    Unsupervised methods never receive labels. The queries are the test pairs; the database and the
    training set are the training pairs.

    Returns
    -------
    records : list of dict
        Keys ``method``, ``n_bits``, ``direction``, ``map``, ``top_k``, ``seed``, ``fit_seconds``.
    """
    registry = dict(all_estimators())
    records = []
    for method in methods:
        for n_bits in bits:
            for seed in range(seeds):
                estimator = registry[method](n_bits=n_bits, random_state=seed)
                if "device" in estimator.get_params():
                    estimator.set_params(device=device)
                start = time.perf_counter()
                fit_labels = {"labels": data["labels_train"]} if estimator._requires_labels else {}
                estimator.fit(data["X_image_train"], data["X_text_train"], **fit_labels)
                seconds = time.perf_counter() - start
                query = (
                    estimator.transform(data["X_image_query"]),
                    estimator.transform_text(data["X_text_query"]),
                )
                database = (
                    estimator.transform(data["X_image_train"]),
                    estimator.transform_text(data["X_text_train"]),
                )
                for direction, q, db in (
                    ("i2t", query[0], database[1]),
                    ("t2i", query[1], database[0]),
                ):
                    score = mean_average_precision(
                        q, db, data["labels_query"], data["labels_train"], top_k=top_k
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
    """Render records as a markdown table: a row per method, I->T and T->I per code length."""
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
    parser = argparse.ArgumentParser(prog="xmh", description="Cross-modal hashing benchmarks.")
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser("benchmark", help="print a paper-style mAP table")
    bench.add_argument("--data", default="synthetic", help="'synthetic' or a .mat file path")
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
    bench.add_argument("--output", help="write the per-seed records as JSON")
    return parser


def main(argv=None):
    """Entry point of the ``xmh`` console script."""
    args = build_parser().parse_args(argv)
    data = _load(args.data)
    records = run_benchmark(
        data,
        args.methods,
        args.bits,
        seeds=args.seeds,
        top_k=args.top_k,
        device=args.device,
        log=lambda message: print(message, file=sys.stderr, flush=True),
    )
    print(format_table(records, title=f"## {data['name']}"))
    if args.output:
        with open(args.output, "w") as stream:
            json.dump({"results": records}, stream, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
