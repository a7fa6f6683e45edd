"""Dataset generators and loaders."""

import numpy as np
import pytest

from sklearn_xmh.datasets import load_mat_dataset, make_cross_modal

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
    data = load_mat_dataset(shared_file("uci_multifeature", "uci_all.mat"), image_key="P")
    assert data.X_image_train.shape == (1500, 240) and data.X_text_train.shape == (1500, 64)


def test_load_mat_dataset_errors(tmp_path):
    from scipy.io import savemat

    with pytest.raises(FileNotFoundError, match="No such dataset file"):
        load_mat_dataset(tmp_path / "missing.mat")
    savemat(tmp_path / "other.mat", {"X": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="missing keys \\['I_tr'"):
        load_mat_dataset(tmp_path / "other.mat")
