"""Each method's signature mechanism, switched on and off through public parameters: ATanh's
learned scale, UGACH's generator and its schedule, DJSRH's affinity and dropout, CHN's
regularisation."""

import numpy as np
import pytest
import torch

from sklearn_xmh import CHNHasher, DBRCHasher, DJSRHHasher, UGACHHasher
from sklearn_xmh.inspection import mechanism_health
from sklearn_xmh.neighbors import correlation_graph
from sklearn_xmh.nn import AdaptiveTanh, CrossModalDataset, DJSRHLoss, joint_semantics_affinity

from .conftest import FAST_PARAMS


def fast(cls, name, **params):
    return cls(**{**FAST_PARAMS[name], "random_state": 0, **params})


# ---- DBRC: Adaptive Tanh ----


@pytest.mark.parametrize("scaling", ["linear", "nonlinear"])
def test_atanh_scales_train_at_their_own_rate_without_weight_decay(scaling, data):
    hasher = fast(DBRCHasher, "dbrc", scaling=scaling, alpha_learning_rate=0.05)
    hasher.fit(data.X_image, data.X_text)
    scales = {id(p) for p in hasher.net_.module_.atanh.scale_parameters()}
    assert len(scales) == (2 if scaling == "nonlinear" else 1)
    groups = hasher.net_.optimizer_.param_groups
    atanh_groups = [g for g in groups if {id(p) for p in g["params"]} & scales]
    assert len(atanh_groups) == 1
    (group,) = atanh_groups
    assert {id(p) for p in group["params"]} == scales
    assert group["weight_decay"] == 0.0 and group["lr"] == 0.05
    others = [g for g in groups if g is not group]
    assert all(g["weight_decay"] == hasher.weight_decay for g in others)


def test_atanh_log_parametrisation_keeps_alpha_positive_and_starts_at_one():
    for scaling in ("linear", "nonlinear"):
        layer = AdaptiveTanh(4, scaling=scaling)
        torch.testing.assert_close(layer.alpha, torch.ones(4))
        with torch.no_grad():
            layer.log_alpha.fill_(-50.0)
        assert (layer.alpha > 0).all()
    h = torch.linspace(-2, 2, 9)[:, None].repeat(1, 4)
    torch.testing.assert_close(AdaptiveTanh(4, scaling="linear")(h), torch.tanh(h))


def test_fixed_scaling_is_a_plain_tanh_with_nothing_learned(data):
    hasher = fast(DBRCHasher, "dbrc", scaling="fixed", max_epochs=3).fit(data.X_image, data.X_text)
    atanh = hasher.net_.module_.atanh
    assert atanh.scale_parameters() == []
    torch.testing.assert_close(atanh.alpha, torch.ones(8))
    assert mechanism_health(hasher, data.X_image, data.X_text).alpha_mean == 1.0


def test_the_alpha_penalty_pushes_alpha_up_by_its_own_gradient():
    # d/d(log alpha) of w * sum(1 / alpha**2) is -2 w / alpha**2: descent raises alpha.
    layer = AdaptiveTanh(3, scaling="linear")
    with torch.no_grad():
        layer.log_alpha.copy_(torch.log(torch.tensor([0.5, 1.0, 4.0])))
    (0.3 * layer.penalty()).backward()
    torch.testing.assert_close(layer.log_alpha.grad, -2 * 0.3 / torch.tensor([0.25, 1.0, 16.0]))


def test_dbrcs_hash_layer_is_linear_and_atanh_unless_batch_norm_is_asked_for(data):
    layers = fast(DBRCHasher, "dbrc").fit(data.X_image, data.X_text).net_.module_.hash_layer
    assert [type(layer) for layer in layers] == [torch.nn.Linear, AdaptiveTanh]
    normed = fast(DBRCHasher, "dbrc", hash_batch_norm=True).fit(data.X_image, data.X_text)
    assert isinstance(normed.net_.module_.hash_layer[1], torch.nn.BatchNorm1d)
    assert not normed.net_.module_.hash_layer[1].affine


def test_with_batch_norm_the_alpha_penalty_controls_how_binary_the_layer_ends(data):
    def saturation(weight):
        hasher = fast(
            DBRCHasher,
            "dbrc",
            hash_batch_norm=True,
            alpha_penalty_weight=weight,
            alpha_learning_rate=0.1,
            max_epochs=15,
        ).fit(data.X_image, data.X_text)
        return mechanism_health(hasher, data.X_image, data.X_text)

    light, heavy = saturation(1e-4), saturation(1.0)
    assert heavy.alpha_mean > 2 * light.alpha_mean
    assert heavy.saturation > light.saturation + 0.15
    assert heavy.saturation > 0.8


# ---- UGACH: the generator and its schedule ----


def test_per_view_neighbour_counts_take_each_views_own_nearest_items():
    rng = np.random.default_rng(0)
    X_image, X_text = rng.standard_normal((40, 5)), rng.standard_normal((40, 3))
    neighbors, n_distinct = correlation_graph(X_image, X_text, n_neighbors=(1, 4))
    assert neighbors.shape == (40, 5)
    text_distances = ((X_text[:, None] - X_text[None]) ** 2).sum(-1)
    for i in range(40):
        expected = {i} | set(np.argsort(text_distances[i], kind="stable")[:4])
        assert set(neighbors[i, : n_distinct[i]]) == expected
    with pytest.raises(ValueError, match="pair of positive ints"):
        correlation_graph(X_image, X_text, n_neighbors=(1, 0))


def test_ugach_graph_uses_the_per_view_counts(data):
    hasher = fast(UGACHHasher, "ugach", n_image_neighbors=1, n_text_neighbors=3)
    net = hasher.fit(data.X_image, data.X_text).net_
    assert net.neighbors_.shape == (240, 4) and net.n_distinct_.max() <= 3


def test_generated_negatives_exclude_the_querys_graph_positives(data):
    net = fast(UGACHHasher, "ugach", n_image_neighbors=20, n_text_neighbors=20, pool_size=60)
    net = net.fit(data.X_image, data.X_text).net_
    neighbors = torch.as_tensor(net.neighbors_)
    n_distinct = torch.as_tensor(net.n_distinct_)
    net._graph = (neighbors, n_distinct)
    net._views = CrossModalDataset({"image": data.X_image, "text": data.X_text})
    index = torch.arange(240).repeat(5)
    try:
        excluded, _ = net._sample_from_generator("image", "text", index, exclude_positives=True)
        free, _ = net._sample_from_generator("image", "text", index)
    finally:
        del net._graph, net._views
    distinct = torch.arange(neighbors.shape[1])[None, :] < n_distinct[index][:, None]

    def positive(items):
        return ((neighbors[index] == items[:, None]) & distinct).any(dim=1)

    # Up to 39 positives in a pool of 60 of 240 items: free picks hit them often.
    assert positive(free).float().mean() > 0.05
    assert not positive(excluded).any()


def test_pretraining_ends_when_the_discriminator_loss_plateaus(data):
    # A plateau rule that fires on the first epoch that does not improve by half.
    early = fast(UGACHHasher, "ugach", pretrain_epochs=8, max_epochs=10, pretrain_tol=0.5)
    early = early.fit(data.X_image, data.X_text).net_
    assert 2 <= early.adversarial_from_ - 1 < 8
    losses = [np.mean(row) for row in early.history[:, "batches", :, "train_loss"]]
    last = early.adversarial_from_ - 2
    assert losses[last] > 0.5 * min(losses[:last])
    full = fast(UGACHHasher, "ugach", pretrain_epochs=4, max_epochs=6, pretrain_tol=0.0)
    assert full.fit(data.X_image, data.X_text).net_.adversarial_from_ == 5


@pytest.mark.parametrize("init", ["discriminator", "random", "normal"])
def test_generator_initialisation(init, data):
    # max_epochs == pretrain_epochs: the switch happens after the last epoch, with no round.
    hasher = fast(
        UGACHHasher, "ugach", generator_init=init, pretrain_epochs=2, max_epochs=2, pretrain_tol=0
    )
    net = hasher.fit(data.X_image, data.X_text).net_
    D, G = net.module_.state_dict(), net.generator_.state_dict()
    same = all(torch.equal(D[key], G[key]) for key in D)
    assert same == (init == "discriminator")
    weights = net.generator_.image_net[0].weight
    if init == "normal":
        assert abs(weights.std().item() - 0.088) < 0.01  # N(0, 0.1) truncated at 2 sigma
    else:
        assert weights.std().item() < 0.2


def test_discriminator_alone_never_trains_the_generator(data):
    hasher = fast(UGACHHasher, "ugach", adversarial=False, pretrain_epochs=1, max_epochs=3)
    net = hasher.fit(data.X_image, data.X_text).net_
    assert net.adversarial_from_ is None
    assert np.isnan(net.history[:, "generator_loss"]).all()
    assert all(p.grad is None for p in net.generator_.parameters())


def test_rounds_train_the_generator_generator_epochs_times(data):
    hasher = fast(
        UGACHHasher,
        "ugach",
        generator_epochs=3,
        triplets_per_query=2,
        pretrain_tol=0,
        pretrain_epochs=1,
        max_epochs=2,
    )
    net = hasher.fit(data.X_image, data.X_text).net_
    # One history row per epoch of each kind: the discriminator's, then 3 of the generator.
    rows = net.history[-1, "batches"]
    assert [sorted(row)[0] for row in rows] == ["train_batch_size"] + ["generator_batch_size"] * 3
    assert net.history[-1, "generator_batch_count"] == -(-240 // hasher.batch_size)
    assert all(row["generator_batch_size"] == 240 for row in rows[1:])


# ---- DJSRH: affinity on the features as given, dropout ----


def test_djsrh_loss_reads_the_affinity_features_when_the_batch_holds_them():
    rng = torch.Generator().manual_seed(0)
    image, text = torch.randn(8, 5, generator=rng), torch.randn(8, 3, generator=rng)
    raw_image, raw_text = torch.rand(8, 5, generator=rng), torch.rand(8, 3, generator=rng)
    codes = torch.randn(8, 4, generator=rng), torch.randn(8, 4, generator=rng)
    params = dict(beta=0.3, eta=0.4, mu=1.5)
    loss = DJSRHLoss(**params, intra_image_weight=0.3, intra_text_weight=0.3)
    X = {"image": image, "text": text, "image_affinity": raw_image, "text_affinity": raw_text}
    reference = DJSRHLoss(**params, intra_image_weight=0.3, intra_text_weight=0.3)
    expected = reference(codes, None, {"image": raw_image, "text": raw_text})
    torch.testing.assert_close(loss(codes, None, X), expected)
    S = joint_semantics_affinity(raw_image, raw_text, **params)
    # Non-negative features: every first-order target 2 cos - 1 lies in [-1, 1].
    assert S.min() >= -1.5 - 1e-6


def test_djsrh_trains_its_affinity_on_the_features_as_given(data, monkeypatch):
    seen = []
    forward = DJSRHLoss.forward

    def recording(self, y_pred, y_true, X):
        seen.append({key: value.clone() for key, value in X.items()})
        return forward(self, y_pred, y_true, X)

    monkeypatch.setattr(DJSRHLoss, "forward", recording)
    raw = np.abs(data.X_image) + 1.0
    fast(DJSRHHasher, "djsrh", max_epochs=1).fit(raw, data.X_text)
    batch = seen[0]
    rows = batch["index"].numpy()
    np.testing.assert_allclose(batch["image_affinity"].numpy(), raw[rows], rtol=1e-6)
    np.testing.assert_allclose(batch["text_affinity"].numpy(), data.X_text[rows], rtol=1e-6)
    # The towers read the standardised features.
    assert abs(float(batch["image"].mean())) < 0.5 < float(batch["image_affinity"].mean())


def test_djsrh_and_chn_input_dropout_acts_in_training_only(data):
    djsrh = fast(DJSRHHasher, "djsrh").fit(data.X_image, data.X_text)
    first = djsrh.net_.module_.image_net[0]
    assert isinstance(first, torch.nn.Dropout) and first.p == 0.5
    assert not isinstance(djsrh.net_.module_.text_net[0], torch.nn.Dropout)
    np.testing.assert_array_equal(djsrh.transform(data.X_image), djsrh.transform(data.X_image))
    chn = fast(CHNHasher, "chn", text_dropout=0.2).fit(
        data.X_image, data.X_text, labels=data.labels
    )
    assert chn.net_.module_.text_net[0].p == 0.2
    assert chn.net_.module_.image_net[0].p == 0.5  # the default against overfitting
    chn = fast(CHNHasher, "chn", image_dropout=0.0).fit(
        data.X_image, data.X_text, labels=data.labels
    )
    assert not isinstance(chn.net_.module_.image_net[0], torch.nn.Dropout)
    assert not isinstance(chn.net_.module_.text_net[0], torch.nn.Dropout)
