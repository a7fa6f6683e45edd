"""The Hamming engine: codes as ``uint64`` words, the compiled kernels over them, exact search
(linear scan and multi-index hashing) and the per-query rank statistics.

Every metric of :mod:`sklearn_xmh.metrics` and every search of
:class:`~sklearn_xmh.neighbors.HammingIndex` reaches the codes through this package, so that
there is one place where codes are compared. Its names are the engine's internal API for the
packages above it; nothing here is public.

- :mod:`._words`: packing codes into ``uint64`` words (rows zero-padded, padding adds no distance);
- :mod:`._kernels`: numba kernels (``parallel=True``, ``cache=True``) over those words;
- :mod:`._search`: k-NN and radius search by a linear scan, rank statistics, thread control;
- :mod:`._mih`: multi-index hashing (Norouzi, Punjani and Fleet, CVPR 2012).
"""

from . import _mih as mih
from ._kernels import distance_matrix
from ._search import (
    boundary,
    kernels_cached,
    kneighbors_brute,
    radius_brute,
    rank_statistics,
    threads,
)
from ._words import (
    distance_dtype,
    pack_pair,
    pack_words,
    packed_to_words,
    pair_width,
    word_major,
)

__all__ = [
    "boundary",
    "distance_dtype",
    "distance_matrix",
    "kernels_cached",
    "kneighbors_brute",
    "mih",
    "pack_pair",
    "pack_words",
    "packed_to_words",
    "pair_width",
    "radius_brute",
    "rank_statistics",
    "threads",
    "word_major",
]
