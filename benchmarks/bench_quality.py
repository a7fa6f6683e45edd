"""Retrieval quality of the hashers on Wiki or UCI: mAP@50 and mAP@all, I->T and T->I.

Every method is fitted with its default settings (only ``n_bits`` and ``random_state`` are set)
on the training pairs, which are also the retrieval database; the test pairs are the queries. An
item is relevant when it has the query's class. Unsupervised methods never see labels. Prints a
markdown report: one table per metric, mean +- std over seeds, with the mean fit time.

Ties in Hamming distance are ordered stably (by database index). mAP@50 is also reported with
``ties="expected"``, the expectation over random tie orders, which is what published tables
ranked with numpy's default (unstable) sort come close to.

Usage::

    python benchmarks/bench_quality.py --data wiki --bits 16,32,64,128 --seeds 3 \\
        --methods dbrc,djsrh,ugach,cca-itq
"""

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

from sklearn_xmh import all_estimators
from sklearn_xmh.benchmark import encode_split, fit_method
from sklearn_xmh.datasets import load_mat_dataset, pca_views
from sklearn_xmh.metrics import mean_average_precision

# The shared data folder beside the checkout, or where XMH_SHARED_DATA says.
SHARED_DATA = Path(
    os.environ.get("XMH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
WIKI = SHARED_DATA / "wiki" / "wikiData.mat"
UCI = SHARED_DATA / "uci_multifeature" / "uci_all.mat"
# name: (file, image view, text view). The "-signed" version of each is its views
# PCA-projected and centred on the training pairs (sklearn_xmh.datasets.pca_views).
PAIRINGS = {
    "wiki": (WIKI, "I", "T"),  # SIFT histograms / LDA topic proportions: non-negative
    "uci": (UCI, "I", "T"),  # Fourier magnitudes / Karhunen-Loeve coefficients (signed)
    "uci-pixels": (UCI, "P", "T"),  # 240 pixel averages / Karhunen-Loeve
    # Held out: no default was chosen on these pairings.
    "uci-fp": (UCI, "I", "P"),  # Fourier / pixels, both non-negative
}
DATASETS = {
    **{name: spec[0] for name, spec in PAIRINGS.items()},
    **{f"{name}-signed": spec[0] for name, spec in PAIRINGS.items()},
}
# The pairings the library-wide defaults are cross-validated on; the others check them.
TUNING = ("wiki", "uci", "uci-pixels", "wiki-signed", "uci-signed")


def load_dataset(name):
    """The split of the shared data set ``name`` (a key of ``DATASETS``)."""
    base = name.removesuffix("-signed")
    path, image_view, text_view = PAIRINGS[base]
    data = load_mat_dataset(path, image_view=image_view, text_view=text_view)
    data.name = base
    return pca_views(data) if name.endswith("-signed") else data


# name: (top_k, ties)
METRICS = {
    "mAP@50": (50, "stable"),
    "mAP@all": (None, "stable"),
    "mAP@50, expected ties": (50, "expected"),
}
DIRECTIONS = {"i2t": "I→T", "t2i": "T→I"}


def evaluate(method, n_bits, seed, data, params=None, *, device="cpu", return_estimator=False):
    """Fit on the training pairs (defaults, or ``params``) on ``device``; return the fit time
    and ``{(metric, direction): mAP}``, and the fitted estimator with ``return_estimator``."""
    estimator, seconds = fit_method(method, data, n_bits, seed, device=device, params=params)
    (image, text), (db_image, db_text) = encode_split(estimator, data)
    pairs = {"i2t": (image, db_text), "t2i": (text, db_image)}
    scores = {}
    for metric, (top_k, ties) in METRICS.items():
        for direction, (query, database) in pairs.items():
            scores[metric, direction] = mean_average_precision(
                query, database, data.labels_query, data.labels_train, top_k=top_k, ties=ties
            )
    return (seconds, scores, estimator) if return_estimator else (seconds, scores)


def run(data, methods, bits, seeds, log=print, save=None):
    records = []
    # Code length and seed outermost, so that an interrupted run has comparable rows.
    for n_bits in bits:
        for seed in range(seeds):
            for method in methods:
                seconds, scores = evaluate(method, n_bits, seed, data)
                records.append((method, n_bits, seed, seconds, scores))
                summary = ", ".join(
                    f"{metric} {DIRECTIONS[d]} {value:.3f}" for (metric, d), value in scores.items()
                )
                log(f"{method} {n_bits} bits seed {seed}: fit {seconds:.1f}s; {summary}")
                if save is not None:
                    save(records)
    return records


def cell(values, fmt="{:.3f}", n_seeds=None):
    """mean ± std; "—" when nothing was measured, and the count of seeds when it is not all."""
    if not values:
        return "—"
    text = f"{fmt.format(np.mean(values))} ± {fmt.format(np.std(values))}"
    return text + (f" (n={len(values)})" if n_seeds and len(values) != n_seeds else "")


def format_report(records, methods, bits, n_seeds):
    lines = []
    for metric in METRICS:
        header = ["method"] + [f"{DIRECTIONS[d]} {b}" for d in DIRECTIONS for b in bits]
        lines += [f"### {metric}, mean ± std over seeds", ""]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for method in methods:
            cells = [method]
            for direction in DIRECTIONS:
                for n_bits in bits:
                    values = [
                        r[4][metric, direction]
                        for r in records
                        if r[:2] == (method, n_bits) and (metric, direction) in r[4]
                    ]
                    cells.append(cell(values, n_seeds=n_seeds))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    header = ["method"] + [f"{b} bits" for b in bits]
    lines += ["### Fit time (s), mean ± std over seeds", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method in methods:
        cells = [method]
        for n_bits in bits:
            values = [r[3] for r in records if r[:2] == (method, n_bits)]
            cells.append(cell(values, "{:.1f}", n_seeds))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _save(records, path):
    raw = [(m, b, s, t, {"|".join(k): v for k, v in sc.items()}) for m, b, s, t, sc in records]
    Path(path).write_text(json.dumps(raw))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=sorted(DATASETS), default="wiki")
    parser.add_argument("--bits", default="16,32,64,128", help="comma-separated code lengths")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 .. seeds-1")
    parser.add_argument("--methods", default="dbrc,djsrh,ugach,cca-itq")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--save", help="also write the raw records to this JSON file")
    parser.add_argument(
        "--merge",
        nargs="+",
        help="skip fitting: report the records of these JSON files (written by --save) together",
    )
    args = parser.parse_args(argv)
    bits = [int(b) for b in args.bits.split(",")]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - dict(all_estimators()).keys())
    if unknown:
        parser.error(f"unknown methods {unknown}; known: {[n for n, _ in all_estimators()]}")
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    data = load_dataset(args.data)
    if args.merge:
        records = [
            (m, b, s, t, {tuple(k.split("|")): v for k, v in scores.items()})
            for path in args.merge
            for m, b, s, t, scores in json.loads(Path(path).read_text())
        ]
        records = [r for r in records if r[0] in methods and r[1] in bits and r[2] < args.seeds]
    else:
        records = run(
            data,
            methods,
            bits,
            args.seeds,
            log=lambda s: print(s, file=sys.stderr, flush=True),
            save=(lambda records: _save(records, args.save)) if args.save else None,
        )
    print(
        f"## {args.data}: {len(data.X_image_query)} queries, {len(data.X_image_train)} training "
        f"/ database pairs, {args.seeds} seeds, default settings\n"
    )
    print(f"Python {platform.python_version()} on {platform.machine()}, CPU only.\n")
    print(format_report(records, methods, bits, args.seeds))


if __name__ == "__main__":
    main()
