"""Retrieval metrics over binary codes."""

import numpy as np

from ._codes import pack_words


def hamming_distances(query_codes, db_codes, *, code_format=None, n_bits=None, block_size=4096):
    """Hamming distances between every query code and every database code.

    Computed by popcount (:func:`numpy.bitwise_count`) over XORed ``uint64`` words, one block of
    queries at a time so that the temporaries stay bounded.

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
    block_size : int, default=4096
        Queries per block.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_db), dtype uint16
    """
    query, n_bits_q = pack_words(query_codes, code_format=code_format, n_bits=n_bits)
    db, n_bits_db = pack_words(db_codes, code_format=code_format, n_bits=n_bits)
    if n_bits_q != n_bits_db:
        raise ValueError(f"Query codes have {n_bits_q} bits but database codes have {n_bits_db}.")
    out = np.empty((query.shape[0], db.shape[0]), dtype=np.uint16)
    for start in range(0, query.shape[0], block_size):
        block = query[start : start + block_size]
        counts = np.bitwise_count(block[:, None, :] ^ db[None, :, :])
        out[start : start + block_size] = counts.sum(axis=2, dtype=np.uint16)
    return out


def _as_multi_hot(labels):
    labels = np.asarray(labels)
    if labels.ndim == 2:
        return labels != 0
    _, ids = np.unique(labels, return_inverse=True)
    return np.eye(ids.max() + 1 if ids.size else 0, dtype=bool)[ids]


def _relevance(query_labels, db_labels, n_queries, n_db, start, stop):
    if query_labels is None:
        relevant = np.zeros((stop - start, n_db), dtype=bool)
        relevant[np.arange(stop - start), np.arange(start, stop)] = True
        return relevant
    return (query_labels[start:stop].astype(np.float32) @ db_labels.T.astype(np.float32)) > 0


def mean_average_precision(
    query_codes,
    db_codes,
    query_labels=None,
    db_labels=None,
    *,
    top_k=None,
    ties="stable",
    code_format=None,
    n_bits=None,
    block_size=256,
):
    """Mean average precision of Hamming ranking.

    Parameters
    ----------
    query_codes, db_codes : array-like
        Codes in any format (see :func:`sklearn_xmh.convert_codes`).
    query_labels, db_labels : array-like of shape (n, ) or (n, n_classes), default=None
        Class ids or multi-hot labels. An item is relevant when it shares a label with the query.
        When both are None, only the query's own pair (same row index) is relevant.
    top_k : int or None, default=None
        None gives mAP@all. An integer K gives AP@K normalised by the number of relevant items in
        the top K; a query with none counts 0.
    ties : {"stable"}, default="stable"
        Items at equal distance keep database order.

    Returns
    -------
    score : float
    """
    if ties != "stable":
        raise ValueError(f"ties={ties!r} is not supported; use 'stable'.")
    query, n_bits = pack_words(query_codes, code_format=code_format, n_bits=n_bits)
    db, _ = pack_words(db_codes, code_format=code_format, n_bits=n_bits)
    n_queries, n_db = query.shape[0], db.shape[0]
    if (query_labels is None) != (db_labels is None):
        raise ValueError("Pass labels for both queries and database, or for neither.")
    if query_labels is None and n_queries != n_db:
        raise ValueError(
            "Pair retrieval (no labels) needs as many queries as database items, paired by row; "
            f"got {n_queries} and {n_db}."
        )
    if query_labels is not None:
        if np.asarray(query_labels).ndim == 1:
            both = _as_multi_hot(np.concatenate([np.asarray(query_labels), np.asarray(db_labels)]))
            query_labels, db_labels = both[:n_queries], both[n_queries:]
        else:
            query_labels, db_labels = _as_multi_hot(query_labels), _as_multi_hot(db_labels)
    depth = n_db if top_k is None else min(int(top_k), n_db)
    ranks = np.arange(1, depth + 1, dtype=np.float64)
    total = 0.0
    for start in range(0, n_queries, block_size):
        stop = min(start + block_size, n_queries)
        distances = np.bitwise_count(query[start:stop, None, :] ^ db[None, :, :]).sum(axis=2)
        order = np.argsort(distances, axis=1, kind="stable")[:, :depth]
        relevant = _relevance(query_labels, db_labels, n_queries, n_db, start, stop)
        hits = np.take_along_axis(relevant, order, axis=1)
        cumulative = np.cumsum(hits, axis=1)
        n_relevant = cumulative[:, -1] if depth else np.zeros(stop - start)
        precision_sum = (cumulative / ranks * hits).sum(axis=1)
        total += np.divide(
            precision_sum, n_relevant, out=np.zeros(stop - start), where=n_relevant > 0
        ).sum()
    return total / n_queries if n_queries else 0.0


def cross_modal_map(estimator, X, y, labels=None, *, direction="both", top_k=None, ties="stable"):
    """mAP of a fitted hasher on paired views: I->T, T->I, or their mean.

    Each image of ``X`` queries the texts of ``y`` (I->T) and each text queries the images (T->I).

    Parameters
    ----------
    estimator : fitted hasher or Pipeline ending in one
    X, y : array-like
        Paired image and text views.
    labels : array-like, default=None
        Class ids or multi-hot labels; None scores pair retrieval.
    direction : {"both", "i2t", "t2i"}, default="both"
    top_k : int or None, default=None
    ties : str, default="stable"

    Returns
    -------
    score : float
    """
    if y is None:
        raise ValueError("Scoring cross-modal retrieval requires the text view y.")
    image_codes = estimator.transform(X)
    text_codes = _last_step(estimator).transform_text(y)
    fmt = _last_step(estimator).code_format
    n_bits = _last_step(estimator).n_bits
    scores = []
    if direction in ("both", "i2t"):
        scores.append(
            mean_average_precision(
                image_codes,
                text_codes,
                labels,
                labels,
                top_k=top_k,
                ties=ties,
                code_format=fmt,
                n_bits=n_bits,
            )
        )
    if direction in ("both", "t2i"):
        scores.append(
            mean_average_precision(
                text_codes,
                image_codes,
                labels,
                labels,
                top_k=top_k,
                ties=ties,
                code_format=fmt,
                n_bits=n_bits,
            )
        )
    return float(np.mean(scores))


def _last_step(estimator):
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
