"""Compiling the Hamming kernels before first use, and saying so while it happens."""

import sys
import threading
import time
from contextlib import contextmanager

import numpy as np


@contextmanager
def notice_if_slow(message, after=1.5, stream=None):
    """Print ``message`` to stderr if the block is still running after ``after`` seconds: a
    first call that compiles numba kernels says so, a call served from the cache says nothing."""
    stream = sys.stderr if stream is None else stream
    timer = threading.Timer(after, lambda: print(message, file=stream, flush=True))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def warm_up():
    """Compile the kernels every metric and search uses (or load them from numba's cache,
    ``cache=True``): mAP with class ids, multi-hot labels and pairs, top-k and radius search.
    Returns the seconds it took."""
    from ..metrics import mean_average_precision, precision_at_k
    from ..neighbors import HammingIndex

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 2, (40, 16), dtype=np.uint8)
    ids, hot = rng.integers(0, 3, 40), rng.integers(0, 2, (40, 4))
    for labels in (ids, hot, None):
        for top_k in (None, 5):
            mean_average_precision(codes, codes, labels, labels, top_k=top_k)
    precision_at_k(codes, codes, ids, ids, k=5)
    for algorithm in ("brute", "mih"):
        index = HammingIndex(algorithm=algorithm).fit(codes)
        index.kneighbors(codes, 3)
        index.radius_neighbors(codes, 2)
    return time.perf_counter() - start


COMPILING = (
    "xmh: compiling the Hamming kernels (first use in this environment only; "
    "`xmh warmup` does it ahead)..."
)
