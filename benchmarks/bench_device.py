"""Training on each device: the library's step against a bare torch loop, default Wiki fits, one
epoch at NUS-WIDE size, and a GPU-fitted model loaded where there is no GPU.

- **Floor ratio.** For DJSRH, DBRC and CHN, the time per training step of the library's fit
  (the epochs' ``dur`` in its history, set-up excluded) against a bare eager torch loop over
  the very same module, loss, optimizer, batch size and batches, with the views already on the
  device (``--floor-hidden 8`` and 10 epochs, as the regression guard of the step's overhead;
  the library's default widths with ``--floor-hidden 0``). Both run in the same process,
  alternately, best of ``--repeat``.
- **Default fits.** Every deep method's default fit on Wiki at 32 bits, seed 0, with its
  mAP@50; on CUDA both eager (``cuda_graph=False``) and captured (``cuda_graph="auto"``), and
  how many bits the two give alike (dropout draws differ between them, so their codes are
  not the same draws).
- **Scale** (``--scale``): one epoch of each method at 186,577 pairs (500-d image, 1,000-d
  dense or 20,000-word sparse text, 64 bits), UGACH at 50,000.
- **Round trip** (on CUDA): a CUDA-fitted model saved with joblib and skops and loaded in a
  process that sees no GPU; how many of its codes agree with the GPU's.

Usage::

    python benchmarks/bench_device.py                 # the CPU
    python benchmarks/bench_device.py --device cuda --scale --save device.json

Prints a markdown report; ``--save`` also writes the records as JSON after each one.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from bench_quality import evaluate, load_dataset

from sklearn_xmh import CHNHasher, DBRCHasher, DJSRHHasher, UGACHHasher
from sklearn_xmh._encoders import fit_preprocessor, make_preprocessor
from sklearn_xmh.utils._validation import resolve_device
from sklearn_xmh.utils._views import TrainingView

METHODS = {"djsrh": DJSRHHasher, "dbrc": DBRCHasher, "chn": CHNHasher, "ugach": UGACHHasher}
RECORDS = []


def log(save, **record):
    RECORDS.append(record)
    print(json.dumps(record), file=sys.stderr, flush=True)
    if save:
        Path(save).write_text(json.dumps(RECORDS, indent=1))


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


# ---- the floor: a bare loop over the library's own module, loss and optimizer ----


def _initialized_net(hasher, data):
    """The hasher's net, initialised as ``fit`` builds it, with its training inputs."""
    X, y, labels = data.X_image_train, data.X_text_train, data.labels_train
    device = hasher.device_ = resolve_device(hasher.device)
    views = {}
    for name, view in (("image", X), ("text", y)):
        preprocessor = fit_preprocessor(
            make_preprocessor(getattr(hasher, f"{name}_preprocessor")), view
        )
        views[name] = TrainingView(view, preprocessor)
    inputs = {**views, **hasher._training_inputs(X, y)}
    net = hasher._make_net(views["image"], views["text"], device).initialize()
    return net, inputs, hasher._prepare_labels(labels, len(X))


def bare_loop(hasher, data, epochs):
    """Seconds per step of a plain loop over the hasher's module, loss and optimizer: the
    views on the device, batches gathered by index, no skorch, no callbacks, no history."""
    net, inputs, labels = _initialized_net(hasher, data)
    device = hasher.device
    module, criterion, optimizer = net.module_, net.criterion_, net.optimizer_
    dataset = net.get_dataset(inputs, labels)
    tensors = dataset.tensors
    drop_last = net.get_params_for("iterator_train").get("drop_last", False)
    n, size = len(dataset), hasher.batch_size
    stops = range(size, n + 1, size) if drop_last else range(size, n + size, size)
    alpha = getattr(module, "alpha", None)
    generator = torch.Generator().manual_seed(0)
    module.train()
    sync(device)
    start = time.perf_counter()
    steps = 0
    for epoch in range(epochs):
        if alpha is not None:
            alpha.fill_((epoch + 1) ** 0.5)
        order = torch.randperm(n, generator=generator).to(device)
        for stop in stops:
            index = order[stop - size : stop]
            X = {name: tensors[name].index_select(0, index) for name in dataset.views}
            X["index"] = index
            y = tensors["y"].index_select(0, index) if "y" in tensors else None
            optimizer.zero_grad()
            loss = criterion(module(X["image"], X["text"]), y, X)
            loss.backward()
            optimizer.step()
            steps += 1
    sync(device)
    return (time.perf_counter() - start) / steps


def library_step(hasher, data, epochs):
    """Seconds per step of the library's fit: its epochs' durations over its steps."""
    labels = data.labels_train
    hasher.set_params(max_epochs=epochs).fit(data.X_image_train, data.X_text_train, labels=labels)
    steps = sum(hasher.history_[:, "train_batch_count"])
    return sum(hasher.history_[:, "dur"]) / steps


def floor(method, data, device, hidden, epochs, repeat, save):
    params = {"device": device, "random_state": 0}
    if hidden:
        params["hidden_layer_sizes"] = (hidden,)
    if device.startswith("cuda"):
        params["cuda_graph"] = False
    times = {"bare": [], "library": []}
    for _ in range(repeat):
        times["bare"].append(bare_loop(METHODS[method](**params), data, epochs))
        times["library"].append(library_step(METHODS[method](**params), data, epochs))
    if device.startswith("cuda"):
        times["captured"] = [
            library_step(METHODS[method](**{**params, "cuda_graph": "auto"}), data, epochs)
            for _ in range(repeat)
        ]
    best = {kind: min(values) * 1e3 for kind, values in times.items()}
    log(
        save,
        what="floor",
        method=method,
        device=device,
        hidden=hidden or "default",
        epochs=epochs,
        ms_per_step=best,
        ratio=best["library"] / best["bare"],
    )


# ---- default fits, scale, round trip ----


def default_fit(method, data, device, save):
    kinds = {"eager": {"cuda_graph": False}, "captured": {}} if device != "cpu" else {"": {}}
    codes = {}
    for kind, params in kinds.items():
        seconds, scores, hasher = evaluate(
            method, 32, 0, data, params, device=device, return_estimator=True
        )
        codes[kind] = hasher.transform(data.X_image_query), hasher.transform_text(data.X_text_query)
        log(
            save,
            what="default fit wiki 32 bits",
            method=method,
            device=device + (f" {kind}" if kind else ""),
            seconds=round(seconds, 2),
            map50_i2t_t2i=[round(scores["mAP@50", d], 4) for d in ("i2t", "t2i")],
        )
    if len(codes) == 2:
        agree = [float((a == b).mean()) for a, b in zip(codes["eager"], codes["captured"])]
        log(save, what="eager vs captured codes", method=method, bit_agreement=agree)


def exactness(data, device, save):
    """Eager and captured steps without dropout (the only draws they do not share): how many
    code bits and how much of the final loss agree."""
    for method, params in [
        ("djsrh", {"image_dropout": 0.0, "max_epochs": 20}),
        ("chn", {"image_dropout": 0.0}),
        ("dbrc", {"modality_dropout": 0.0}),
    ]:
        fitted = {}
        for kind, graph in (("eager", False), ("captured", "auto")):
            hasher = METHODS[method](
                32, device=device, random_state=0, cuda_graph=graph, **params
            ).fit(data.X_image_train, data.X_text_train, labels=data.labels_train)
            fitted[kind] = hasher
        codes = [
            (h.transform(data.X_image_query), h.transform_text(data.X_text_query))
            for h in fitted.values()
        ]
        losses = [h.history_[-1, "train_loss"] for h in fitted.values()]
        log(
            save,
            what="eager vs captured, no dropout",
            method=method,
            device=device,
            bit_agreement=[float((a == b).mean()) for a, b in zip(*codes)],
            last_train_loss=losses,
        )


def scale_epoch(method, text_kind, device, save):
    n = 50_000 if method == "ugach" else 186_577
    rng = np.random.default_rng(0)
    image = rng.standard_normal((n, 500), dtype=np.float32)
    if text_kind == "dense":
        text = rng.standard_normal((n, 1000), dtype=np.float32)
    else:
        from scipy import sparse

        columns = rng.integers(0, 20_000, (n, 20))
        text = sparse.csr_matrix(
            (np.ones(n * 20, np.float32), (np.repeat(np.arange(n), 20), columns.ravel())),
            shape=(n, 20_000),
        )
        text.sum_duplicates()
        text.data[:] = 1
    labels = rng.integers(0, 2, (n, 24)).astype(np.uint8)
    params = {"max_epochs": 1, "device": device, "random_state": 0}
    if method == "ugach":
        params["pretrain_epochs"] = 1
    hasher = METHODS[method](64, **params)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    hasher.fit(image, text, labels=labels)
    sync(device)
    log(
        save,
        what="one epoch at scale",
        method=method,
        text=text_kind,
        n=n,
        device=device,
        seconds=round(time.perf_counter() - start, 1),
        epoch_seconds=round(float(hasher.history_[-1, "dur"]), 1),
        gpu_peak_mb=round(torch.cuda.max_memory_allocated() / 2**20)
        if device.startswith("cuda")
        else None,
    )


ROUND_TRIP = """
import sys, warnings, joblib, numpy as np, skops.io as sio, torch
from sklearn_xmh import trusted_types
assert not torch.cuda.is_available()
folder = sys.argv[1]
query = np.load(folder + "/query.npy")
expected = np.load(folder + "/codes.npy")
for name, load in [("joblib", lambda: joblib.load(folder + "/model.joblib")),
                   ("skops", lambda: sio.load(folder + "/model.skops", trusted=trusted_types()))]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # a fresh registry: Python shows a warning once
        model = load()
    moved = [w for w in caught if "fitted on a 'cuda' device" in str(w.message)]
    codes = model.transform(query)
    print(name, float((codes == expected).mean()), len(moved), model.device_)
"""


def round_trip(data, device, save):
    import joblib
    import skops.io as sio

    hasher = DBRCHasher(32, device=device, random_state=0)
    hasher.fit(data.X_image_train, data.X_text_train)
    with tempfile.TemporaryDirectory() as folder:
        np.save(f"{folder}/query.npy", data.X_image_query)
        np.save(f"{folder}/codes.npy", hasher.transform(data.X_image_query))
        joblib.dump(hasher, f"{folder}/model.joblib")
        sio.dump(hasher, f"{folder}/model.skops")
        done = subprocess.run(
            [sys.executable, "-c", ROUND_TRIP, folder],
            env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
            capture_output=True,
            text=True,
            timeout=300,
        )
    for line in done.stdout.splitlines():
        name, agreement, n_warnings, loaded_device = line.split()
        log(
            save,
            what="gpu -> cpu round trip",
            format=name,
            bit_agreement=float(agreement),
            device_warnings=int(n_warnings),
            device=loaded_device,
        )
    if done.returncode:
        log(save, what="gpu -> cpu round trip", error=done.stderr[-2000:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--methods", default="djsrh,dbrc,chn,ugach")
    parser.add_argument("--floor-hidden", type=int, default=8, help="0: the default widths")
    parser.add_argument("--floor-epochs", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", default="", help="comma-separated of floor,fits,scale,exact,trip")
    parser.add_argument("--scale", action="store_true", help="also one epoch at NUS-WIDE size")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--save", default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    skip = set(filter(None, args.skip.split(",")))
    methods = [m for m in args.methods.split(",") if m]
    data = load_dataset("wiki")
    print(
        f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"device {args.device}"
        + (f" ({torch.cuda.get_device_name()})" if args.device.startswith("cuda") else "")
    )
    if "floor" not in skip:
        for method in methods:
            if method != "ugach":
                floor(
                    method,
                    data,
                    args.device,
                    args.floor_hidden,
                    args.floor_epochs,
                    args.repeat,
                    args.save,
                )
    if "fits" not in skip:
        for method in methods:
            default_fit(method, data, args.device, args.save)
    if args.scale and "scale" not in skip:
        for method, text in [
            ("djsrh", "dense"),
            ("djsrh", "sparse"),
            ("dbrc", "dense"),
            ("dbrc", "sparse"),
            ("chn", "dense"),
            ("ugach", "dense"),
        ]:
            if method in methods:
                scale_epoch(method, text, args.device, args.save)
    if args.device.startswith("cuda") and "exact" not in skip:
        exactness(data, args.device, args.save)
    if args.device.startswith("cuda") and "trip" not in skip:
        round_trip(data, args.device, args.save)
    print(format_report(RECORDS))


def format_report(records):
    lines = ["| what | method | device | figures |", "|---|---|---|---|"]
    for r in records:
        figures = {k: v for k, v in r.items() if k not in ("what", "method", "device")}
        lines.append(
            f"| {r['what']} | {r.get('method', '')} | {r.get('device', '')} | "
            + ", ".join(f"{k} {v}" for k, v in figures.items())
            + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
