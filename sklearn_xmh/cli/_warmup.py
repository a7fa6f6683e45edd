"""Compiling the Hamming kernels before first use, and saying so while it happens."""

import subprocess
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


def warm_up(search=True):
    """Compile the kernels every metric (and, with ``search``, every search) uses, or load
    them from numba's cache (``cache=True``): mAP with class ids, multi-hot labels and pairs,
    precision@k, top-k and radius search. Returns the seconds it took."""
    from ..metrics import mean_average_precision, precision_at_k

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 2, (40, 16), dtype=np.uint8)
    ids, hot = rng.integers(0, 3, 40), rng.integers(0, 2, (40, 4))
    for labels in (ids, hot, None):
        for top_k in (None, 5):
            mean_average_precision(codes, codes, labels, labels, top_k=top_k)
    precision_at_k(codes, codes, ids, ids, k=5)
    if search:
        from ..neighbors import HammingIndex

        for algorithm in ("brute", "mih"):
            index = HammingIndex(algorithm=algorithm).fit(codes)
            index.kneighbors(codes, 3)
            index.radius_neighbors(codes, 2)
    return time.perf_counter() - start


def warm_up_in_background():
    """Compile the metrics' kernels into numba's cache in another process, while this one fits
    models: the scoring then loads them from the cache instead of compiling them. Returns the
    process, or None when the cache is already warm."""
    from .._hamming import kernels_cached

    if kernels_cached():
        return None
    print(COMPILING_BACKGROUND, file=sys.stderr, flush=True)
    code = "from sklearn_xmh.cli._warmup import warm_up; warm_up(search=False)"
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


COMPILING = (
    "xmh: compiling the Hamming kernels (first use in this environment only; "
    "`xmh warmup` does it ahead)..."
)
COMPILING_BACKGROUND = (
    "xmh: compiling the Hamming kernels in the background while the models fit (first use "
    "in this environment only; `xmh warmup` does it ahead)"
)
