"""Bad input raises a ValueError that names the problem, and a fitted model survives it intact."""

import numpy as np
import pytest
import torch

from sklearn_xmh import CCAITQHasher, DBRCHasher

from .conftest import FAST_PARAMS, fast_estimators

ESTIMATORS = fast_estimators()
IDS = [type(est).__name__ for est in ESTIMATORS]


def _with(array, row, col, value):
    array = array.copy()
    array[row, col] = value
    return array


FIT_CASES = {
    "no text view": (lambda d: (d.X_image, None), "the text view is required"),
    "NaN in image view": (
        lambda d: (_with(d.X_image, 3, 2, np.nan), d.X_text),
        "Image view \\(X\\).*NaN",
    ),
    "inf in image view": (
        lambda d: (_with(d.X_image, 0, 0, np.inf), d.X_text),
        "Image view \\(X\\).*infinity",
    ),
    "NaN in text view": (
        lambda d: (d.X_image, _with(d.X_text, 5, 1, np.nan)),
        "Text view \\(y\\).*NaN",
    ),
    "inf in text view": (
        lambda d: (d.X_image, _with(d.X_text, 5, 1, -np.inf)),
        "Text view \\(y\\).*infinity",
    ),
    "mismatched rows": (
        lambda d: (d.X_image, d.X_text[:-1]),
        "same number of rows.*\\[240, 239\\]",
    ),
    "empty arrays": (lambda d: (d.X_image[:0], d.X_text[:0]), "Image view \\(X\\).*0 sample"),
    "empty text view": (lambda d: (d.X_image, d.X_text[:, :0]), "Text view \\(y\\).*0 feature"),
}


@pytest.mark.parametrize("case", FIT_CASES, ids=list(FIT_CASES))
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_bad_fit_input_is_named_and_leaves_model_unchanged(
    estimator, case, data, assert_same_state
):
    estimator.fit(data.X_image, data.X_text, labels=data.labels)
    before = (estimator.transform(data.X_image), estimator.transform_text(data.X_text))
    state = set(vars(estimator))
    make, message = FIT_CASES[case]
    with pytest.raises(ValueError, match=message):
        estimator.fit(*make(data), labels=data.labels)
    assert set(vars(estimator)) == state
    assert_same_state(estimator, data, before)


TRANSFORM_CASES = {
    "image wrong feature count": (
        "transform",
        lambda d: d.X_image[:, :-1],
        "Image view \\(X\\).*19 features.*expecting 20",
    ),
    "text wrong feature count": (
        "transform_text",
        lambda d: d.X_text[:, :-2],
        "Text view \\(y\\).*10 features.*expecting 12",
    ),
    "image NaN": ("transform", lambda d: _with(d.X_image, 1, 1, np.nan), "Image view \\(X\\).*NaN"),
    "text NaN": (
        "transform_text",
        lambda d: _with(d.X_text, 1, 1, np.nan),
        "Text view \\(y\\).*NaN",
    ),
    "image 1-D": ("transform", lambda d: d.X_image[0], "Image view \\(X\\).*2D array"),
}


@pytest.mark.parametrize("case", TRANSFORM_CASES, ids=list(TRANSFORM_CASES))
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_bad_transform_input_is_named(estimator, case, data, assert_same_state):
    estimator.fit(data.X_image, data.X_text, labels=data.labels)
    before = (estimator.transform(data.X_image), estimator.transform_text(data.X_text))
    method, make, message = TRANSFORM_CASES[case]
    with pytest.raises(ValueError, match=message):
        getattr(estimator, method)(make(data))
    assert_same_state(estimator, data, before)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_n_bits_zero_is_rejected_and_model_unchanged(estimator, data, assert_same_state):
    estimator.fit(data.X_image, data.X_text, labels=data.labels)
    before = (estimator.transform(data.X_image), estimator.transform_text(data.X_text))
    with pytest.raises(
        ValueError, match="'n_bits' parameter .* must be an int in the range \\[1, inf\\)"
    ):
        estimator.set_params(n_bits=0).fit(data.X_image, data.X_text, labels=data.labels)
    estimator.set_params(n_bits=8)
    assert_same_state(estimator, data, before)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_cuda_is_a_clear_error(device, data, assert_same_state):
    hasher = DBRCHasher(**FAST_PARAMS["dbrc"], random_state=0).fit(data.X_image, data.X_text)
    before = (hasher.transform(data.X_image), hasher.transform_text(data.X_text))
    with pytest.raises(
        ValueError, match=f"device='{device}' was requested, but CUDA is not available"
    ):
        hasher.set_params(device=device).fit(data.X_image, data.X_text)
    hasher.set_params(device="cpu")
    assert_same_state(hasher, data, before)


def test_unknown_device_is_a_clear_error(data):
    with pytest.raises(ValueError, match="device='tpu' is not a valid torch device"):
        DBRCHasher(**FAST_PARAMS["dbrc"], device="tpu").fit(data.X_image, data.X_text)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_and_encode(data):
    hasher = DBRCHasher(**FAST_PARAMS["dbrc"], device="cuda", random_state=0)
    codes = hasher.fit(data.X_image, data.X_text).transform(data.X_image)
    assert codes.shape == (240, 8) and hasher.device_.startswith("cuda")


def test_diverging_loss_stops_with_a_clear_error(data, assert_same_state):
    hasher = DBRCHasher(**FAST_PARAMS["dbrc"], random_state=0).fit(data.X_image, data.X_text)
    before = (hasher.transform(data.X_image), hasher.transform_text(data.X_text))
    huge = data.X_image * np.float32(1e38)
    with pytest.raises(FloatingPointError, match="training loss of DBRCModule became (nan|inf)"):
        hasher.set_params(image_preprocessor="passthrough").fit(huge, data.X_text)
    hasher.set_params(image_preprocessor=None)
    assert_same_state(hasher, data, before)


def test_transform_before_fit_raises_not_fitted(data):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        CCAITQHasher().transform_text(data.X_text)
