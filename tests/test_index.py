"""HammingIndex against brute force, on both backends."""

import joblib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_xmh.neighbors import HammingIndex
from sklearn_xmh.utils._codes import convert_codes


def backend_index(backend, **params):
    if backend == "faiss":
        pytest.importorskip("faiss")
    return HammingIndex(backend=backend, **params)


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


@pytest.mark.parametrize("backend", ["numpy", "faiss"])
@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_bytes=st.integers(1, 16),
    n_db=st.integers(1, 120),
    n_active=st.integers(1, 12),
    data=st.data(),
)
def test_kneighbors_matches_brute_force(backend, seed, n_bytes, n_db, n_active, data):
    query, db = make_codes(seed, 8 * n_bytes, 7, n_db, n_active)
    k = data.draw(st.integers(1, n_db))
    index = backend_index(backend).fit(db)
    distances, indices = index.kneighbors(query, n_neighbors=k)
    ref_distances, ref_indices = brute_force(query, db)
    np.testing.assert_array_equal(distances, ref_distances[:, :k])
    np.testing.assert_array_equal(indices, ref_indices[:, :k])
    np.testing.assert_array_equal(index.kneighbors(query, k, return_distance=False), indices)


@pytest.mark.parametrize("backend", ["numpy", "faiss"])
@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_bytes=st.integers(1, 8),
    n_db=st.integers(1, 80),
    radius=st.integers(0, 6),
)
def test_radius_neighbors_matches_brute_force(backend, seed, n_bytes, n_db, radius):
    query, db = make_codes(seed, 8 * n_bytes, 5, n_db, 6)
    index = backend_index(backend).fit(db)
    distances, indices = index.radius_neighbors(query, radius=radius)
    ref_distances, ref_indices = brute_force(query, db)
    assert distances.dtype == object and distances.shape == (5,)
    for row in range(5):
        keep = ref_distances[row] <= radius
        np.testing.assert_array_equal(distances[row], ref_distances[row][keep])
        np.testing.assert_array_equal(indices[row], ref_indices[row][keep])


def test_kneighbors_numpy_odd_lengths_and_formats():
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


@pytest.mark.parametrize("backend", ["numpy", "faiss"])
def test_joblib_round_trip(backend, tmp_path):
    query, db = make_codes(2, 32, 4, 60, 10)
    index = backend_index(backend).fit(db)
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
    with pytest.raises(ValueError, match="expecting 16 features"):
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
