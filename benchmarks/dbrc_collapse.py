"""How a DBRC fit collapses: the hidden features, the hash layer's input and the weights after
growing numbers of epochs, beside the same fit without weight decay.

    python benchmarks/dbrc_collapse.py --data uci-fp-signed --seed 1 --epochs 1,5,15,30

The fits use ``--weight-decay`` (3e-3, DBRC's default until 2026-12-07, which collapses there).

Each row is a separate fit from the same seed (so the first epochs of the longer fits are the
shorter fits). ``features`` is the mean absolute value of the summed encoder output for the
training images (the text view as DBRC encodes an image query: zeroed), ``h spread`` the
standard deviation of the hash layer's pre-activation over the training images, averaged over
the bits; a collapsed network gives every image the same code.
"""

import argparse
import warnings

import numpy as np
import torch
from bench_quality import DATASETS, evaluate, load_dataset


def diagnose(data, params, seed, n_bits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the collapse warning: the row shows it
        seconds, scores, hasher = evaluate(
            "dbrc", n_bits, seed, data, params, return_estimator=True
        )
    module = hasher.net_.module_
    images = hasher.image_encoder_.preprocessor_.transform(data.X_image_train)
    features, h = module.image_hash_inputs(torch.as_tensor(images, dtype=torch.float32))
    weights = sum(
        float(p.detach().norm() ** 2) for n, p in module.named_parameters() if "weight" in n
    )
    queries = hasher.transform(data.X_image_query)
    i2t = scores["mAP@50", "i2t"]
    history = hasher.net_.history
    return (
        f"| {params} | {seconds:.0f} | {history[0, 'train_loss']:.2f} -> "
        f"{history[-1, 'train_loss']:.2f} | {features.abs().mean():.1e} | "
        f"{h.std(0).mean():.1e} | {weights**0.5:.2f} | {len(np.unique(queries, axis=0))} | "
        f"{i2t:.3f} |"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--data", default="uci-fp-signed", choices=sorted(DATASETS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bits", type=int, default=32)
    parser.add_argument("--epochs", default="1,5,15,30", help="comma-separated max_epochs")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument(
        "--weight-decay",
        type=float,
        default=3e-3,
        help="the weight decay of the epoch fits (DBRC's default until 2026-12-07)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_dataset(args.data)
    grid = [
        {"max_epochs": int(e), "weight_decay": args.weight_decay} for e in args.epochs.split(",")
    ] + [{"weight_decay": 0.0}]
    print(f"### DBRC on {args.data}, {args.bits} bits, seed {args.seed}\n")
    print(
        "| parameters | fit s | loss first -> last epoch | features | h spread | weight norm "
        "| distinct query codes | mAP@50 I→T |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for params in grid:
        print(diagnose(data, params, args.seed, args.bits), flush=True)


if __name__ == "__main__":
    main()
