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
        ValueError, match="'n_bits' parameter .* must be an int in the range \\[1, (inf\\)|1024\\])"
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


# ---- answers that used to be silently wrong, and errors that did not say what was wrong ----


def _chn(**params):
    from sklearn_xmh import CHNHasher

    return CHNHasher(**{**FAST_PARAMS["chn"], "random_state": 0, **params})


def test_labels_may_be_string_class_ids_but_not_string_multi_hot(data):
    names = np.array(["cat", "dog", "fox"])[data.labels.argmax(axis=1) % 3]
    _chn().fit(data.X_image, data.X_text, labels=names)
    with pytest.raises(ValueError, match="Multi-hot labels \\(2-D\\) must be numbers"):
        _chn().fit(data.X_image, data.X_text, labels=[["a", "b"]] * len(data.X_image))
    with pytest.raises(ValueError, match="1-D class ids or 2-D multi-hot, got a 3-D array"):
        _chn().fit(data.X_image, data.X_text, labels=np.zeros((len(data.X_image), 2, 2)))


@pytest.mark.parametrize(
    "labels, message",
    [
        (lambda n: np.zeros((n, 3)), "labels that are all zero"),
        (lambda n: np.ones(n), "labels of a single class"),
        (lambda n: np.eye(3)[np.arange(n) % 3] * (np.arange(n) % 5 > 0)[:, None], "without any"),
    ],
    ids=["all zero", "one class", "some rows empty"],
)
def test_labels_that_barely_supervise_warn(labels, message, data):
    with pytest.warns(UserWarning, match=message):
        _chn().fit(data.X_image, data.X_text, labels=labels(len(data.X_image)))


def test_degenerate_fits_warn_with_the_reason(data):
    with pytest.warns(UserWarning, match="fitted on a single pair"):
        CCAITQHasher(8).fit(data.X_image[:1], data.X_text[:1])
    constant = np.ones((50, 5))
    with pytest.warns(UserWarning, match="the image view's first 50 training rows are identical"):
        CCAITQHasher(8).fit(constant, data.X_text[:50])
    # A sparse view is compared row by row as well (a collapsed one is told from a constant one).
    from scipy import sparse

    with pytest.warns(UserWarning, match="the text view's first 50 training rows are identical"):
        CCAITQHasher(8).fit(data.X_image[:50], sparse.csr_matrix(constant))

    # A network whose weight decay shrinks every weight to zero gives one code to every pair:
    # the warning says so, and names what to check (DBRC on white features, docs: mechanisms).
    with pytest.warns(UserWarning, match="same image code: the training collapsed .*weight_decay"):
        DBRCHasher(
            n_bits=8,
            hidden_layer_sizes=(16,),
            learning_rate=0.05,
            weight_decay=1.0,
            batch_size=16,
            max_epochs=10,
            random_state=0,
        ).fit(data.X_image, data.X_text)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"hidden_layer_sizes": (0,)}, "'hidden_layer_sizes' parameter of DBRCHasher must hold"),
        ({"hidden_layer_sizes": ()}, "needs at least one hidden layer"),
        ({"n_bits": True}, "'n_bits' parameter of DBRCHasher must be an int, got True"),
    ],
)
def test_shape_parameters_are_checked(params, message, data):
    hasher = DBRCHasher(**{**FAST_PARAMS["dbrc"], **params})
    with pytest.raises(ValueError, match=message):
        hasher.fit(data.X_image, data.X_text)


def test_ccaitq_rejects_more_bits_than_it_can_rotate_at_once(data):
    with pytest.raises(ValueError, match="'n_bits' parameter of CCAITQHasher .* \\[1, 1024\\]"):
        CCAITQHasher(n_bits=100_000).fit(data.X_image, data.X_text)


def test_warm_start_on_new_feature_counts_says_it_starts_afresh(data):
    hasher = DBRCHasher(**FAST_PARAMS["dbrc"], warm_start=True).fit(data.X_image, data.X_text)
    with pytest.warns(UserWarning, match="warm_start=True, but the views now have .* afresh"):
        hasher.fit(data.X_image[:, :5], data.X_text)


def test_a_dense_fitted_model_encodes_a_sparse_matrix(data):
    from scipy import sparse

    hasher = DBRCHasher(**FAST_PARAMS["dbrc"], random_state=0).fit(data.X_image, data.X_text)
    np.testing.assert_array_equal(
        hasher.transform(sparse.csr_matrix(data.X_image)), hasher.transform(data.X_image)
    )


def test_an_empty_database_is_named(data):
    from sklearn_xmh.metrics import mean_average_precision

    codes = np.zeros((3, 8), np.uint8)
    with pytest.raises(ValueError, match="db_codes is empty"):
        mean_average_precision(codes, codes[:0], np.zeros((3, 5)), np.zeros((0, 5)))


def test_the_loaders_say_what_is_wrong_with_the_file(tmp_path):
    from scipy.io import savemat

    from sklearn_xmh.benchmark import run_benchmark
    from sklearn_xmh.datasets import load_mat_dataset, split_query_database

    with pytest.raises(ValueError, match="is a directory, not a MATLAB .mat file"):
        load_mat_dataset(tmp_path)
    (tmp_path / "notes.txt").write_text("not a mat file")
    with pytest.raises(ValueError, match="is not a readable MATLAB .mat file"):
        load_mat_dataset(tmp_path / "notes.txt")
    rng = np.random.default_rng(0)
    views = {"I_tr": rng.random((5, 3)), "T_tr": rng.random((4, 2)), "L_tr": np.ones((5, 1))}
    views.update(I_te=rng.random((2, 3)), T_te=rng.random((2, 2)), L_te=np.ones((2, 1)))
    savemat(tmp_path / "bad.mat", views)
    with pytest.raises(ValueError, match="one row per pair, got rows .*'T_tr': 4"):
        load_mat_dataset(tmp_path / "bad.mat")
    with pytest.raises(ValueError, match="missing \\['labels'\\]"):
        split_query_database({"X_image": np.zeros((3, 2)), "X_text": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="bits must be positive code lengths; got \\[0\\]"):
        run_benchmark({}, ["cca-itq"], [0])
