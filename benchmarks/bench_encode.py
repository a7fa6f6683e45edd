"""Encoding throughput: codes per second for 4096-d image features on the CPU, against the limit
set by the machine's own torch matrix-multiply throughput, and against a naive per-row loop.

Run ``python benchmarks/bench_encode.py`` (``--quick`` for a smaller run, ``--dask`` to add dask's
``ParallelPostFit`` on a 2-worker LocalCluster); prints a markdown table.
Setting: a fitted ``DBRCHasher`` at its default widths (4096 -> 1024 -> 512 -> 64 bits), 50,000
rows of float32 features, ``ModalityEncoder.batch_size`` from 256 to 8192.
"""

import argparse
import datetime
import platform
import time

import numpy as np
import torch

from sklearn_xmh import DBRCHasher


def gemm_flops(n=2048, repeat=5):
    """The machine's float32 torch matrix-multiply throughput (FLOP/s), best of ``repeat``."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def flops_per_code(n_features, hidden_layer_sizes, n_bits):
    widths = [n_features, *hidden_layer_sizes, n_bits]
    return sum(2 * a * b for a, b in zip(widths[:-1], widths[1:]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows instead of 50,000")
    parser.add_argument(
        "--dask", action="store_true", help="also encode through ParallelPostFit on a LocalCluster"
    )
    args = parser.parse_args(argv)
    n_rows, n_features, hidden, n_bits = (10_000 if args.quick else 50_000), 4096, (1024, 512), 64
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_rows, n_features), dtype=np.float32)
    T = rng.standard_normal((2_000, 32), dtype=np.float32)
    hasher = DBRCHasher(n_bits, hidden_layer_sizes=hidden, max_epochs=1, random_state=0)
    hasher.fit(X[:2_000], T)

    flops = gemm_flops()
    limit = flops / flops_per_code(n_features, hidden, n_bits)
    print(
        f"Date: {datetime.date.today()}; {platform.machine()}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; {n_rows:,} x {n_features} float32 rows.\n"
    )
    print(
        f"torch GEMM throughput (2048^3 float32): {flops / 1e9:.1f} GFLOP/s, so the tower's "
        f"{flops_per_code(n_features, hidden, n_bits) / 1e6:.1f} MFLOP per code cap encoding "
        f"at {limit:,.0f} codes/s.\n"
    )
    print("| what | batch | seconds | codes/s | share of GEMM limit |")
    print("|---|---|---|---|---|")
    encoder = hasher.image_encoder_
    for batch_size in (256, 1024, 8192):
        encoder.set_params(batch_size=batch_size)
        hasher.transform(X[:batch_size])  # warm up
        start = time.perf_counter()
        hasher.transform(X)
        seconds = time.perf_counter() - start
        print(
            f"| hasher.transform | {batch_size} | {seconds:.2f} | {n_rows / seconds:,.0f} "
            f"| {n_rows / seconds / limit:.0%} |"
        )
    # The naive reference: one row at a time through the same encoder.
    rows = min(n_rows, 2_000)
    start = time.perf_counter()
    for i in range(rows):
        encoder.transform(X[i : i + 1])
    seconds = time.perf_counter() - start
    print(
        f"| naive per-row loop | 1 | {seconds * n_rows / rows:.2f} (extrapolated from "
        f"{rows:,} rows) | {rows / seconds:,.0f} | {rows / seconds / limit:.0%} |"
    )
    if args.dask:
        encode_with_dask(hasher, X, limit)


def encode_with_dask(hasher, X, limit):
    """ParallelPostFit over a 2-process LocalCluster (1 thread each) against a local transform
    with the same 2 cores, the input already in the workers' memory."""
    import dask.array as da
    from dask_ml.wrappers import ParallelPostFit
    from distributed import Client, LocalCluster, wait

    hasher.image_encoder_.set_params(batch_size=1024)
    start = time.perf_counter()
    local = hasher.transform(X)
    local_seconds = time.perf_counter() - start
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            images = client.persist(da.from_array(X, chunks=(8192, -1)))
            wait(images)
            wrapped = ParallelPostFit(hasher)
            wrapped.transform(images[:8192]).compute()  # ship the model to the workers
            start = time.perf_counter()
            codes = wrapped.transform(images).compute()
            dask_seconds = time.perf_counter() - start
    assert np.array_equal(codes, local)
    print(
        f"| local hasher.transform (2 threads) | 1024 | {local_seconds:.2f} | "
        f"{len(X) / local_seconds:,.0f} | {len(X) / local_seconds / limit:.0%} |"
    )
    print(
        f"| dask ParallelPostFit, 2 workers x 1 thread | 8192-row chunks | {dask_seconds:.2f} | "
        f"{len(X) / dask_seconds:,.0f} | {len(X) / dask_seconds / limit:.0%} |"
    )


if __name__ == "__main__":
    main()
