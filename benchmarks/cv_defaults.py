"""Cross-validate a method's settings on the training pairs of Wiki or UCI, as the defaults were
chosen: 3-fold ``GridSearchCV`` at 32 bits, seed 0, never touching the query pairs.

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

Prints one row per setting, best first by ``--rank`` (default: the first criterion).

Usage::

    python benchmarks/cv_defaults.py --data wiki --method ugach \\
        --grid '[{"n_text_neighbors": [5, 10, 20]}, {"pool_size": [10, 100]}]'

``--grid`` is a Python literal; ``Normalizer()``, ``StandardScaler()`` and ``make_pipeline`` may
appear in it, for example ``'{"text_preprocessor": [None, "passthrough", Normalizer()]}'``.
"""

import argparse
import time

import numpy as np
import sklearn
from bench_quality import DATASETS, load_dataset
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

from sklearn_xmh import all_estimators
from sklearn_xmh.metrics import hamming_map_scorer

GRID_NAMES = {
    "Normalizer": Normalizer,
    "StandardScaler": StandardScaler,
    "make_pipeline": make_pipeline,
    "None": None,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", choices=sorted(DATASETS), default="wiki")
    parser.add_argument("--method", required=True)
    parser.add_argument("--grid", required=True, help="a dict or list of dicts (Python literal)")
    parser.add_argument("--n-bits", type=int, default=32)
    parser.add_argument("--n-neighbors", type=int, default=20)
    parser.add_argument("--rank", default=None, help="the criterion that orders the rows")
    args = parser.parse_args(argv)

    estimator_class = dict(all_estimators())[args.method]
    supervised = estimator_class._requires_labels
    grid = eval(args.grid, {"__builtins__": {}}, GRID_NAMES)  # noqa: S307 (a benchmark's CLI)
    data = load_dataset(args.data)
    estimator = estimator_class(n_bits=args.n_bits, random_state=0)
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
                    direction, relevance="neighbors", n_neighbors=args.n_neighbors
                ).set_score_request(labels=False)
                for suffix, direction in (("", "both"), ("_i2t", "i2t"), ("_t2i", "t2i"))
            },
            "pairs": hamming_map_scorer(relevance="pairs").set_score_request(labels=False),
            **scoring,
        }
    search = GridSearchCV(
        estimator, grid, scoring=scoring, cv=KFold(3, shuffle=True, random_state=0), refit=False
    )
    start = time.perf_counter()
    search.fit(data.X_image_train, data.X_text_train, labels=data.labels_train)
    results = search.cv_results_
    names = list(scoring)
    print(f"{args.method} on {args.data}, {args.n_bits} bits, 3-fold CV on the training pairs")
    print("| " + " | ".join(names) + " | setting |")
    print("|" + "---|" * (len(names) + 1))
    rank = args.rank or names[0]
    for row in np.argsort(-results[f"mean_test_{rank}"], kind="stable"):
        cells = [
            f"{results[f'mean_test_{n}'][row]:.4f} ± {results[f'std_test_{n}'][row]:.4f}"
            for n in names
        ]
        params = ", ".join(
            f"{k}={' '.join(repr(v).split())}" for k, v in results["params"][row].items()
        )
        print("| " + " | ".join(cells) + f" | {params} |")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
