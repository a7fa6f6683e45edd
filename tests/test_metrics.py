"""Every metric against a plain per-query brute-force reference written here."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils import check_random_state

from sklearn_xmh.metrics import (
    average_precision_scores,
    hamming_distances,
    mean_average_precision,
    precision_at_k,
    precision_recall_curve,
    precision_within_radius,
)
from sklearn_xmh.utils._codes import convert_codes

# ---------------------------------------------------------------- brute-force references


def ref_distances(query_bits, db_bits):
    return (query_bits[:, None, :] != db_bits[None, :, :]).sum(axis=2)


def ref_relevance(query_labels, db_labels, n_queries, n_db):
    if query_labels is None:
        return np.eye(n_queries, n_db, dtype=bool)
    query_labels, db_labels = np.asarray(query_labels), np.asarray(db_labels)
    if query_labels.ndim == 1:
        return query_labels[:, None] == db_labels[None, :]
    return (query_labels.astype(float) @ db_labels.T.astype(float)) > 0


def ref_ranking(distances, ties, rng):
    """Per query, database indices in rank order."""
    if ties == "stable":
        return [np.argsort(row, kind="stable") for row in distances]
    # a random tie order: random keys break ties
    return [np.lexsort((rng.random(row.size), row)) for row in distances]


def ref_ap(order, relevant, top_k):
    hits = relevant[order][: len(order) if top_k is None else top_k]
    if hits.sum() == 0:
        return 0.0
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def ref_map(query_bits, db_bits, query_labels, db_labels, top_k, ties, rng=None):
    distances = ref_distances(query_bits, db_bits)
    relevant = ref_relevance(query_labels, db_labels, len(query_bits), len(db_bits))
    orders = ref_ranking(distances, ties, rng)
    return np.array([ref_ap(order, rel, top_k) for order, rel in zip(orders, relevant)])


def ref_random_ties(query_bits, db_bits, query_labels, db_labels, top_k, seed):
    """The documented definition: reorder the database by a seeded permutation, then stable."""
    perm = check_random_state(seed).permutation(len(db_bits))
    db_labels = None if db_labels is None else np.asarray(db_labels)[perm]
    distances = ref_distances(query_bits, db_bits[perm])
    if query_labels is None:
        relevant = np.arange(len(query_bits))[:, None] == perm[None, :]
    else:
        relevant = ref_relevance(query_labels, db_labels, len(query_bits), len(db_bits))
    orders = ref_ranking(distances, "stable", None)
    return np.array([ref_ap(order, rel, top_k) for order, rel in zip(orders, relevant)])


# ---------------------------------------------------------------- data generation


def make_case(seed, n_bits, n_queries, n_db, label_mode, n_active, n_labels=5):
    """Random codes with only ``n_active`` varying bits, so that distance ties (and duplicate
    codes) are frequent; multi-hot labels over ``n_labels`` classes, more than one word's worth
    when it exceeds 64."""
    rng = np.random.default_rng(seed)
    if label_mode == "pairs":
        n_db = n_queries
    query = np.zeros((n_queries, n_bits), dtype=np.uint8)
    db = np.zeros((n_db, n_bits), dtype=np.uint8)
    active = rng.choice(n_bits, size=min(n_active, n_bits), replace=False)
    query[:, active] = rng.integers(0, 2, (n_queries, active.size))
    db[:, active] = rng.integers(0, 2, (n_db, active.size))
    if label_mode == "single":
        return query, db, rng.integers(0, 4, n_queries), rng.integers(0, 4, n_db)
    if label_mode == "multi":
        rate = 1.25 / n_labels
        query_labels = (rng.random((n_queries, n_labels)) < rate).astype(np.uint8)
        return query, db, query_labels, (rng.random((n_db, n_labels)) < rate).astype(np.uint8)
    return query, db, None, None


cases = st.builds(
    make_case,
    seed=st.integers(0, 2**31 - 1),
    n_bits=st.integers(1, 130),
    n_queries=st.integers(1, 12),
    n_db=st.integers(1, 40),
    label_mode=st.sampled_from(["single", "multi", "pairs"]),
    n_active=st.integers(1, 10),
    n_labels=st.sampled_from([5, 70]),
)
top_ks = st.one_of(st.none(), st.integers(1, 50))
code_formats = st.sampled_from(["bits", "signed", "packed"])


# ---------------------------------------------------------------- distances


@settings(max_examples=40, deadline=None)
@given(case=cases, code_format=code_formats)
def test_hamming_distances_match_brute_force(case, code_format):
    query, db, _, _ = case
    n_bits = query.shape[1]
    got = hamming_distances(
        convert_codes(query, code_format),
        convert_codes(db, code_format),
        code_format=code_format,
        n_bits=n_bits,
    )
    assert got.shape == (len(query), len(db))
    np.testing.assert_array_equal(got, ref_distances(query, db))


def test_hamming_distances_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="bits"):
        hamming_distances(np.zeros((2, 8), np.uint8), np.zeros((2, 16), np.uint8))


# ---------------------------------------------------------------- mAP


@settings(max_examples=60, deadline=None)
@given(case=cases, top_k=top_ks)
def test_stable_map_matches_brute_force(case, top_k):
    query, db, query_labels, db_labels = case
    expected = ref_map(query, db, query_labels, db_labels, top_k, "stable")
    got = average_precision_scores(query, db, query_labels, db_labels, top_k=top_k)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert mean_average_precision(query, db, query_labels, db_labels, top_k=top_k) == pytest.approx(
        expected.mean(), abs=1e-12
    )


@settings(max_examples=30, deadline=None)
@given(case=cases, top_k=top_ks, seed=st.integers(0, 1000))
def test_random_ties_follow_the_seeded_permutation_and_reproduce(case, top_k, seed):
    query, db, query_labels, db_labels = case
    expected = ref_random_ties(query, db, query_labels, db_labels, top_k, seed)
    got = average_precision_scores(
        query, db, query_labels, db_labels, top_k=top_k, ties="random", random_state=seed
    )
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    again = average_precision_scores(
        query, db, query_labels, db_labels, top_k=top_k, ties="random", random_state=seed
    )
    np.testing.assert_array_equal(got, again)


def enumerate_expected_ap(distances, relevant, top_k):
    """Exact expectation by enumerating every order within every tied group (tiny inputs)."""
    groups = [np.flatnonzero(distances == value) for value in np.unique(distances)]
    total, count = 0.0, 0
    for orders in itertools.product(*(itertools.permutations(group) for group in groups)):
        total += ref_ap(np.concatenate(orders).astype(int), relevant, top_k)
        count += 1
    return total / count


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_db=st.integers(1, 7),
    top_k=st.one_of(st.none(), st.integers(1, 7)),
    multi=st.booleans(),
)
def test_expected_ties_equal_exact_enumeration(seed, n_db, top_k, multi):
    query, db, query_labels, db_labels = make_case(
        seed, 8, 2, n_db, "multi" if multi else "single", 2
    )
    got = average_precision_scores(query, db, query_labels, db_labels, top_k=top_k, ties="expected")
    distances = ref_distances(query, db)
    relevant = ref_relevance(query_labels, db_labels, len(query), len(db))
    expected = [enumerate_expected_ap(d, r, top_k) for d, r in zip(distances, relevant)]
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(case=cases, top_k=top_ks)
def test_expected_ties_equal_the_average_over_random_orders(case, top_k):
    query, db, query_labels, db_labels = case
    got = average_precision_scores(query, db, query_labels, db_labels, top_k=top_k, ties="expected")
    rng = np.random.default_rng(0)
    draws = np.array(
        [ref_map(query, db, query_labels, db_labels, top_k, "random", rng) for _ in range(1000)]
    )
    # A sampled mean is only known to within its standard error: allow 5 of them (a chance
    # failure rate below 1e-6 per query), which is exact where the tie order cannot matter.
    # Exactness itself is checked by test_expected_ties_equal_exact_enumeration.
    standard_error = draws.std(axis=0) / np.sqrt(len(draws))
    assert np.all(np.abs(got - draws.mean(axis=0)) <= 5 * standard_error + 1e-9)


def test_ties_modes_differ_where_order_matters():
    # one relevant item tied with three irrelevant ones placed before it in database order
    query = np.zeros((1, 8), np.uint8)
    db = np.zeros((4, 8), np.uint8)
    labels_q, labels_db = [1], [0, 0, 0, 1]
    assert mean_average_precision(query, db, labels_q, labels_db) == pytest.approx(0.25)
    expected = mean_average_precision(query, db, labels_q, labels_db, ties="expected")
    assert expected == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4) / 4)


def test_top_k_counts_zero_for_queries_without_relevant_items():
    query = np.zeros((2, 8), np.uint8)
    db = np.eye(8, dtype=np.uint8)[:4]
    # query 0 has a relevant item at rank 4 only, outside the top 2
    assert mean_average_precision(query, db, [0, 1], [1, 1, 0, 0], top_k=2) == pytest.approx(0.5)


def test_map_large_n_bits_uses_wide_distances():
    rng = np.random.default_rng(0)
    query = rng.integers(0, 2, (5, 300)).astype(np.uint8)
    db = rng.integers(0, 2, (30, 300)).astype(np.uint8)
    labels_q, labels_db = rng.integers(0, 3, 5), rng.integers(0, 3, 30)
    expected = ref_map(query, db, labels_q, labels_db, None, "stable").mean()
    assert mean_average_precision(query, db, labels_q, labels_db) == pytest.approx(expected)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ties": "sorted"}, "ties"),
        ({"top_k": 0}, "top_k"),
        ({"top_k": 2.5}, "top_k"),
    ],
)
def test_map_rejects_bad_options(kwargs, message):
    codes = np.zeros((3, 8), np.uint8)
    with pytest.raises(ValueError, match=message):
        mean_average_precision(codes, codes, **kwargs)


def test_map_rejects_bad_labels():
    codes = np.zeros((3, 8), np.uint8)
    with pytest.raises(ValueError, match="both"):
        mean_average_precision(codes, codes, [0, 1, 2], None)
    with pytest.raises(ValueError, match="rows"):
        mean_average_precision(codes, codes, [0, 1], [0, 1, 2])
    with pytest.raises(ValueError, match="classes"):
        mean_average_precision(codes, codes, np.eye(3), np.eye(3)[:, :2])
    with pytest.raises(ValueError, match="1-D"):
        mean_average_precision(codes, codes, [0, 1, 2], np.eye(3))
    with pytest.raises(ValueError, match="Pair retrieval"):
        mean_average_precision(codes, codes[:2])


# ---------------------------------------------------------------- precision metrics


def ref_precision_at_k(query, db, query_labels, db_labels, ks):
    distances = ref_distances(query, db)
    relevant = ref_relevance(query_labels, db_labels, len(query), len(db))
    out = []
    for row, rel in zip(distances, relevant):
        hits = rel[np.argsort(row, kind="stable")]
        out.append([hits[: min(k, len(hits))].sum() / min(k, len(hits)) for k in ks])
    return np.mean(out, axis=0)


@settings(max_examples=40, deadline=None)
@given(case=cases, ks=st.lists(st.integers(1, 50), min_size=1, max_size=4))
def test_precision_at_k_matches_brute_force(case, ks):
    query, db, query_labels, db_labels = case
    got = precision_at_k(query, db, query_labels, db_labels, k=ks)
    np.testing.assert_allclose(got, ref_precision_at_k(query, db, query_labels, db_labels, ks))
    scalar = precision_at_k(query, db, query_labels, db_labels, k=ks[0])
    assert isinstance(scalar, float)
    assert scalar == pytest.approx(got[0])


@settings(max_examples=15, deadline=None)
@given(case=cases, k=st.integers(1, 50))
def test_expected_precision_at_k_equals_random_average(case, k):
    query, db, query_labels, db_labels = case
    got = precision_at_k(query, db, query_labels, db_labels, k=k, ties="expected")
    distances = ref_distances(query, db)
    relevant = ref_relevance(query_labels, db_labels, len(query), len(db))
    rng = np.random.default_rng(1)
    depth = min(k, len(db))
    samples = np.array(
        [
            np.mean([rel[order][:depth].mean() for order, rel in zip(orders, relevant)])
            for orders in (ref_ranking(distances, "random", rng) for _ in range(1000))
        ]
    )
    # Within 5 standard errors of the sampled mean (see the mAP test above).
    assert abs(got - samples.mean()) <= 5 * samples.std() / np.sqrt(len(samples)) + 1e-9


def ref_pr_curve(query, db, query_labels, db_labels):
    n_bits = query.shape[1]
    distances = ref_distances(query, db)
    relevant = ref_relevance(query_labels, db_labels, len(query), len(db))
    precision, recall = np.zeros(n_bits + 1), np.zeros(n_bits + 1)
    for row, rel in zip(distances, relevant):
        for radius in range(n_bits + 1):
            retrieved = row <= radius
            found = (retrieved & rel).sum()
            precision[radius] += found / retrieved.sum() if retrieved.any() else 0.0
            recall[radius] += found / rel.sum() if rel.any() else 0.0
    return precision / len(query), recall / len(query)


@settings(max_examples=30, deadline=None)
@given(case=cases, radius=st.integers(0, 10))
def test_radius_metrics_match_brute_force(case, radius):
    query, db, query_labels, db_labels = case
    precision, recall, radii = precision_recall_curve(query, db, query_labels, db_labels)
    ref_precision, ref_recall = ref_pr_curve(query, db, query_labels, db_labels)
    np.testing.assert_array_equal(radii, np.arange(query.shape[1] + 1))
    np.testing.assert_allclose(precision, ref_precision)
    np.testing.assert_allclose(recall, ref_recall)
    assert recall[-1] == pytest.approx(
        np.mean(ref_relevance(query_labels, db_labels, len(query), len(db)).any(axis=1))
    )
    # Every distance is at most n_bits, so a larger radius covers the whole database.
    assert precision_within_radius(query, db, query_labels, db_labels, r=radius) == pytest.approx(
        ref_precision[min(radius, query.shape[1])]
    )


def test_precision_metrics_reject_bad_cutoffs():
    codes = np.zeros((3, 8), np.uint8)
    with pytest.raises(ValueError, match="'k' parameter"):
        precision_at_k(codes, codes, k=0)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        precision_at_k(codes, codes, k=[1, 0])
    with pytest.raises(ValueError, match="'r' parameter"):
        precision_within_radius(codes, codes, r=-1)


@settings(max_examples=30, deadline=None)
@given(case=cases, top_k=top_ks, ties=st.sampled_from(["stable", "random", "expected"]))
def test_sparse_labels_score_as_dense_ones(case, top_k, ties):
    query, db, query_labels, db_labels = case
    if query_labels is None or np.ndim(query_labels) == 1:
        return
    dense = mean_average_precision(
        query, db, query_labels, db_labels, top_k=top_k, ties=ties, random_state=0
    )
    for as_sparse in ((True, True), (True, False), (False, True)):
        labels = [
            sp.csr_matrix(labels) if flag else labels
            for flag, labels in zip(as_sparse, (query_labels, db_labels))
        ]
        assert mean_average_precision(
            query, db, *labels, top_k=top_k, ties=ties, random_state=0
        ) == pytest.approx(dense, abs=1e-12)
