"""What each mechanism buys: every method at its defaults beside each mechanism switched off.

Every variant is fitted on the training pairs (the retrieval database) and queried with the test
pairs, as ``bench_quality.py`` does: mAP@50 with stable ties, relevance = same class. Beside
it, the health figures of :func:`sklearn_xmh.inspection.mechanism_health` on the training
views: saturation (fraction of relaxed outputs with ``|u| >= 0.9``), ATanh's mean alpha and
UGACH's policy entropy relative to uniform. Prints a markdown report, mean +- std over seeds.

Usage::

    python benchmarks/bench_ablation.py --data wiki --bits 32,64 --seeds 3 --save wiki.json
    python benchmarks/bench_ablation.py --merge wiki.json uci.json
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
from bench_quality import cell, evaluate, load_dataset

from sklearn_xmh.inspection import mechanism_health

# method -> {variant: parameters}; the first variant of each method is its default.
ABLATIONS = {
    "cca-itq": {"default": {}},
    "dbrc": {
        "default": {},
        "batch norm before ATanh (hash_batch_norm=True)": {"hash_batch_norm": True},
        "fixed alpha (scaling='fixed')": {"scaling": "fixed"},
        "alpha_learning_rate=1e-2": {"alpha_learning_rate": 1e-2},
    },
    "djsrh": {
        "default": {},
        "affinity='auto' (the cosine itself on signed views)": {"affinity": "auto"},
        "no second-order term (eta=0)": {"eta": 0.0},
    },
    "ugach": {
        "default": {},
        "whole-pool policy gradient (generator_objective='pool')": {"generator_objective": "pool"},
        "whole pool, reward minus its batch mean (generator_objective='pool_baseline')": {
            "generator_objective": "pool_baseline"
        },
        "discriminator alone (adversarial=False)": {"adversarial": False},
        "the reference's width (hidden_layer_sizes=(8192,))": {"hidden_layer_sizes": (8192,)},
        "previous default (whole pool, from the discriminator, lr 0.5, no decay, 1 and 1)": {
            "generator_objective": "pool",
            "generator_init": "discriminator",
            "generator_learning_rate": 0.5,
            "generator_weight_decay": 0.0,
            "triplets_per_query": 1,
            "generator_epochs": 1,
        },
    },
    "chn": {
        "default": {},
        "no quantization term (quantization_weight=0)": {"quantization_weight": 0.0},
    },
}
# DBRC's alpha is per bit and DJSRH's one scale: both are kept as their mean.
HEALTH = ("saturation", "alpha", "policy_entropy_ratio")
DIRECTIONS = {"i2t": "I→T", "t2i": "T→I"}


def run(datasets, methods, bits, seeds, log=print, save=None, done=(), variant_bits=None):
    """Fit every variant; ``done`` holds records of an earlier run, kept and not fitted again.
    With ``variant_bits``, the variants other than the default run at those lengths only."""
    records = list(done)
    finished = {(r["data"], r["method"], r["variant"], r["n_bits"], r["seed"]) for r in done}
    for name in datasets:
        data = load_dataset(name)
        for n_bits in bits:
            for seed in range(seeds):
                for method in methods:
                    for variant, params in ABLATIONS[method].items():
                        if (name, method, variant, n_bits, seed) in finished:
                            continue
                        if variant != "default" and variant_bits and n_bits not in variant_bits:
                            continue
                        if params == {"affinity": "auto"} and _non_negative(data):
                            continue  # the same fit as DJSRH's default, 2 cos - 1 on both
                        seconds, scores, hasher = evaluate(
                            method, n_bits, seed, data, params, return_estimator=True
                        )
                        health = {}
                        if hasattr(hasher, "net_"):
                            figures = mechanism_health(
                                hasher, data.X_image_train, data.X_text_train
                            )
                            health = {
                                key: float(np.mean(figures[key]))
                                for key in HEALTH
                                if key in figures
                            }
                        maps = {d: scores["mAP@50", d] for d in DIRECTIONS}
                        records.append(
                            dict(
                                data=name,
                                method=method,
                                variant=variant,
                                n_bits=n_bits,
                                seed=seed,
                                seconds=seconds,
                                map=maps,
                                health=health,
                            )
                        )
                        log(
                            f"{name} {method} [{variant}] {n_bits} bits seed {seed}: "
                            f"fit {seconds:.1f}s, I→T {maps['i2t']:.3f}, T→I {maps['t2i']:.3f}, "
                            + ", ".join(f"{k} {v:.3f}" for k, v in health.items())
                        )
                        if save is not None:
                            save(records)
    return records


def _non_negative(data):
    return all((data[f"X_{view}_train"] >= 0).all() for view in ("image", "text"))


def format_report(records):
    datasets = list(dict.fromkeys(r["data"] for r in records))
    bits = sorted({r["n_bits"] for r in records})
    n_seeds = len({r["seed"] for r in records})
    lines = []
    for name in datasets:
        rows = [r for r in records if r["data"] == name]
        header = (
            ["method", "variant"]
            + [f"{DIRECTIONS[d]} {b}" for d in DIRECTIONS for b in bits]
            + ["saturation", "alpha", "policy entropy", "fit s"]
        )
        lines += [f"### {name}: mAP@50, mean ± std over {n_seeds} seeds", ""]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for method, variant in dict.fromkeys((r["method"], r["variant"]) for r in rows):
            mine = [r for r in rows if (r["method"], r["variant"]) == (method, variant)]
            cells = [method, variant]
            for direction in DIRECTIONS:
                for n_bits in bits:
                    values = [r["map"][direction] for r in mine if r["n_bits"] == n_bits]
                    cells.append(cell(values, n_seeds=n_seeds))

            played = ABLATIONS.get(method, {}).get(variant, {}).get("adversarial", True)

            def health(key, fmt, mine=mine, played=played):
                if key == "policy_entropy_ratio" and not played:
                    return "—"  # an untrained generator's policy: the game did not run
                return cell([r["health"][key] for r in mine if key in r["health"]], fmt)

            cells += [
                health("saturation", "{:.2f}"),
                health("alpha", "{:.1f}"),
                health("policy_entropy_ratio", "{:.2f}"),
                cell([r["seconds"] for r in mine], "{:.0f}"),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def format_against_floor(records):
    """Each method's default against CCA-ITQ, per pairing and length: the mean of both
    directions' mAP@50 (and its difference to CCA-ITQ's) and the worse direction's difference."""
    defaults = [r for r in records if r["variant"] == "default"]
    datasets = list(dict.fromkeys(r["data"] for r in defaults))
    bits = sorted({r["n_bits"] for r in defaults})
    methods = [m for m in ABLATIONS if m != "cca-itq" and any(r["method"] == m for r in defaults)]

    def mean_map(data, method, n_bits, direction=None):
        rows = [
            r for r in defaults if (r["data"], r["method"], r["n_bits"]) == (data, method, n_bits)
        ]
        if not rows:
            return None
        directions = [direction] if direction else list(DIRECTIONS)
        return float(np.mean([r["map"][d] for r in rows for d in directions]))

    header = ["pairing", "bits", "CCA-ITQ"] + [
        f"{m}: mean (vs floor), worse direction" for m in methods
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for data in datasets:
        for n_bits in bits:
            floor = mean_map(data, "cca-itq", n_bits)
            if floor is None:
                continue
            cells = [data, str(n_bits), f"{floor:.3f}"]
            for method in methods:
                mine = mean_map(data, method, n_bits)
                if mine is None:
                    cells.append("—")
                    continue
                worse = min(
                    mean_map(data, method, n_bits, d) - mean_map(data, "cca-itq", n_bits, d)
                    for d in DIRECTIONS
                )
                cells.append(f"{mine:.3f} ({mine - floor:+.3f}), {worse:+.3f}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="wiki,uci", help="comma-separated data sets")
    parser.add_argument("--bits", default="32,64", help="comma-separated code lengths")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 .. seeds-1")
    parser.add_argument("--methods", default=",".join(ABLATIONS))
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--save", help="also write the raw records to this JSON file")
    parser.add_argument("--merge", nargs="+", help="report the records of these JSON files")
    parser.add_argument(
        "--resume", action="store_true", help="keep the records already in --save, fit the rest"
    )
    parser.add_argument(
        "--variant-bits", default=None, help="lengths of the non-default variants (default: all)"
    )
    args = parser.parse_args(argv)
    if args.merge:
        records = [r for path in args.merge for r in json.loads(Path(path).read_text())]
        print(format_report(records))
        print("### Each default against the CCA-ITQ floor, mAP@50\n")
        print(format_against_floor(records))
        return
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - ABLATIONS.keys())
    if unknown:
        parser.error(f"no ablations for {unknown}; known: {sorted(ABLATIONS)}")
    save = None
    if args.save:

        def save(records):
            Path(args.save).write_text(json.dumps(records))

    start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    done = []
    if args.resume and args.save and Path(args.save).exists():
        done = json.loads(Path(args.save).read_text())
    records = run(
        args.data.split(","),
        methods,
        [int(b) for b in args.bits.split(",")],
        args.seeds,
        log=lambda line: print(line, file=sys.stderr, flush=True),
        save=save,
        done=done,
        variant_bits=[int(b) for b in args.variant_bits.split(",")] if args.variant_bits else None,
    )
    print(f"Started {start}; Python {platform.python_version()} on {platform.machine()}.\n")
    print(format_report(records))


if __name__ == "__main__":
    main()
