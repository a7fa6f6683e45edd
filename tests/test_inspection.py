"""mechanism_health: the figures that show each deep hasher's mechanism at work."""

import numpy as np
import pytest
import torch

from sklearn_xmh import CCAITQHasher, CHNHasher, DBRCHasher, DJSRHHasher, UGACHHasher
from sklearn_xmh.inspection import mechanism_health

from .conftest import FAST_PARAMS


def fitted(cls, name, data, **params):
    hasher = cls(**{**FAST_PARAMS[name], "random_state": 0, **params})
    return hasher.fit(data.X_image, data.X_text, labels=data.labels)


def test_dbrc_reports_its_atanh_scales_and_saturation(data):
    hasher = fitted(DBRCHasher, "dbrc", data)
    health = mechanism_health(hasher, data.X_image, data.X_text)
    alpha = hasher.net_.module_.atanh.alpha.detach().numpy()
    np.testing.assert_allclose(health.alpha, alpha)
    assert health.alpha_mean == pytest.approx(alpha.mean())
    # By hand: the image tower ends in the ATanh layer, so its outputs are the relaxed codes.
    tower = hasher.image_encoder_.tower_
    scaled = hasher.image_encoder_.preprocessor_.transform(data.X_image).astype(np.float32)
    with torch.no_grad():
        codes = tower(torch.as_tensor(scaled)).numpy()
    assert health.saturation_image == pytest.approx(np.mean(np.abs(codes) >= 0.9))
    assert health.saturation == pytest.approx(
        (health.saturation_image + health.saturation_text) / 2
    )


def test_djsrh_reports_the_alpha_its_schedule_reached(data):
    hasher = fitted(DJSRHHasher, "djsrh", data, max_epochs=4)
    health = mechanism_health(hasher, data.X_image, data.X_text)
    assert health.alpha == pytest.approx(2.0)  # sqrt(epoch + 1) at the fourth epoch
    assert 0 <= health.saturation <= 1


def test_ugach_policy_figures_against_their_definitions(data):
    hasher = fitted(UGACHHasher, "ugach", data)
    health = mechanism_health(hasher, data.X_image, data.X_text, n_queries=100, pool_size=24)
    assert health.pool_size == 24
    assert 0 < health.policy_entropy_ratio <= 1 + 1e-9
    # A pool of 24 random items among 240 holds each of a query's graph positives with
    # probability 24 / 240: the uniform rate is their mean count over the pool size.
    expected = hasher.net_.n_distinct_.mean() / 240
    assert health.pool_positive_rate == pytest.approx(expected, rel=0.3)
    with pytest.raises(ValueError, match="training views, in training order"):
        mechanism_health(hasher, data.X_image[:100], data.X_text[:100])


def test_chn_reports_saturation(data):
    hasher = fitted(CHNHasher, "chn", data)
    health = mechanism_health(hasher, data.X_image, data.X_text)
    assert set(health) == {"saturation", "saturation_image", "saturation_text"}


def test_methods_without_a_mechanism_or_a_net_are_refused(data):
    with pytest.raises(ValueError, match="deep hashers"):
        mechanism_health(
            CCAITQHasher(8, random_state=0).fit(data.X_image, data.X_text),
            data.X_image,
            data.X_text,
        )
    sio = pytest.importorskip("skops.io")
    from sklearn_xmh import trusted_types

    hasher = fitted(DBRCHasher, "dbrc", data)
    loaded = sio.loads(sio.dumps(hasher), trusted=trusted_types())
    with pytest.raises(ValueError, match="without net_"):
        mechanism_health(loaded, data.X_image, data.X_text)
