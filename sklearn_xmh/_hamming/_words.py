"""Codes as ``uint64`` words, the form every kernel of the engine reads.

Rows are :func:`numpy.packbits` bytes viewed as words and zero-padded to a whole number of
words, so padding never adds distance; the database is laid out word-major for the scans.
"""

import numpy as np

from ..utils._codes import check_packed


def pair_width(query_codes, db_codes, code_format=None, n_bits=None):
    """The code length two arrays compared with each other share, where their shapes tell it:
    ``n_bits`` when given; else, without a declared format, the width of the wider array when
    the narrower one is a uint8 array exactly wide enough to hold it packed; else None."""
    if n_bits is not None or code_format is not None:
        return n_bits
    widths = sorted(
        (np.shape(codes)[1], np.asarray(codes).dtype == np.uint8)
        for codes in (query_codes, db_codes)
        if np.ndim(codes) == 2
    )
    if len(widths) == 2 and widths[0][1] and widths[0][0] == -(-widths[1][0] // 8) < widths[1][0]:
        return widths[1][0]
    return None


def pack_words(codes, *, code_format=None, n_bits=None):
    """Pack codes into rows of ``uint64`` words for popcount distances.

    Rows are zero-padded to a whole number of 64-bit words, so padding never adds distance.

    Returns
    -------
    words : ndarray of shape (n_samples, ceil(n_bits / 64)), dtype uint64
    n_bits : int
    """
    packed, n_bits = check_packed(codes, code_format=code_format, n_bits=n_bits)
    return packed_to_words(packed), n_bits


def packed_to_words(packed):
    """View :func:`numpy.packbits` rows as ``uint64`` words for popcount distances.

    Rows are zero-padded to a whole number of words; when they already are, no copy is made.

    Parameters
    ----------
    packed : ndarray of shape (n_samples, n_bytes), dtype uint8
        Packed codes.

    Returns
    -------
    words : ndarray of shape (n_samples, ceil(n_bytes / 8)), dtype uint64
    """
    packed = np.ascontiguousarray(packed, dtype=np.uint8)
    n_words = max(1, -(-packed.shape[1] // 8))
    if packed.shape[1] != n_words * 8:
        padded = np.zeros((packed.shape[0], n_words * 8), dtype=np.uint8)
        padded[:, : packed.shape[1]] = packed
        packed = padded
    return packed.view(np.uint64)


def word_major(words):
    """Database words laid out word-major, ``(n_words, n_db)``, as the kernels scan them."""
    return np.ascontiguousarray(words.T)


def distance_dtype(n_bits):
    """The smallest unsigned dtype that holds every distance between ``n_bits``-bit codes."""
    # One byte per distance when it fits: half the memory traffic, and numpy's stable sort of
    # uint8 keys is a single counting pass.
    return np.uint8 if n_bits <= np.iinfo(np.uint8).max else np.uint16


def pack_pair(query_codes, db_codes, code_format, n_bits):
    """Both code arrays as uint64 words of the same code length: ``(query, db, n_bits)``."""
    for name, codes in (("query_codes", query_codes), ("db_codes", db_codes)):
        if np.ndim(codes) >= 1 and np.shape(codes)[0] == 0:
            raise ValueError(f"{name} is empty: it holds no codes (shape {np.shape(codes)}).")
    n_bits = pair_width(query_codes, db_codes, code_format, n_bits)
    query, n_bits_q = pack_words(query_codes, code_format=code_format, n_bits=n_bits)
    db, n_bits_db = pack_words(db_codes, code_format=code_format, n_bits=n_bits)
    if n_bits_q != n_bits_db:
        raise ValueError(f"Query codes have {n_bits_q} bits but database codes have {n_bits_db}.")
    return query, db, n_bits_q
