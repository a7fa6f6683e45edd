"""Dataset generators and loaders."""

import numpy as np
import pytest

from sklearn_xmh.datasets import load_mat_dataset, make_cross_modal, split_query_database

from .conftest import shared_file


def test_make_cross_modal_is_seeded_and_multi_hot():
    first = make_cross_modal(n_samples=50, n_classes=6, max_labels=3, random_state=3)
    second = make_cross_modal(n_samples=50, n_classes=6, max_labels=3, random_state=3)
    np.testing.assert_array_equal(first.X_text, second.X_text)
    counts = first.labels.sum(axis=1)
    assert counts.min() >= 1 and counts.max() <= 3 and first.labels.shape == (50, 6)
    assert first.X_image.dtype == np.float32 and np.all(first.X_text >= 0)


def test_make_cross_modal_views_share_semantics():
    # Samples with the same labels are closer in each view than samples with disjoint labels.
    data = make_cross_modal(n_samples=400, max_labels=1, noise=0.5, random_state=0)
    ids = data.labels.argmax(axis=1)
    for X in (data.X_image, data.X_text):
        centroids = np.stack([X[ids == c].mean(axis=0) for c in range(10)])
        nearest = ((X[:, None, :] - centroids[None]) ** 2).sum(axis=2).argmin(axis=1)
        assert (nearest == ids).mean() > 0.8


def test_load_wiki():
    data = load_mat_dataset(shared_file("wiki", "wikiData.mat"))
    assert data.X_image_train.shape == (2173, 128) and data.X_text_query.shape == (693, 10)
    assert set(np.unique(data.labels_train)) == set(range(1, 11))


def test_load_uci_with_pixel_view():
    data = load_mat_dataset(
        shared_file("uci_multifeature", "uci_all.mat"), layout="uci", image_view="P"
    )
    assert data.X_image_train.shape == (1500, 240) and data.X_text_train.shape == (1500, 64)


def test_load_mat_dataset_errors(tmp_path):
    from scipy.io import savemat

    with pytest.raises(FileNotFoundError, match="No such dataset file"):
        load_mat_dataset(tmp_path / "missing.mat")
    savemat(tmp_path / "other.mat", {"X": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="missing keys \\['I_tr'"):
        load_mat_dataset(tmp_path / "other.mat")


def test_load_mat_dataset_rejects_an_unknown_layout(tmp_path):
    with pytest.raises(ValueError, match="'layout' parameter"):
        load_mat_dataset(tmp_path / "x.mat", layout="coco")


def _write_v73(path, variables):
    """A MATLAB v7.3 file: HDF5 with a 512-byte header and column-major (transposed) arrays."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, value in variables.items():
            f[name] = np.asarray(value).T
    with open(path, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: test HDF5 schema 1.00 .")


def test_dcmh_layout_from_any_file_or_prefix_with_a_v73_image_file(tmp_path):
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    images, texts = rng.random((30, 6)), rng.integers(0, 2, (30, 9))
    labels = rng.integers(0, 2, (30, 4))
    _write_v73(tmp_path / "toy-iall.mat", {"IAll": images})
    savemat(tmp_path / "toy-yall.mat", {"YAll": texts})
    savemat(tmp_path / "toy-lall.mat", {"LAll": labels})
    for path in ("toy-yall.mat", "toy-iall.mat", "toy"):
        data = load_mat_dataset(tmp_path / path)
        np.testing.assert_allclose(data.X_image, images.astype(np.float32))
        np.testing.assert_array_equal(data.X_text, texts)
        np.testing.assert_array_equal(data.labels, labels)
        assert data.name == "toy"


def test_dcmh_layout_on_the_shared_mirflickr_text_and_labels(tmp_path):
    yall = shared_file("mirflickr25k_text", "mirflickr25k-yall.mat")
    shared_file("mirflickr25k_text", "mirflickr25k-lall.mat")
    # No image features are shared: without them the error says what is missing and how to
    # give them.
    with pytest.raises(FileNotFoundError, match="mirflickr25k-iall.mat.*image_path="):
        load_mat_dataset(yall)
    features = tmp_path / "features.mat"
    _write_v73(features, {"IAll": np.zeros((20015, 3))})
    data = load_mat_dataset(yall, image_path=features)
    assert data.X_text.shape == (20015, 1386) and data.labels.shape == (20015, 24)
    assert data.X_image.shape == (20015, 3)


def test_split_query_database_follows_the_dcmh_protocol():
    labels = _mirflickr_labels()
    data = {"X_image": np.arange(len(labels))[:, None], "X_text": labels, "labels": labels}
    split = split_query_database(data, random_state=0)
    query, database, train = split.index_query, split.index_database, split.index_train
    assert (len(query), len(database), len(train)) == (2000, len(labels) - 2000, 10000)
    assert np.intersect1d(query, database).size == 0
    assert np.union1d(query, database).size == len(labels)
    assert np.isin(train, database).all() and np.unique(train).size == train.size
    np.testing.assert_array_equal(split.X_image_train[:, 0], train)
    np.testing.assert_array_equal(split.labels_query, labels[query])
    again = split_query_database(data, random_state=0)
    np.testing.assert_array_equal(again.index_train, train)
    other = split_query_database(data, random_state=1)
    assert not np.array_equal(other.index_query, query)


def test_split_query_database_errors():
    data = make_cross_modal(n_samples=100, random_state=0)
    with pytest.raises(ValueError, match="n_query=100 leaves no database"):
        split_query_database(data, n_query=100)
    with pytest.raises(ValueError, match="n_train=90 is larger than the database \\(80 pairs"):
        split_query_database(data, n_query=20, n_train=90)
    whole = split_query_database(data, n_query=20, n_train=None, random_state=0)
    np.testing.assert_array_equal(whole.index_train, whole.index_database)


def _mirflickr_labels():
    from scipy.io import loadmat

    path = shared_file("mirflickr25k_text", "mirflickr25k-lall.mat")
    return loadmat(path)["LAll"]
