"""Secure persistence with skops: every estimator, encoder and index round-trips with identical
results from exactly the trusted types the library lists; pickle keeps the training net."""

import pickle

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from torch import nn

from sklearn_xmh import DBRCHasher, HammingIndex, trusted_types

from .conftest import FAST_PARAMS, fast_estimators
from .test_custom_towers import TinyCNN

sio = pytest.importorskip("skops.io")

ESTIMATORS = fast_estimators()
IDS = [type(est).__name__ for est in ESTIMATORS]


@pytest.fixture(scope="module")
def fitted(data):
    return [clone(est).fit(data.X_image, data.X_text, labels=data.labels) for est in ESTIMATORS]


@pytest.mark.parametrize("index", range(len(ESTIMATORS)), ids=IDS)
def test_skops_round_trip_of_hasher_and_encoders_gives_identical_codes(index, fitted, data):
    hasher = fitted[index]
    loaded = sio.loads(sio.dumps(hasher), trusted=trusted_types())
    np.testing.assert_array_equal(loaded.transform(data.X_image), hasher.transform(data.X_image))
    np.testing.assert_array_equal(
        loaded.transform_text(data.X_text), hasher.transform_text(data.X_text)
    )
    for name, X in (("image_encoder_", data.X_image), ("text_encoder_", data.X_text)):
        encoder = getattr(hasher, name)
        alone = sio.loads(sio.dumps(encoder), trusted=trusted_types())
        np.testing.assert_array_equal(alone.transform(X), encoder.transform(X))


@pytest.mark.parametrize(
    "params", [{"algorithm": "brute"}, {"algorithm": "mih"}, {"backend": "faiss"}]
)
def test_skops_round_trip_of_hamming_index(params):
    if params.get("backend") == "faiss":
        pytest.importorskip("faiss")
    rng = np.random.default_rng(0)
    codes, queries = rng.integers(0, 2, (300, 32)), rng.integers(0, 2, (20, 32))
    index = HammingIndex(**params).fit(codes)
    expected = index.kneighbors(queries, n_neighbors=7)
    expected_radius = index.radius_neighbors(queries, radius=12)
    loaded = sio.loads(sio.dumps(index), trusted=trusted_types())
    assert loaded.algorithm_ == index.algorithm_
    for got, want in zip(loaded.kneighbors(queries, n_neighbors=7), expected):
        np.testing.assert_array_equal(got, want)
    # The hash tables are not stored: the loaded index rebuilds them and finds the same codes.
    for got, want in zip(loaded.radius_neighbors(queries, radius=12), expected_radius):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


def test_trusted_types_are_exactly_what_the_library_needs(fitted, data):
    rng = np.random.default_rng(0)
    with_tower = clone(ESTIMATORS[1]).set_params(
        text_module=nn.Linear, text_module__in_features=12, text_module__out_features=4
    )
    objects = [
        *fitted,
        *(h.image_encoder_ for h in fitted),
        *(h.text_encoder_ for h in fitted),
        HammingIndex().fit(rng.integers(0, 2, (10, 8))),
        with_tower.fit(data.X_image, data.X_text, labels=data.labels),
        # DBRC's optional batch normalisation in front of ATanh.
        DBRCHasher(**FAST_PARAMS["dbrc"], hash_batch_norm=True).fit(data.X_image, data.X_text),
        # A sparse text view: its towers start with SparseLinear (and SparseDropout).
        clone(ESTIMATORS[1])
        .set_params(text_dropout=0.1)
        .fit(data.X_image, sparse.csr_matrix(np.abs(data.X_text)), labels=data.labels),
    ]
    needed = set()
    for obj in objects:
        needed.update(sio.get_untrusted_types(data=sio.dumps(obj)))
    assert needed == set(trusted_types())


def test_a_custom_module_class_must_be_trusted_by_the_user(data):
    images = data.X_image.reshape(-1, 1, 5, 4)
    hasher = clone(ESTIMATORS[1]).set_params(image_module=TinyCNN)
    hasher.fit(images, data.X_text, labels=data.labels)
    blob = sio.dumps(hasher)
    with pytest.raises(Exception, match="TinyCNN"):
        sio.loads(blob, trusted=trusted_types())
    extra = [t for t in sio.get_untrusted_types(data=blob) if t not in trusted_types()]
    assert any(t.endswith("TinyCNN") for t in extra)
    loaded = sio.loads(blob, trusted=trusted_types() + extra)
    np.testing.assert_array_equal(loaded.transform(images), hasher.transform(images))


@pytest.mark.parametrize(
    "index",
    [i for i, est in enumerate(ESTIMATORS) if "warm_start" in est.get_params()],
    ids=[id_ for id_, est in zip(IDS, ESTIMATORS) if "warm_start" in est.get_params()],
)
def test_skops_leaves_out_the_training_net_and_pickle_keeps_it(index, fitted, data):
    hasher = fitted[index]
    from_skops = sio.loads(sio.dumps(hasher), trusted=trusted_types())
    assert not hasattr(from_skops, "net_")
    assert len(from_skops.history_) == len(hasher.history_)
    assert from_skops.history_[-1, "epoch"] == hasher.history_[-1, "epoch"]
    from_pickle = pickle.loads(pickle.dumps(hasher))
    assert hasattr(from_pickle, "net_")
    # Without the net, warm_start trains afresh; with it, training continues.
    epochs = len(hasher.history_)
    from_skops.set_params(warm_start=True).fit(data.X_image, data.X_text, labels=data.labels)
    from_pickle.set_params(warm_start=True).fit(data.X_image, data.X_text, labels=data.labels)
    assert len(from_skops.history_) == epochs
    assert len(from_pickle.history_) == 2 * epochs
