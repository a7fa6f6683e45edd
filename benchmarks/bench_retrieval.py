"""Retrieval speed of the compiled Hamming engine, each figure a ratio to an anchor timed in the
same run: faiss ``IndexBinaryFlat``, a plain compiled popcount loop, a plain per-query loop.

Run ``python benchmarks/bench_retrieval.py`` (``--quick`` for a smaller run, ``--no-mih`` to
skip the 10,000,000-code part); prints markdown tables. Setting: 2,000 queries, 64-bit random
codes, 24-label random multi-hot labels, databases of 186,577 (NUS-WIDE size) and 1,000,000
items; multi-index hashing on 10,000,000 clustered codes. Every comparison checks that the
results are equal before it reports a time.
"""

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from functools import partial

import numba
import numpy as np
from numba import njit, prange

from sklearn_xmh._hamming._kernels import popcount
from sklearn_xmh.metrics import hamming_distances, mean_average_precision
from sklearn_xmh.neighbors import HammingIndex


def median_time(repeat, function, *args, **kwargs):
    function(*args, **kwargs)  # warm: compilation, caches, faiss thread pools
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def compare(repeat, ours, anchor):
    """Median times of two zero-argument calls run alternately, so that the machine's drift
    hits both alike: ``(t_ours, ours_result, t_anchor, anchor_result)``."""
    ours(), anchor()
    times = [[], []]
    for _ in range(repeat):
        for slot, function in enumerate((ours, anchor)):
            start = time.perf_counter()
            result = function()
            times[slot].append(time.perf_counter() - start)
            if slot == 0:
                ours_result = result
            else:
                anchor_result = result
    return float(np.median(times[0])), ours_result, float(np.median(times[1])), anchor_result


@njit(parallel=True)
def plain_popcount_loop(query, db):
    """The anchor of the distance matrix: the obvious compiled loop that returns a new matrix,
    one byte per distance."""
    out = np.empty((query.shape[0], db.shape[0]), np.uint8)
    for i in prange(query.shape[0]):
        for j in range(db.shape[0]):
            out[i, j] = popcount(query[i] ^ db[j])
    return out


def plain_map(query_bits, db_bits, query_labels, db_labels):
    """The reference evaluation style: float dot-product distances, one argsort per query."""
    n_bits = query_bits.shape[1]
    query_signed, db_signed = 2.0 * query_bits - 1, 2.0 * db_bits - 1
    distances = 0.5 * (n_bits - query_signed @ db_signed.T)
    db_labels = db_labels.astype(np.float32)
    total = 0.0
    for i in range(len(query_bits)):
        relevant = (query_labels[i].astype(np.float32) @ db_labels.T > 0).astype(np.float64)
        hits = relevant[np.argsort(distances[i], kind="stable")]
        n_relevant = hits.sum()
        if n_relevant:
            precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
            total += (precision * hits).sum() / n_relevant
    return total / len(query_bits)


def make_data(rng, n, n_bits=64, n_labels=24):
    bits = rng.integers(0, 2, (n, n_bits), dtype=np.uint8)
    labels = (rng.random((n, n_labels)) < 0.1).astype(np.uint8)
    labels[np.arange(n), rng.integers(0, n_labels, n)] = 1  # every item has a label
    return bits, labels


def clustered_codes(rng, n, n_bits=64, n_centres=5000, flips=3):
    """Packed codes around ``n_centres`` random centres with ``flips`` random bits flipped."""
    centres = np.packbits(rng.integers(0, 2, (n_centres, n_bits), dtype=np.uint8), axis=1)
    codes = centres[rng.integers(0, n_centres, n)]
    for _ in range(flips):
        bit = rng.integers(0, n_bits, n)
        codes[np.arange(n), bit // 8] ^= (128 >> (bit % 8)).astype(np.uint8)
    return codes


def faiss_flat(packed_db, n_bits):
    import faiss

    index = faiss.IndexBinaryFlat(n_bits)
    index.add(packed_db)
    return index


def same_neighbours(ours, faiss_result):
    """faiss orders ties arbitrarily: compare its distances, and our indices' distances."""
    distances, _ = faiss_result
    return np.array_equal(ours[0], distances.astype(np.int64))


def row(cells):
    return "| " + " | ".join(cells) + " |"


def search_table(rng, n_queries, sizes, repeat):
    import faiss

    faiss.omp_set_num_threads(numba.get_num_threads())
    query_bits, query_labels = make_data(rng, n_queries)
    packed_queries = np.packbits(query_bits, axis=1)
    lines = [
        row(["database", "what", "ours (ms)", "anchor", "anchor (ms)", "ours / anchor"]),
        "|---|---|---|---|---|---|",
    ]
    for n_db in sizes:
        db_bits, db_labels = make_data(rng, n_db)
        packed_db = np.packbits(db_bits, axis=1)
        index = HammingIndex(algorithm="brute", code_format="packed").fit(packed_db)
        flat = faiss_flat(packed_db, 64)
        for k in (10, 100):
            t_ours, ours, t_faiss, theirs = compare(
                repeat,
                partial(index.kneighbors, packed_queries, k),
                partial(flat.search, packed_queries, k),
            )
            assert same_neighbours(ours, theirs)
            lines.append(
                row([f"{n_db:,}", f"kneighbors k={k}", f"{1e3 * t_ours:,.0f}",
                     "faiss IndexBinaryFlat.search", f"{1e3 * t_faiss:,.0f}",
                     f"{t_ours / t_faiss:.2f}"])
            )  # fmt: skip
        t_ours, (distances, _), t_faiss, (lims, _, _) = compare(
            repeat,
            partial(index.radius_neighbors, packed_queries, 2),
            partial(flat.range_search, packed_queries, 3),
        )
        assert sum(len(d) for d in distances) == lims[-1]
        lines.append(
            row([f"{n_db:,}", "radius_neighbors r=2", f"{1e3 * t_ours:,.0f}",
                 "faiss range_search", f"{1e3 * t_faiss:,.0f}", f"{t_ours / t_faiss:.2f}"])
        )  # fmt: skip
        if n_db == sizes[0]:
            t_map, _, t_top100, _ = compare(
                repeat,
                partial(mean_average_precision, query_bits, db_bits, query_labels, db_labels),
                partial(flat.search, packed_queries, 100),
            )
            subset = min(100, n_queries)
            start = time.perf_counter()
            reference = plain_map(query_bits[:subset], db_bits, query_labels[:subset], db_labels)
            t_plain = (time.perf_counter() - start) * n_queries / subset
            check = mean_average_precision(
                query_bits[:subset], db_bits, query_labels[:subset], db_labels
            )
            assert abs(check - reference) < 1e-9, (check, reference)
            lines.append(
                row([f"{n_db:,}", "mAP@all, stable ties", f"{1e3 * t_map:,.0f}",
                     "faiss top-100 search", f"{1e3 * t_top100:,.0f}",
                     f"{t_map / t_top100:.2f}"])
            )  # fmt: skip
            lines.append(
                row([f"{n_db:,}", "mAP@all, stable ties", f"{1e3 * t_map:,.0f}",
                     f"plain per-query loop (first {subset} queries, scaled)",
                     f"{1e3 * t_plain:,.0f}", f"1/{t_plain / t_map:.0f}"])
            )  # fmt: skip
            t_dist, distances = median_time(repeat, hamming_distances, packed_queries, packed_db)
            words_q, words_db = (
                packed_queries.view(np.uint64)[:, 0],
                packed_db.view(np.uint64)[:, 0],
            )
            t_loop, out = median_time(repeat, plain_popcount_loop, words_q, words_db)
            assert np.array_equal(out, distances)
            lines.append(
                row([f"{n_db:,}", "hamming_distances", f"{1e3 * t_dist:,.0f}",
                     "plain compiled popcount loop", f"{1e3 * t_loop:,.0f}",
                     f"{t_dist / t_loop:.2f}"])
            )  # fmt: skip
            del distances, out
    return "\n".join(lines)


def mih_table(rng, n_db, n_queries, repeat):
    import faiss

    faiss.omp_set_num_threads(numba.get_num_threads())
    lines = [
        row(["codes", "what", "mih (ms)", "anchor", "anchor (ms)", "anchor / mih"]),
        "|---|---|---|---|---|---|",
    ]
    cases = [
        ("clustered 64-bit", clustered_codes(rng, n_db), 64),
        ("random 64-bit", np.packbits(rng.integers(0, 2, (n_db, 64), dtype=np.uint8), axis=1), 64),
        ("clustered 256-bit", clustered_codes(rng, n_db // 10, 256, flips=12), 256),
    ]
    for name, db, n_bits in cases:
        n = db.shape[0]
        queries = db[rng.choice(n, n_queries, replace=False)].copy()
        # Each query is a database code with two more bits flipped: a near, unseen code.
        for _ in range(2):
            bit = rng.integers(0, n_bits, n_queries)
            queries[np.arange(n_queries), bit // 8] ^= (128 >> (bit % 8)).astype(np.uint8)
        start = time.perf_counter()
        mih = HammingIndex(algorithm="mih", code_format="packed").fit(db)
        t_build = time.perf_counter() - start
        auto = HammingIndex(code_format="packed").fit(db).algorithm_
        brute = HammingIndex(algorithm="brute", code_format="packed").fit(db)
        flat = faiss_flat(db, n_bits)
        label = f"{name}, {n:,} (m={mih.n_substrings_}, build {t_build:.1f} s, auto: {auto})"
        t_mih, ours = median_time(repeat, mih.kneighbors, queries, 10)
        t_faiss, theirs = median_time(1, flat.search, queries, 10)
        assert same_neighbours(ours, theirs)
        lines.append(
            row([label, "kneighbors k=10", f"{1e3 * t_mih:,.0f}", "faiss IndexBinaryFlat",
                 f"{1e3 * t_faiss:,.0f}", f"{t_faiss / t_mih:.1f}"])
        )  # fmt: skip
        for radius in (2, 3):
            t_mih, ours = median_time(repeat, mih.radius_neighbors, queries, radius)
            t_brute, expected = median_time(1, brute.radius_neighbors, queries, radius)
            assert all(np.array_equal(a, b) for a, b in zip(ours[1], expected[1]))
            lines.append(
                row([label, f"radius_neighbors r={radius}", f"{1e3 * t_mih:,.0f}",
                     "brute (compiled scan)", f"{1e3 * t_brute:,.0f}",
                     f"{t_brute / t_mih:.1f}"])
            )  # fmt: skip
    return "\n".join(lines)


def peak_memory_table(n_db, n_queries):
    """Peak resident memory of mAP@all beyond the codes and labels, in a fresh process: the
    peak is reset (``/proc/self/clear_refs``) once the inputs exist."""
    code = f"""
import numpy as np
from sklearn_xmh.metrics import mean_average_precision

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024

rng = np.random.default_rng(0)
q = np.packbits(rng.integers(0, 2, ({n_queries}, 64), dtype=np.uint8), axis=1)
db = np.packbits(rng.integers(0, 2, ({n_db}, 64), dtype=np.uint8), axis=1)
ql = rng.integers(0, 2, ({n_queries}, 24), dtype=np.uint8)
dl = rng.integers(0, 2, ({n_db}, 24), dtype=np.uint8)
mean_average_precision(q[:2], db[:10], ql[:2], dl[:10], code_format="packed", n_bits=64)
before = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")
mean_average_precision(q, db, ql, dl, code_format="packed", n_bits=64)
print(status("VmHWM") - before)
"""
    grown = float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                 text=True, check=True).stdout)  # fmt: skip
    return (
        f"mAP@all, {n_queries:,} x {n_db:,} (64 bits, 24 labels): peak resident memory grew by "
        f"{grown:.0f} MB beyond the codes and labels (the packed database is "
        f"{8 * n_db / 1e6:.0f} MB, its labels {24 * n_db / 1e6:.0f} MB)."
    )


def compile_time():
    """The first call in a fresh process compiles the kernels; with numba's cache, later
    processes load them."""
    code = """
import time
start = time.perf_counter()
import numpy as np
from sklearn_xmh import HammingIndex
from sklearn_xmh.metrics import mean_average_precision
codes = np.random.default_rng(0).integers(0, 2, (1000, 64), dtype=np.uint8)
labels = codes[:, :8]
mean_average_precision(codes, codes, labels, labels)
mean_average_precision(codes, codes, codes[:, 0], codes[:, 0])
index = HammingIndex(algorithm="mih").fit(codes)
index.kneighbors(codes, 10); index.radius_neighbors(codes, 2)
HammingIndex(algorithm="brute").fit(codes).kneighbors(codes, 10)
print(time.perf_counter() - start)
"""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        times = [
            float(
                subprocess.run(
                    [sys.executable, "-c", code],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )  # fmt: skip
            for _ in range(2)
        ]
    return (
        f"First use in a fresh process with an empty numba cache (import, mAP with multi-hot "
        f"and class labels, brute and MIH search): {times[0]:.1f} s; the same in a second "
        f"process that loads the cached kernels: {times[1]:.1f} s."
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 queries, smaller databases")
    parser.add_argument("--no-mih", action="store_true", help="skip the 10,000,000-code part")
    args = parser.parse_args()
    n_queries = 500 if args.quick else 2000
    repeat = 1 if args.quick else 5
    sizes = (186_577,) if args.quick else (186_577, 1_000_000)
    rng = np.random.default_rng(0)
    print(
        f"Date: {datetime.date.today()}; {platform.processor() or platform.machine()}; "
        f"{numba.get_num_threads()} threads; numba {numba.__version__}; median of {repeat} "
        f"run(s) after one warm-up; {n_queries:,} queries.\n"
    )
    print(search_table(rng, n_queries, sizes, repeat))
    print()
    if not args.no_mih:
        print(mih_table(rng, 1_000_000 if args.quick else 10_000_000, n_queries, repeat))
        print()
    print(peak_memory_table(200_000 if args.quick else 1_000_000, n_queries))
    print()
    print(compile_time())


if __name__ == "__main__":
    main()
