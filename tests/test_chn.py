"""CHN: its loss against direct computations, labels (required, class ids or multi-hot, routed as
metadata), and the memory bank."""

import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_xmh import CHNHasher
from sklearn_xmh.metrics import hamming_map_scorer
from sklearn_xmh.nn import CHNLoss, cosine_max_margin, label_similarity, quantization_loss

from .conftest import FAST_PARAMS


def fast_chn(**params):
    return CHNHasher(**{**FAST_PARAMS["chn"], "random_state": 0, **params})


def _cosines(A, B):
    A = A / np.linalg.norm(A, axis=1, keepdims=True)
    B = B / np.linalg.norm(B, axis=1, keepdims=True)
    return A @ B.T


def test_label_similarity_is_plus_one_for_shared_labels():
    labels = torch.tensor([[1.0, 0, 0], [1, 1, 0], [0, 0, 1]])
    expected = [[1, 1, -1], [1, 1, -1], [-1, -1, 1]]
    np.testing.assert_array_equal(label_similarity(labels, labels).numpy(), expected)


def test_cosine_max_margin_matches_numpy_and_turns_off_past_the_margin():
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal((5, 8)), rng.standard_normal((6, 8))
    S = np.where(rng.random((5, 6)) < 0.3, 1.0, -1.0)
    expected = np.maximum(0, 0.5 - S * _cosines(u, v)).mean()
    got = cosine_max_margin(torch.as_tensor(u), torch.as_tensor(v), torch.as_tensor(S), 0.5)
    np.testing.assert_allclose(float(got), expected, rtol=1e-10)
    # A similar pair already closer than the margin costs nothing (the hinge is not squared).
    same = torch.ones(1, 4)
    assert float(cosine_max_margin(same, same, torch.ones(1, 1), 0.5)) == 0.0
    assert float(cosine_max_margin(same, -same, torch.ones(1, 1), 0.5)) == pytest.approx(1.5)


def test_balanced_weighting_gives_similar_and_dissimilar_pairs_half_each():
    rng = np.random.default_rng(1)
    u, v = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    S = -np.ones((4, 4))
    S[0, 0] = S[1, 2] = 1.0
    hinge = np.maximum(0, 0.3 - S * _cosines(u, v))
    expected = 0.5 * hinge[S > 0].mean() + 0.5 * hinge[S < 0].mean()
    tensors = [torch.as_tensor(a) for a in (u, v, S)]
    got = cosine_max_margin(*tensors, 0.3, balanced=True)
    np.testing.assert_allclose(float(got), expected, rtol=1e-10)
    # With one kind of pair only, it is the plain mean.
    all_similar = torch.ones(4, 4, dtype=torch.float64)
    np.testing.assert_allclose(
        float(cosine_max_margin(*tensors[:2], all_similar, 0.3, balanced=True)),
        float(cosine_max_margin(*tensors[:2], all_similar, 0.3)),
    )


def test_quantization_loss_is_the_cosine_to_the_all_ones_vector():
    rng = np.random.default_rng(2)
    u = rng.uniform(-1, 1, (7, 16))
    cos = np.abs(u).sum(1) / (np.linalg.norm(u, axis=1) * 4.0)
    expected = np.maximum(0, 0.9 - cos).mean()
    np.testing.assert_allclose(float(quantization_loss(torch.as_tensor(u), 0.9)), expected)
    # Codes at +-1 have cos(|u|, 1) = 1: nothing to push.
    signs = torch.as_tensor(np.sign(u))
    assert float(quantization_loss(signs, 0.99)) == 0.0


def test_chn_loss_adds_the_weighted_quantization_of_both_views():
    rng = np.random.default_rng(3)
    u, v = (torch.as_tensor(rng.uniform(-1, 1, (6, 8))) for _ in range(2))
    labels = torch.as_tensor(np.eye(3)[[0, 0, 1, 1, 2, 2]])
    loss = CHNLoss(margin=0.4, quantization_margin=0.95, quantization_weight=0.7, balanced=False)(
        (u, v), labels
    )
    expected = cosine_max_margin(u, v, label_similarity(labels, labels), 0.4) + 0.7 * (
        quantization_loss(u, 0.95) + quantization_loss(v, 0.95)
    )
    np.testing.assert_allclose(float(loss), float(expected))
    # With a bank, each batch view is compared with every bank item of the other view.
    U, V = (
        torch.as_tensor(rng.uniform(-1, 1, (10, 8))),
        torch.as_tensor(rng.uniform(-1, 1, (10, 8))),
    )
    bank_labels = torch.as_tensor(np.eye(3)[rng.integers(0, 3, 10)])
    S = label_similarity(labels, bank_labels)
    with_bank = CHNLoss(
        margin=0.4, quantization_margin=0.95, quantization_weight=0.7, balanced=False
    )((u, v), labels, bank=(U, V, bank_labels))
    expected = 0.5 * (cosine_max_margin(u, V, S, 0.4) + cosine_max_margin(v, U, S, 0.4)) + 0.7 * (
        quantization_loss(u, 0.95) + quantization_loss(v, 0.95)
    )
    np.testing.assert_allclose(float(with_bank), float(expected))


def test_fit_without_labels_is_a_clear_error_and_keeps_the_model(data, assert_same_state):
    hasher = fast_chn().fit(data.X_image, data.X_text, labels=data.labels)
    before = (hasher.transform(data.X_image), hasher.transform_text(data.X_text))
    with pytest.raises(ValueError, match="CHNHasher is supervised and requires labels"):
        hasher.fit(data.X_image, data.X_text)
    with pytest.raises(ValueError, match="labels has 239 rows but the views have 240"):
        hasher.fit(data.X_image, data.X_text, labels=data.labels[:-1])
    assert_same_state(hasher, data, before)


def test_class_ids_and_their_one_hot_matrix_train_the_same_model(data):
    ids = np.argmax(data.labels, axis=1) + 5
    one_hot = np.eye(ids.max() + 1)[ids]
    by_ids = fast_chn().fit(data.X_image, data.X_text, labels=ids)
    by_matrix = fast_chn().fit(data.X_image, data.X_text, labels=one_hot)
    np.testing.assert_array_equal(by_ids.transform(data.X_image), by_matrix.transform(data.X_image))


def test_labels_make_the_codes_retrieve_by_class(data):
    hasher = fast_chn(n_bits=16, max_epochs=30, hidden_layer_sizes=(64,))
    hasher.fit(data.X_image, data.X_text, labels=data.labels)
    with_labels = hasher.score(data.X_image, data.X_text, labels=data.labels)
    chance = hamming_map_scorer()(
        fast_chn().fit(data.X_image, data.X_text, labels=np.zeros(240)),
        data.X_image,
        data.X_text,
        labels=data.labels,
    )
    assert with_labels > chance + 0.1, (with_labels, chance)


def test_memory_bank_refreshes_the_rows_of_each_batch(data):
    hasher = fast_chn(memory_bank=True, max_epochs=1).fit(
        data.X_image, data.X_text, labels=data.labels
    )
    net = hasher.net_
    assert not hasattr(net, "_bank")  # training state only
    codes = torch.zeros(240, 8), torch.zeros(240, 8)
    net._bank = (*codes, torch.as_tensor(data.labels, dtype=torch.float32))
    batch = {"index": torch.tensor([3, 7])}
    y_pred = torch.ones(2, 8), -torch.ones(2, 8)
    loss = net.get_loss(y_pred, torch.as_tensor(data.labels[[3, 7]]), X=batch, training=True)
    assert torch.isfinite(loss)
    np.testing.assert_array_equal(codes[0][[3, 7]].numpy(), 1.0)
    np.testing.assert_array_equal(codes[1][[3, 7]].numpy(), -1.0)
    assert float(codes[0][[0, 1, 2, 4]].abs().sum()) == 0.0


def test_grid_search_routes_labels_to_fit_and_score(data):
    cv = KFold(2, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        hasher = fast_chn().set_fit_request(labels=True).set_score_request(labels=True)
        search = GridSearchCV(hasher, {"n_bits": [8, 16]}, cv=cv, refit=True)
        search.fit(data.X_image, data.X_text, labels=data.labels)
        # The hasher's own score must have received the labels: a scorer that insists on them
        # gives the same numbers.
        strict = hamming_map_scorer(relevance="labels").set_score_request(labels=True)
        checked = GridSearchCV(hasher, {"n_bits": [8, 16]}, cv=cv, scoring=strict)
        checked.fit(data.X_image, data.X_text, labels=data.labels)
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], checked.cv_results_["mean_test_score"]
    )
    assert search.best_estimator_.transform(data.X_image).shape[1] == search.best_params_["n_bits"]


def test_grid_search_without_routed_labels_says_what_is_missing(data):
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(fast_chn(), {"n_bits": [8]}, cv=2, error_score="raise")
        with pytest.raises(ValueError, match="requires labels"):
            search.fit(data.X_image, data.X_text)
