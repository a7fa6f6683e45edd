"""Exact expectations over random tie orders: ``ties="expected"`` in closed form.

Within a distance bucket every order of the tied items is equally likely; linearity of
expectation turns the expected AP (and AP@K, whose boundary bucket is hypergeometric) into sums
of harmonic numbers, so no order is ever sampled.
"""

import numpy as np
from scipy.special import gammaln

from .._hamming import boundary


def harmonic_numbers(n):
    """``H[m] = 1 + 1/2 + ... + 1/m`` for ``m`` in ``0..n``."""
    return np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, n + 1))])


def _expected_precision_sum(size, n_relevant, relevant_before, items_before, harmonic):
    """Expected sum of precisions of the relevant items of a uniformly shuffled tied group.

    A group of ``size`` items holding ``n_relevant`` relevant ones follows ``items_before``
    items, ``relevant_before`` of them relevant. One relevant item sits at position ``t``
    (uniform on ``1..size``); the other ``n_relevant - 1`` fill the remaining positions
    uniformly, so on average ``(t - 1) * beta`` of them precede it, ``beta = (n_relevant - 1) /
    (size - 1)``. Its expected precision is thus ``(relevant_before + 1 + (t - 1) * beta) /
    (items_before + t)`` averaged over ``t``, which splits into ``beta`` plus a harmonic sum:

    ``n_relevant / size * (size * beta + (relevant_before + 1 - beta * (items_before + 1)) *
    (H[items_before + size] - H[items_before]))``.

    Linearity of expectation makes this exact; all arguments broadcast.
    """
    size = np.asarray(size, dtype=np.float64)
    beta = np.divide(n_relevant - 1, size - 1, out=np.zeros(size.shape), where=size > 1)
    before = np.asarray(items_before, dtype=np.intp)
    harmonic_span = harmonic[before + size.astype(np.intp)] - harmonic[before]
    inner = size * beta + (relevant_before + 1 - beta * (before + 1)) * harmonic_span
    return np.divide(n_relevant * inner, size, out=np.zeros(size.shape), where=size > 0)


def _log_binomial(n, k):
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def expected_average_precision(counts, relevant_counts, n_db, top_k, harmonic):
    """Exact expected AP (or AP@K) over uniformly random orders within each distance bucket,
    from each query's histogram of items and relevant items per distance."""
    if top_k is not None and top_k < n_db:
        # The AP@K terms take (n_queries, top_k + 1) floats: bound them by blocks of queries.
        step = max(1, (1 << 22) // (top_k + 1))
        if counts.shape[0] > step:
            return np.concatenate(
                [
                    expected_average_precision(
                        counts[start : start + step],
                        relevant_counts[start : start + step],
                        n_db,
                        top_k,
                        harmonic,
                    )
                    for start in range(0, counts.shape[0], step)
                ]
            )
    n_bits = counts.shape[1] - 1
    items_before = np.cumsum(counts, axis=1) - counts
    relevant_before = np.cumsum(relevant_counts, axis=1) - relevant_counts
    per_bucket = _expected_precision_sum(
        counts, relevant_counts, relevant_before, items_before, harmonic
    )
    if top_k is None or top_k >= n_db:
        n_relevant = relevant_counts.sum(axis=1)
        return np.divide(
            per_bucket.sum(axis=1), n_relevant, out=np.zeros(len(counts)), where=n_relevant > 0
        )
    # The top K takes whole buckets before the boundary one and ``taken`` of its items: the
    # number of relevant items among those is hypergeometric, and the AP given that number is
    # the bucket formula on the taken part, divided by a now fixed count of relevant items.
    bucket, taken, _ = boundary(counts, top_k)
    row = np.arange(len(counts))
    full_sum = np.where(np.arange(n_bits + 1)[None, :] < bucket[:, None], per_bucket, 0).sum(1)
    size = counts[row, bucket][:, None].astype(np.float64)
    good = relevant_counts[row, bucket][:, None].astype(np.float64)
    a_before = relevant_before[row, bucket][:, None]
    n_before = items_before[row, bucket][:, None]
    taken = taken[:, None].astype(np.float64)
    x = np.arange(top_k + 1, dtype=np.float64)[None, :]
    possible = (x <= good) & (x <= taken) & (taken - x <= size - good)
    with np.errstate(invalid="ignore"):
        log_pmf = (
            _log_binomial(good, x)
            + _log_binomial(size - good, taken - x)
            - _log_binomial(size, taken)
        )
    pmf = np.where(possible, np.exp(np.where(possible, log_pmf, 0.0)), 0.0)
    partial_sum = _expected_precision_sum(
        np.broadcast_to(taken, pmf.shape), x, a_before, n_before, harmonic
    )
    relevant_in_top = a_before + x
    ap_given_x = np.divide(
        full_sum[:, None] + partial_sum,
        relevant_in_top,
        out=np.zeros(pmf.shape),
        where=relevant_in_top > 0,
    )
    return (pmf * ap_given_x).sum(axis=1)
