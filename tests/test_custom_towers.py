"""User-supplied towers: ``image_module`` / ``text_module`` with ``*__`` arguments, on inputs of
any shape, in every deep hasher."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from torch import nn

from sklearn_xmh.nn import ModuleTower

from .conftest import fast_estimators

DEEP = [est for est in fast_estimators() if "image_module" in est.get_params()]
IDS = [type(est).__name__ for est in DEEP]
SHAPE = (1, 5, 4)


class TinyCNN(nn.Module):
    """A convolution and pooling on ``(batch, 1, 5, 4)`` images."""

    def __init__(self, channels=3):
        super().__init__()
        self.conv = nn.Conv2d(1, channels, kernel_size=3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(2)

    def forward(self, x):
        return self.pool(torch.relu(self.conv(x)))


@pytest.fixture(scope="module")
def images(data):
    # 20 features become 1 x 5 x 4 "images".
    return data.X_image.reshape(-1, *SHAPE)


def _module_tower(hasher):
    towers = [m for m in hasher.image_encoder_.tower_.modules() if isinstance(m, ModuleTower)]
    assert len(towers) == 1
    return towers[0]


@pytest.mark.parametrize("estimator", DEEP, ids=IDS)
def test_cnn_on_image_arrays_fits_encodes_and_pickles(estimator, images, data):
    hasher = clone(estimator).set_params(image_module=TinyCNN, image_module__channels=2)
    hasher.fit(images, data.X_text, labels=data.labels)
    codes = hasher.transform(images)
    assert codes.shape == (240, 8)
    assert _module_tower(hasher).module.conv.out_channels == 2
    # The image encoder alone, and the whole model, survive pickling with identical codes.
    encoder = pickle.loads(pickle.dumps(hasher.image_encoder_))
    np.testing.assert_array_equal(encoder.transform(images), codes)
    loaded = pickle.loads(pickle.dumps(hasher))
    np.testing.assert_array_equal(loaded.transform(images), codes)
    np.testing.assert_array_equal(
        loaded.transform_text(data.X_text), hasher.transform_text(data.X_text)
    )
    # Each sample must keep the shape the model was fitted on.
    with pytest.raises(ValueError, match=r"image view's samples have shape \(1, 4, 5\)"):
        hasher.transform(images.reshape(-1, 1, 4, 5))


def test_ugach_generator_gets_its_own_copy_of_the_module(images, data):
    (ugach,) = [est for est in DEEP if type(est).__name__ == "UGACHHasher"]
    hasher = clone(ugach).set_params(image_module=TinyCNN).fit(images, data.X_text)
    discriminator, generator = hasher.net_.module_.image_net, hasher.net_.generator_.image_net
    assert isinstance(discriminator, ModuleTower) and isinstance(generator, ModuleTower)
    assert discriminator.module.conv.weight is not generator.module.conv.weight


def test_module_arguments_are_parameters(images, data):
    hasher = clone(DEEP[0]).set_params(image_module=TinyCNN, image_module__channels=4)
    assert hasher.get_params()["image_module__channels"] == 4
    assert clone(hasher).get_params()["image_module__channels"] == 4
    assert "image_module__channels=4" in repr(hasher)
    search = GridSearchCV(hasher, {"image_module__channels": [1, 2]}, cv=2)
    search.fit(images, data.X_text, labels=data.labels)
    assert search.best_params_["image_module__channels"] in (1, 2)
    assert _module_tower(search.best_estimator_).module.conv.out_channels in (1, 2)


def test_a_module_instance_is_copied_not_trained_in_place(data):
    cnn = TinyCNN()
    before = cnn.conv.weight.detach().clone()
    hasher = clone(DEEP[0]).set_params(image_module=cnn, max_epochs=3)
    hasher.fit(data.X_image.reshape(-1, *SHAPE), data.X_text, labels=data.labels)
    torch.testing.assert_close(cnn.conv.weight.detach(), before)
    assert _module_tower(hasher).module.conv.weight is not cnn.conv.weight


def test_a_text_module_on_two_dimensional_input(data):
    hasher = clone(DEEP[0]).set_params(text_module=nn.Identity)
    hasher.fit(data.X_image, data.X_text, labels=data.labels)
    # Identity then the tower's linear layer: a linear text encoder.
    assert hasher.transform_text(data.X_text).shape == (240, 8)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"image_module__channels": 2}, r"image_module__\* arguments \['channels'\].*is None"),
        ({"image_module": TinyCNN(), "image_module__channels": 2}, "pass its class instead"),
        ({"image_module": dict}, "must be a torch.nn.Module class or instance, got dict"),
        ({"text_module_channels": 2}, r"unexpected parameters \['text_module_channels'\]"),
    ],
)
def test_bad_module_settings_are_clear_errors(params, message, images, data):
    hasher = type(DEEP[0])(**{**DEEP[0].get_params(), **params})
    X = data.X_image if hasher.image_module is None else images
    with pytest.raises(ValueError, match=message):
        hasher.fit(X, data.X_text, labels=data.labels)


def test_raw_arrays_need_a_custom_module(images, data):
    with pytest.raises(ValueError, match="Image view \\(X\\).*dim 4"):
        clone(DEEP[0]).fit(images, data.X_text, labels=data.labels)
