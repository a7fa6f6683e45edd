"""HammingIndex against brute force: every algorithm and backend gives the same neighbours."""

import joblib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_xmh.neighbors import HammingIndex
from sklearn_xmh.utils._codes import convert_codes

# The compiled scan, multi-index hashing with its default and with many substrings, and faiss.
CONFIGS = {
    "brute": {"algorithm": "brute"},
    "mih": {"algorithm": "mih"},
    "mih-5": {"algorithm": "mih", "n_substrings": 5},
    "faiss": {"backend": "faiss"},
}


def backend_index(config, **params):
    if config == "faiss":
        pytest.importorskip("faiss")
    return HammingIndex(**CONFIGS[config], **params)


def draw_n_bits(config, data, n_bytes):
    """faiss needs whole bytes; the compiled engine takes any length."""
    return 8 * n_bytes if config == "faiss" else data.draw(st.integers(1, 130))


def make_codes(seed, n_bits, n_queries, n_db, n_active):
    """Codes with few varying bits so that ties at the k-th distance are common."""
    rng = np.random.default_rng(seed)
    active = rng.choice(n_bits, size=min(n_active, n_bits), replace=False)
    query = np.zeros((n_queries, n_bits), np.uint8)
    db = np.zeros((n_db, n_bits), np.uint8)
    query[:, active] = rng.integers(0, 2, (n_queries, active.size))
    db[:, active] = rng.integers(0, 2, (n_db, active.size))
    return query, db


def brute_force(query, db):
    distances = (query[:, None, :] != db[None, :, :]).sum(axis=2)
    order = np.argsort(distances, axis=1, kind="stable")
    return np.take_along_axis(distances, order, axis=1), order


@pytest.mark.parametrize("config", list(CONFIGS))
@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_bytes=st.integers(1, 16),
    n_db=st.integers(1, 120),
    n_active=st.integers(1, 12),
    data=st.data(),
)
def test_kneighbors_matches_brute_force(config, seed, n_bytes, n_db, n_active, data):
    query, db = make_codes(seed, draw_n_bits(config, data, n_bytes), 7, n_db, n_active)
    k = data.draw(st.integers(1, n_db))
    index = backend_index(config).fit(db)
    distances, indices = index.kneighbors(query, n_neighbors=k)
    ref_distances, ref_indices = brute_force(query, db)
    np.testing.assert_array_equal(distances, ref_distances[:, :k])
    np.testing.assert_array_equal(indices, ref_indices[:, :k])
    np.testing.assert_array_equal(index.kneighbors(query, k, return_distance=False), indices)


@pytest.mark.parametrize("config", list(CONFIGS))
@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_bytes=st.integers(1, 8),
    n_db=st.integers(1, 80),
    radius=st.integers(0, 6),
    data=st.data(),
)
def test_radius_neighbors_matches_brute_force(config, seed, n_bytes, n_db, radius, data):
    query, db = make_codes(seed, draw_n_bits(config, data, n_bytes), 5, n_db, 6)
    index = backend_index(config).fit(db)
    distances, indices = index.radius_neighbors(query, radius=radius)
    ref_distances, ref_indices = brute_force(query, db)
    assert distances.dtype == object and distances.shape == (5,)
    for row in range(5):
        keep = ref_distances[row] <= radius
        np.testing.assert_array_equal(distances[row], ref_distances[row][keep])
        np.testing.assert_array_equal(indices[row], ref_indices[row][keep])


def test_kneighbors_odd_lengths_and_formats():
    query, db = make_codes(0, 13, 6, 50, 5)
    ref_distances, ref_indices = brute_force(query, db)
    for fmt in ["bits", "signed", "packed"]:
        index = HammingIndex(code_format=fmt, n_bits=13).fit(convert_codes(db, fmt))
        distances, indices = index.kneighbors(convert_codes(query, fmt), n_neighbors=9)
        np.testing.assert_array_equal(indices, ref_indices[:, :9])
        np.testing.assert_array_equal(distances, ref_distances[:, :9])
        assert index.codes_.shape == (50, 2) and index.codes_.dtype == np.uint8


def test_faiss_big_tie_groups_fall_back_exactly():
    pytest.importorskip("faiss")
    query, db = make_codes(1, 64, 20, 3000, 2)  # only 4 distinct codes: huge tie groups
    distances, indices = HammingIndex(backend="faiss").fit(db).kneighbors(query, 25)
    ref_distances, ref_indices = brute_force(query, db)
    np.testing.assert_array_equal(indices, ref_indices[:, :25])
    np.testing.assert_array_equal(distances, ref_distances[:, :25])


@pytest.mark.parametrize("config", list(CONFIGS))
def test_joblib_round_trip(config, tmp_path):
    query, db = make_codes(2, 32, 4, 60, 10)
    index = backend_index(config).fit(db)
    before = index.kneighbors(query, 5)  # builds the faiss index, which must not be pickled
    joblib.dump(index, tmp_path / "index.joblib")
    loaded = joblib.load(tmp_path / "index.joblib")
    after = loaded.kneighbors(query, 5)
    np.testing.assert_array_equal(before[1], after[1])
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(loaded.codes_, index.codes_)


def test_faiss_rejects_lengths_not_multiple_of_8():
    pytest.importorskip("faiss")
    with pytest.raises(ValueError, match="multiple of 8"):
        HammingIndex(backend="faiss").fit(np.zeros((3, 12), np.uint8))


def test_missing_faiss_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_faiss(name, *args, **kwargs):
        if name == "faiss":
            raise ImportError("no faiss")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_faiss)
    with pytest.raises(ImportError, match=r"sklearn-xmh\[faiss\]"):
        HammingIndex(backend="faiss").fit(np.zeros((3, 8), np.uint8))


def test_bad_input_errors():
    db = np.zeros((5, 16), np.uint8)
    index = HammingIndex().fit(db)
    with pytest.raises(ValueError, match="n_neighbors"):
        index.kneighbors(db, n_neighbors=6)
    with pytest.raises(ValueError, match="n_neighbors"):
        index.kneighbors(db, n_neighbors=0)
    with pytest.raises(ValueError, match="radius"):
        index.radius_neighbors(db, radius=-1)
    with pytest.raises(ValueError, match="query codes have 8 bits, expected n_bits=16"):
        index.kneighbors(np.zeros((2, 8), np.uint8))
    with pytest.raises(ValueError, match="2D array"):
        index.kneighbors(np.zeros(16, np.uint8))
    with pytest.raises(ValueError, match="only 0 and 1"):
        HammingIndex(code_format="bits").fit(np.full((2, 8), 3, np.uint8))
    with pytest.raises(ValueError, match="backend"):
        HammingIndex(backend="annoy").fit(db)
    with pytest.raises(ValueError, match="minimum of 1"):
        HammingIndex().fit(np.zeros((0, 8), np.uint8))


def test_unfitted_index_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        HammingIndex().kneighbors(np.zeros((1, 8), np.uint8))


def clustered_codes(n, n_bits=64, n_centres=300, flips=3, seed=0):
    """Codes drawn around random centres with a few bits flipped, as a fitted hasher's are."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 2, (n_centres, n_bits), dtype=np.uint8)
    codes = centres[rng.integers(0, n_centres, n)]
    rows = np.repeat(np.arange(n), flips)
    codes[rows, rng.integers(0, n_bits, n * flips)] ^= 1
    return codes


def test_auto_takes_mih_for_clustered_codes_and_brute_for_random_ones():
    clustered = clustered_codes(120_000)
    index = HammingIndex().fit(clustered)
    assert index.algorithm_ == "mih" and index.n_substrings_ >= 3
    queries = clustered_codes(40, seed=1)
    brute = HammingIndex(algorithm="brute").fit(clustered)
    for got, expected in zip(index.kneighbors(queries, 10), brute.kneighbors(queries, 10)):
        np.testing.assert_array_equal(got, expected)
    for got, expected in zip(
        index.radius_neighbors(queries, radius=3), brute.radius_neighbors(queries, radius=3)
    ):
        for a, b in zip(got, expected):
            np.testing.assert_array_equal(a, b)
    random = np.random.default_rng(2).integers(0, 2, (120_000, 64), dtype=np.uint8)
    assert HammingIndex().fit(random).algorithm_ == "brute"
    assert HammingIndex().fit(clustered[:5000]).algorithm_ == "brute"  # too small to pay


@pytest.mark.parametrize("config", ["brute", "mih", "mih-5"])
def test_duplicates_single_items_and_the_whole_database(config):
    db = np.array([[1, 0, 1], [1, 0, 1], [0, 0, 0], [1, 0, 1]], dtype=np.uint8)
    index = backend_index(config).fit(db)
    distances, indices = index.kneighbors(np.array([[1, 0, 1]], dtype=np.uint8), 4)
    np.testing.assert_array_equal(indices, [[0, 1, 3, 2]])
    np.testing.assert_array_equal(distances, [[0, 0, 0, 2]])
    one = backend_index(config).fit(db[:1])
    np.testing.assert_array_equal(one.kneighbors(db, 1)[1], [[0], [0], [0], [0]])
    with pytest.raises(ValueError, match="n_neighbors must be in"):
        one.kneighbors(db, 2)


def test_n_jobs_gives_the_same_neighbours():
    query, db = make_codes(3, 64, 30, 5000, 20)
    results = [HammingIndex(n_jobs=n_jobs).fit(db).kneighbors(query, 7) for n_jobs in (1, -1)]
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_faiss_runs_brute_force_only():
    pytest.importorskip("faiss")
    with pytest.raises(ValueError, match="brute-force search only"):
        HammingIndex(algorithm="mih", backend="faiss").fit(np.zeros((3, 8), np.uint8))
