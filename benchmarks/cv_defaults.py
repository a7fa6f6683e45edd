"""Cross-validate a method's settings on the training pairs of Wiki or UCI, as the defaults were
chosen: 3-fold ``GridSearchCV`` at 32 bits, seed 0 (``--seed`` draws other folds and
initialisations), never touching the query pairs.

Unsupervised methods are scored without labels, by two criteria on each held-out fold:

- ``pairs``: pair retrieval, the library's ``hamming_map_scorer(relevance="pairs")`` (mAP@all);
  the one relevant item of a query is its own pair.
- ``neighbors``: ``hamming_map_scorer(relevance="neighbors")``, the protocol of unsupervised
  hashing benchmarks, where ground truth is a neighbourhood in feature space. A held-out item is
  relevant to a query when it is among the query pair's ``k`` nearest pairs (itself included) in
  the joint space of the fold: each view standardised and L2-normalised, then concatenated, so
  that both views weigh the same.

Beside them, ``labels`` scores each held-out fold with its labels at mAP@50 (both directions,
then ``labels_i2t`` / ``labels_t2i``). The labels are routed to the scorer only: an unsupervised
method's ``fit`` does not request them and never sees them. A supervised method (CHN) is scored
the same way, and its ``fit`` gets the training folds' labels.

Prints one table per data set, one row per setting, best first by ``--rank`` (default: the
first criterion), then the same criteria averaged over the data sets: library-wide defaults
are one setting for every pairing.

Usage::

    python benchmarks/cv_defaults.py --data wiki,uci --method ugach \\
        --grid '[{"n_text_neighbors": [5, 10, 20]}, {"pool_size": [10, 100]}]'

``--data tuning`` takes the pairings the defaults are chosen on (``bench_quality.TUNING``).
``--grid`` is a Python literal; ``Normalizer()``, ``StandardScaler()`` and ``make_pipeline`` may
appear in it, for example ``'{"text_preprocessor": [None, "passthrough", Normalizer()]}'``.
"""

import argparse
import time

import numpy as np
import sklearn
from bench_quality import DATASETS, TUNING, load_dataset
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler
from sklearn.utils import get_tags

from sklearn_xmh import all_estimators
from sklearn_xmh.metrics import hamming_map_scorer

GRID_NAMES = {
    "Normalizer": Normalizer,
    "StandardScaler": StandardScaler,
    "make_pipeline": make_pipeline,
    "None": None,
}
N_FOLDS = 3


def cross_validate(data, estimator_class, grid, n_bits, n_neighbors, seed=0):
    """3-fold ``GridSearchCV`` results of ``grid`` on the training pairs of ``data``.

    ``seed`` is the estimator's ``random_state`` and shuffles the folds.
    """
    estimator = estimator_class(n_bits=n_bits, random_state=seed)
    supervised = get_tags(estimator).hasher_tags.supervised
    sklearn.set_config(enable_metadata_routing=True)
    estimator.set_fit_request(labels=supervised)
    scoring = {
        f"labels{suffix}": hamming_map_scorer(direction, top_k=50).set_score_request(labels=True)
        for suffix, direction in (("", "both"), ("_i2t", "i2t"), ("_t2i", "t2i"))
    }
    if not supervised:
        scoring = {
            **{
                f"neighbors{suffix}": hamming_map_scorer(
                    direction, relevance="neighbors", n_neighbors=n_neighbors
                ).set_score_request(labels=False)
                for suffix, direction in (("", "both"), ("_i2t", "i2t"), ("_t2i", "t2i"))
            },
            "pairs": hamming_map_scorer(relevance="pairs").set_score_request(labels=False),
            **scoring,
        }
    search = GridSearchCV(
        estimator,
        grid,
        scoring=scoring,
        cv=KFold(N_FOLDS, shuffle=True, random_state=seed),
        refit=False,
    )
    search.fit(data.X_image_train, data.X_text_train, labels=data.labels_train)
    return list(scoring), search.cv_results_


def _setting(params):
    return ", ".join(f"{k}={' '.join(repr(v).split())}" for k, v in params.items())


def _table(names, rows, rank):
    """Markdown rows ``(means, stds, worst, setting)``, best first by criterion ``rank``.

    ``worst`` is the rank criterion's lowest fold: a setting that collapses on one fold shows
    there, where the mean would only dip.
    """
    header = [*names, f"worst fold ({rank})", "setting"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    column = names.index(rank)
    for means, stds, worst, setting in sorted(rows, key=lambda row: -row[0][column]):
        cells = [f"{m:.4f} ± {s:.4f}" if s is not None else f"{m:.4f}" for m, s in zip(means, stds)]
        lines.append("| " + " | ".join(cells) + f" | {worst:.4f} | {setting} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", default="wiki", help=f"comma-separated, of {sorted(DATASETS)}, or 'tuning'"
    )
    parser.add_argument("--method", required=True)
    parser.add_argument("--grid", required=True, help="a dict or list of dicts (Python literal)")
    parser.add_argument("--n-bits", type=int, default=32)
    parser.add_argument("--n-neighbors", type=int, default=20)
    parser.add_argument("--rank", default=None, help="the criterion that orders the rows")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument(
        "--seed", type=int, default=0, help="the estimators' random_state and the folds' shuffle"
    )
    args = parser.parse_args(argv)
    names = list(TUNING) if args.data == "tuning" else args.data.split(",")
    unknown = sorted(set(names) - set(DATASETS))
    if unknown:
        parser.error(f"unknown data sets {unknown}; known: {sorted(DATASETS)}")
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)

    estimator_class = dict(all_estimators())[args.method]
    grid = eval(args.grid, {"__builtins__": {}}, GRID_NAMES)  # noqa: S307 (a benchmark's CLI)
    start = time.perf_counter()
    per_data = {}
    for name in names:
        criteria, results = cross_validate(
            load_dataset(name), estimator_class, grid, args.n_bits, args.n_neighbors, args.seed
        )
        rank = args.rank or criteria[0]
        per_data[name] = results
        rows = [
            (
                [results[f"mean_test_{c}"][i] for c in criteria],
                [results[f"std_test_{c}"][i] for c in criteria],
                min(results[f"split{k}_test_{rank}"][i] for k in range(N_FOLDS)),
                _setting(params),
            )
            for i, params in enumerate(results["params"])
        ]
        print(
            f"### {args.method} on {name}, {args.n_bits} bits, seed {args.seed}, "
            "3-fold CV on the training pairs\n"
        )
        print(_table(criteria, rows, rank) + "\n", flush=True)
    if len(names) > 1:
        settings = per_data[names[0]]["params"]
        rows = [
            (
                [np.mean([per_data[n][f"mean_test_{c}"][i] for n in names]) for c in criteria],
                [None] * len(criteria),
                min(per_data[n][f"split{k}_test_{rank}"][i] for n in names for k in range(N_FOLDS)),
                _setting(params),
            )
            for i, params in enumerate(settings)
        ]
        print(f"### {args.method}, mean over {', '.join(names)}\n")
        print(_table(criteria, rows, rank) + "\n")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
