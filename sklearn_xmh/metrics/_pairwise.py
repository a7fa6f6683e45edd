"""Pairwise Hamming distances between two sets of codes."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from .._hamming import distance_dtype, distance_matrix, pack_pair, word_major
from ..utils._codes import CODE_FORMATS


@validate_params(
    {
        "query_codes": ["array-like"],
        "db_codes": ["array-like"],
        "code_format": [StrOptions(set(CODE_FORMATS)), None],
        "n_bits": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def hamming_distances(query_codes, db_codes, *, code_format=None, n_bits=None):
    """Hamming distances between every query code and every database code.

    Computed by a compiled, parallel popcount over XORed ``uint64`` words, written straight
    into the result.

    Parameters
    ----------
    query_codes : array-like of shape (n_queries, n_bits) or packed
        Query codes in any format.
    db_codes : array-like of shape (n_db, n_bits) or packed
        Database codes in the same format.
    code_format : {"bits", "signed", "packed"} or None, default=None
        Format of both arrays; None infers it.
    n_bits : int or None, default=None
        Code length, needed for packed codes whose length is not a multiple of 8.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_db)
        uint8 for codes of at most 255 bits, uint16 beyond.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_xmh.metrics import hamming_distances
    >>> hamming_distances(np.array([[1, 0, 1, 1]]), np.array([[1, 0, 1, 1], [0, 1, 0, 1]]))
    array([[0, 3]], dtype=uint8)
    """
    query, db, n_bits = pack_pair(query_codes, db_codes, code_format, n_bits)
    out = np.empty((query.shape[0], db.shape[0]), dtype=distance_dtype(n_bits))
    if out.size:
        distance_matrix(query, word_major(db), out)
    return out
