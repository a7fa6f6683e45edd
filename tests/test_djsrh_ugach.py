"""DJSRH and UGACH pieces against direct computations: affinity, loss, alpha schedule, graph,
hinge and reward, the adversarial net's two players."""

import pickle

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sklearn_xmh.djsrh import DJSRHHasher
from sklearn_xmh.neighbors import correlation_graph
from sklearn_xmh.nn import (
    DJSRHAlphaSchedule,
    DJSRHLoss,
    joint_semantics_affinity,
    policy_gradient_loss,
    triplet_hinge,
)
from sklearn_xmh.ugach import UGACHHasher

from .conftest import FAST_PARAMS


def fast_djsrh(**params):
    return DJSRHHasher(**{**FAST_PARAMS["djsrh"], "random_state": 0, **params})


def fast_ugach(**params):
    return UGACHHasher(**{**FAST_PARAMS["ugach"], "random_state": 0, **params})


def _numpy_affinity(image, text, beta, eta, mu):
    def cosine(A):
        A = A / np.linalg.norm(A, axis=1, keepdims=True)
        return A @ A.T

    S_tilde = beta * (2 * cosine(image) - 1) + (1 - beta) * (2 * cosine(text) - 1)
    m = image.shape[0]
    return mu * ((1 - eta) * S_tilde + eta * S_tilde @ S_tilde.T / m)


# ---- DJSRH ----


def test_joint_semantics_affinity_matches_numpy():
    rng = np.random.default_rng(0)
    image, text = rng.standard_normal((7, 5)), rng.random((7, 3))
    S = joint_semantics_affinity(
        torch.as_tensor(image), torch.as_tensor(text), beta=0.3, eta=0.4, mu=1.5
    )
    np.testing.assert_allclose(S.numpy(), _numpy_affinity(image, text, 0.3, 0.4, 1.5), rtol=1e-10)
    assert S.shape == (7, 7)
    np.testing.assert_allclose(S.numpy(), S.numpy().T, atol=1e-12)


def test_djsrh_loss_is_the_three_weighted_reconstruction_terms():
    rng = np.random.default_rng(1)
    image, text = rng.random((6, 4)), rng.random((6, 3))
    codes_image, codes_text = rng.uniform(-1, 1, (6, 8)), rng.uniform(-1, 1, (6, 8))
    loss = DJSRHLoss(beta=0.6, eta=0.2, mu=1.2, intra_image_weight=0.1, intra_text_weight=0.7)(
        (torch.as_tensor(codes_image), torch.as_tensor(codes_text)),
        None,
        {"image": torch.as_tensor(image), "text": torch.as_tensor(text)},
    )
    S = _numpy_affinity(image, text, 0.6, 0.2, 1.2)
    B_image = codes_image / np.linalg.norm(codes_image, axis=1, keepdims=True)
    B_text = codes_text / np.linalg.norm(codes_text, axis=1, keepdims=True)

    def mse(A):
        return np.mean((A - S) ** 2)

    expected = (
        0.1 * mse(B_image @ B_image.T) + mse(B_image @ B_text.T) + 0.7 * mse(B_text @ B_text.T)
    )
    np.testing.assert_allclose(float(loss), expected, rtol=1e-10)


class _RecordAlpha(Callback):
    def initialize(self):
        self.alphas = []
        return self

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            self.alphas.append(float(net.module_.alpha))


def test_alpha_schedule_is_sqrt_epoch_plus_one_and_continues_on_warm_start(data):
    hasher = fast_djsrh(
        max_epochs=3, batch_size=240, warm_start=True, callbacks=[("alpha", _RecordAlpha())]
    )
    hasher.fit(data.X_image, data.X_text)
    alphas = dict(hasher.net_.callbacks_)["alpha"].alphas
    np.testing.assert_allclose(alphas, np.sqrt([1, 2, 3]))
    hasher.fit(data.X_image, data.X_text)
    np.testing.assert_allclose(
        dict(hasher.net_.callbacks_)["alpha"].alphas[-3:], np.sqrt([4, 5, 6])
    )
    assert isinstance(dict(hasher.net_.callbacks_)["alpha_schedule"], DJSRHAlphaSchedule)


def test_djsrh_towers_have_their_own_learning_rates_in_sgd(data):
    hasher = fast_djsrh(
        image_learning_rate=0.05, text_learning_rate=0.002, momentum=0.8, weight_decay=1e-3
    )
    net = hasher.fit(data.X_image, data.X_text).net_
    optimizer = net.optimizer_
    assert isinstance(optimizer, torch.optim.SGD)
    image_params = {id(p) for p in net.module_.image_net.parameters()}
    text_params = {id(p) for p in net.module_.text_net.parameters()}
    lrs = {}
    for group in optimizer.param_groups:
        ids = {id(p) for p in group["params"]}
        assert group["momentum"] == 0.8 and group["weight_decay"] == 1e-3
        lrs["image" if ids == image_params else "text" if ids == text_params else "?"] = group["lr"]
    assert lrs == {"image": 0.05, "text": 0.002}


def test_djsrh_drops_the_last_short_batch_unless_it_is_the_only_one(data):
    hasher = fast_djsrh(batch_size=100, max_epochs=1).fit(data.X_image, data.X_text)
    assert hasher.history_[-1, "train_batch_count"] == 2
    hasher = fast_djsrh(batch_size=500, max_epochs=1).fit(data.X_image, data.X_text)
    assert hasher.history_[-1, "train_batch_count"] == 1


def test_djsrh_codes_are_the_signs_of_the_scaled_tanh(data):
    hasher = fast_djsrh(max_epochs=3).fit(data.X_image, data.X_text)
    module = hasher.net_.module_
    image = torch.as_tensor(hasher.image_preprocessor_.transform(data.X_image))
    text = torch.as_tensor(hasher.text_preprocessor_.transform(data.X_text))
    with torch.no_grad():
        relaxed_image, relaxed_text = module(image.float(), text.float())
    np.testing.assert_array_equal(hasher.transform(data.X_image), (relaxed_image >= 0).numpy())
    np.testing.assert_array_equal(hasher.transform_text(data.X_text), (relaxed_text >= 0).numpy())


# ---- UGACH: graph ----


def _brute_force_neighbors(X, k):
    distances = ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2)
    return np.argsort(distances, axis=1, kind="stable")[:, :k]


def test_correlation_graph_matches_brute_force():
    rng = np.random.default_rng(0)
    X_image, X_text = rng.standard_normal((50, 6)), rng.standard_normal((50, 4))
    neighbors, n_distinct = correlation_graph(X_image, X_text, n_neighbors=4, block_size=7)
    expected_image = _brute_force_neighbors(X_image, 4)
    expected_text = _brute_force_neighbors(X_text, 4)
    assert neighbors.shape == (50, 8) and neighbors.dtype == np.int64
    for i in range(50):
        expected = set(expected_image[i]) | set(expected_text[i])
        row = neighbors[i]
        assert n_distinct[i] == len(expected)
        assert list(row[: n_distinct[i]]) == sorted(expected)
        assert set(row) == expected  # the padding repeats a neighbour
        assert i in expected


def test_correlation_graph_keeps_each_item_despite_exact_duplicates():
    X = np.zeros((6, 3))
    neighbors, n_distinct = correlation_graph(X, X, n_neighbors=2)
    assert all(i in neighbors[i, : n_distinct[i]] for i in range(6))


def test_correlation_graph_clips_k_to_the_number_of_items():
    neighbors, n_distinct = correlation_graph(np.eye(3), np.eye(3), n_neighbors=10)
    assert neighbors.shape == (3, 6)
    np.testing.assert_array_equal(n_distinct, [3, 3, 3])


# ---- UGACH: losses ----


def test_triplet_hinge_and_reward_shapes_and_values():
    query = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    positive = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    negative = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    hinge = triplet_hinge(query, positive, negative, margin=0.5)
    # d(q, p) = 1, d(q, n) = 2: 0.5 + 1 - 2 < 0; second: 0.5 + 0 - 2 < 0.
    np.testing.assert_allclose(hinge.numpy(), [0.0, 0.0])
    hinge = triplet_hinge(query, negative, positive, margin=0.5)
    np.testing.assert_allclose(hinge.numpy(), [1.5, 2.5])
    reward = torch.sigmoid(hinge)
    assert reward.shape == (2,) and bool(((reward >= 0.5) & (reward < 1)).all())


def test_policy_gradient_raises_the_probability_of_rewarded_samples():
    logits = torch.zeros(1, 4, requires_grad=True)
    log_p = torch.log_softmax(logits, dim=1)[:, 2]
    policy_gradient_loss(log_p, torch.tensor([0.9])).backward()
    assert logits.grad[0, 2] < 0 and bool((logits.grad[0, [0, 1, 3]] > 0).all())


# ---- UGACH: the adversarial net ----


def test_ugach_two_players_have_separate_optimizers(data):
    net = (
        fast_ugach(learning_rate=0.02, generator_learning_rate=0.3)
        .fit(data.X_image, data.X_text)
        .net_
    )
    discriminator = {id(p) for p in net.module_.parameters()}
    generator = {id(p) for p in net.generator_.parameters()}
    assert not discriminator & generator
    assert {id(p) for g in net.optimizer_.param_groups for p in g["params"]} == discriminator
    assert {id(p) for g in net.optimizer_generator_.param_groups for p in g["params"]} == generator
    assert net.optimizer_.param_groups[0]["lr"] == 0.02
    assert net.optimizer_generator_.param_groups[0]["lr"] == 0.3
    assert isinstance(net.optimizer_generator_, torch.optim.SGD)


def test_ugach_net_set_params_reinitialises_the_generator(data):
    hasher = fast_ugach().fit(data.X_image, data.X_text)
    net = hasher.net_
    net.set_params(generator__hidden_layer_sizes=(5,))
    assert net.generator_.image_net[0].out_features == 5
    net.set_params(optimizer_generator__lr=0.123)
    assert net.optimizer_generator_.param_groups[0]["lr"] == 0.123


def test_ugach_net_pickles_with_both_players(data):
    hasher = fast_ugach().fit(data.X_image, data.X_text)
    net = pickle.loads(pickle.dumps(hasher.net_))
    for name in ("module_", "generator_"):
        for a, b in zip(getattr(net, name).parameters(), getattr(hasher.net_, name).parameters()):
            np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    # The training views are not kept in the fitted net.
    assert not hasattr(net, "_views")


def test_ugach_history_logs_both_players(data, capsys):
    hasher = fast_ugach(pretrain_epochs=2, max_epochs=4, verbose=1).fit(data.X_image, data.X_text)
    out = capsys.readouterr().out
    assert "generator_loss" in out and "train_loss" in out
    losses = hasher.history_[:, "generator_loss"]
    assert np.isnan(losses[:2]).all() and np.isfinite(losses[2:]).all()
    assert len(hasher.history_) == 4
    assert hasher.history_[-1, "train_batch_count"] == 240 // 64 + 1
    hasher = fast_ugach(verbose=2).fit(data.X_image, data.X_text)
    assert any(name == "progress_bar" for name, _ in hasher.net_.callbacks_)


def test_ugach_train_split_records_an_unlabelled_validation_loss(data):
    hasher = fast_ugach(validation_fraction=0.2).fit(data.X_image, data.X_text)
    assert np.isfinite(hasher.history_[-1, "valid_loss"])


def test_ugach_codes_come_from_the_discriminator(data):
    hasher = fast_ugach(max_epochs=3).fit(data.X_image, data.X_text)
    X = torch.as_tensor(hasher.text_preprocessor_.transform(data.X_text), dtype=torch.float32)
    with torch.no_grad():
        probabilities = hasher.net_.module_.encode("text", X)
    np.testing.assert_array_equal(
        hasher.transform_text(data.X_text), (probabilities >= 0.5).numpy()
    )


def test_ugach_negatives_and_positives_respect_the_graph(data):
    hasher = fast_ugach()
    net = hasher.fit(data.X_image, data.X_text).net_
    neighbors = torch.as_tensor(net.neighbors_)
    net._graph = (neighbors, torch.as_tensor(net.n_distinct_))
    index = torch.arange(240)
    try:
        negatives = net._sample_non_neighbors(index)
        positives = net._sample_positives(index)
    finally:
        del net._graph
    assert not (neighbors == negatives[:, None]).any(dim=1).any()
    assert (neighbors == positives[:, None]).any(dim=1).all()


@pytest.mark.parametrize("cls", [fast_djsrh, fast_ugach])
def test_labels_are_ignored(cls, data):
    plain = cls().fit(data.X_image, data.X_text).transform(data.X_image)
    with_labels = cls().fit(data.X_image, data.X_text, labels=data.labels)
    np.testing.assert_array_equal(with_labels.transform(data.X_image), plain)
