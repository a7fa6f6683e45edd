"""The two-view estimator API: model selection, pipelines, persistence, seeding, input types."""

import pickle

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_xmh import CCAITQHasher, DBRCHasher, ModalityEncoder, convert_codes

from .conftest import FAST_PARAMS, fast_estimators

ESTIMATORS = fast_estimators()
IDS = [type(est).__name__ for est in ESTIMATORS]


def fast_dbrc(**params):
    return DBRCHasher(**{**FAST_PARAMS["dbrc"], "random_state": 0, **params})


def test_grid_search_over_code_length(data):
    search = GridSearchCV(CCAITQHasher(random_state=0), {"n_bits": [16, 32]}, cv=2)
    search.fit(data.X_image, data.X_text)
    scores = search.cv_results_["mean_test_score"]
    # Pair retrieval among 120 held-out pairs: a random ranking scores about H(120) / 120.
    chance = np.sum(1.0 / np.arange(1, 121)) / 120
    assert np.all(scores > 2 * chance)
    best = [16, 32][int(np.argmax(scores))]
    assert search.best_params_ == {"n_bits": best}
    assert search.best_estimator_.transform(data.X_image).shape == (240, best)


def test_cross_validate_scores_pair_retrieval_above_chance(data):
    result = cross_validate(CCAITQHasher(16, random_state=0), data.X_image, data.X_text, cv=3)
    # Chance pair-retrieval mAP with 80 database items is about 0.06.
    assert result["test_score"].mean() > 0.2


def test_pipeline_with_scaler_on_image_view(data):
    pipe = make_pipeline(StandardScaler(), CCAITQHasher(16, random_state=0))
    pipe.fit(data.X_image, data.X_text)
    codes = pipe.transform(data.X_image)
    assert codes.shape == (240, 16) and codes.dtype == np.uint8
    # The pipeline scores the hasher on the scaled images, and well above chance.
    scaled = pipe[0].transform(data.X_image)
    score = pipe.score(data.X_image, data.X_text)
    assert score == pipe[-1].score(scaled, data.X_text)
    assert score > 2 * np.sum(1.0 / np.arange(1, 241)) / 240


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_joblib_round_trip_gives_identical_codes(estimator, data, tmp_path):
    estimator.fit(data.X_image, data.X_text, labels=data.labels)
    joblib.dump(estimator, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.transform(data.X_image), estimator.transform(data.X_image))
    np.testing.assert_array_equal(
        loaded.transform_text(data.X_text), estimator.transform_text(data.X_text)
    )


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_text_encoder_pickled_alone_gives_same_text_codes(estimator, data):
    estimator.fit(data.X_image, data.X_text, labels=data.labels)
    blob = pickle.dumps(estimator.text_encoder_)
    encoder = pickle.loads(blob)
    assert isinstance(encoder, ModalityEncoder) and encoder.modality == "text"
    np.testing.assert_array_equal(
        encoder.transform(data.X_text), estimator.transform_text(data.X_text)
    )
    # The text encoder carries only its own tower, so it is smaller than the whole model.
    assert len(blob) < len(pickle.dumps(estimator))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_same_random_state_gives_identical_codes(estimator, data):
    first = estimator.fit(data.X_image, data.X_text, labels=data.labels).transform(data.X_image)
    second = estimator.fit(data.X_image, data.X_text, labels=data.labels).transform(data.X_image)
    np.testing.assert_array_equal(first, second)
    other = estimator.set_params(random_state=1).fit(data.X_image, data.X_text, labels=data.labels)
    assert not np.array_equal(other.transform(data.X_image), first)


def test_fit_does_not_change_global_torch_rng(data):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fast_dbrc().fit(data.X_image, data.X_text)
    np.testing.assert_array_equal(torch.rand(3), expected)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_sparse_csr_text_view(estimator, data):
    counts = sp.csr_matrix(np.round(data.X_text * 3))
    estimator.set_params(text_preprocessor=TfidfTransformer())
    estimator.fit(data.X_image, counts, labels=data.labels)
    codes = estimator.transform_text(counts)
    assert codes.shape == (240, 8)
    np.testing.assert_array_equal(codes, estimator.transform_text(counts.toarray()))


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_pandas_views_keep_image_feature_names(data):
    pd = pytest.importorskip("pandas")
    images = pd.DataFrame(data.X_image, columns=[f"pixel{i}" for i in range(20)])
    texts = pd.DataFrame(data.X_text)
    hasher = CCAITQHasher(8, random_state=0).fit(images, texts)
    assert list(hasher.feature_names_in_) == list(images.columns)
    np.testing.assert_array_equal(hasher.transform(images), hasher.transform(data.X_image))


@pytest.mark.parametrize("code_format", ["bits", "signed", "packed"])
def test_code_formats_are_the_same_codes(code_format, data):
    hasher = CCAITQHasher(12, random_state=0).fit(data.X_image, data.X_text)
    bits = hasher.transform(data.X_image)
    codes = hasher.set_params(code_format=code_format).transform(data.X_image)
    expected_shape = (240, 2) if code_format == "packed" else (240, 12)
    assert codes.shape == expected_shape
    np.testing.assert_array_equal(
        convert_codes(codes, "bits", from_format=code_format, n_bits=12), bits
    )
    assert len(hasher.get_feature_names_out()) == expected_shape[1]


def test_codes_use_both_signs(data):
    codes = (
        fast_dbrc(n_bits=16, max_epochs=5).fit(data.X_image, data.X_text).transform(data.X_image)
    )
    assert 0 < codes.mean() < 1


def test_warm_start_continues_training(data):
    hasher = fast_dbrc(max_epochs=3, warm_start=True).fit(data.X_image, data.X_text)
    first_net = hasher.net_
    hasher.fit(data.X_image, data.X_text)
    assert len(hasher.history_) == 6
    assert len(first_net.history) == 3  # the previous network is not modified in place


def test_train_split_records_validation_loss(data):
    hasher = fast_dbrc(max_epochs=3, validation_fraction=0.2).fit(data.X_image, data.X_text)
    assert "valid_loss" in hasher.history_[-1]


def test_early_stopping_keeps_the_weights_of_the_best_validation_epoch(data):
    import copy

    import torch
    from skorch.callbacks import Callback

    class RecordWeights(Callback):
        def initialize(self):
            self.weights = []
            return self

        def on_epoch_end(self, net, **kwargs):
            self.weights.append(copy.deepcopy(net.module_.state_dict()))

    # A light ATanh penalty: at the default weight its falling term dominates the loss.
    hasher = fast_dbrc(
        max_epochs=40,
        learning_rate=1e-2,
        alpha_penalty_weight=1e-3,
        validation_fraction=0.3,
        n_iter_no_change=2,
        callbacks=[RecordWeights()],
    ).fit(data.X_image, data.X_text)
    record = dict(hasher.net_.callbacks_)["RecordWeights"]
    valid_loss = hasher.history_[:, "valid_loss"]
    best = int(np.argmin(valid_loss))
    assert len(valid_loss) < 40 and best < len(valid_loss) - 1  # it stopped after a rise
    trained = hasher.net_.module_.state_dict()
    for name, weight in record.weights[best].items():
        torch.testing.assert_close(trained[name], weight, rtol=0, atol=0)


def test_verbose_prints_epoch_log_and_progress_bar(data, capsys):
    fast_dbrc(max_epochs=2, verbose=1).fit(data.X_image, data.X_text)
    assert "train_loss" in capsys.readouterr().out
    hasher = fast_dbrc(max_epochs=2, verbose=2).fit(data.X_image, data.X_text)
    assert any(name == "progress_bar" for name, _ in hasher.net_.callbacks_)


def test_user_callbacks_pass_through(data):
    from skorch.callbacks import Callback

    class CountEpochs(Callback):
        def initialize(self):
            self.count = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.count += 1

    hasher = fast_dbrc(max_epochs=3, callbacks=[("count", CountEpochs())])
    hasher.fit(data.X_image, data.X_text)
    assert dict(hasher.net_.callbacks_)["count"].count == 3


@pytest.mark.parametrize("scaling", ["linear", "nonlinear"])
def test_atanh_alpha_grows_under_its_penalty(scaling, data):
    hasher = fast_dbrc(scaling=scaling, max_epochs=10, alpha_penalty_weight=1.0, learning_rate=1e-2)
    hasher.fit(data.X_image, data.X_text)
    alpha = hasher.net_.module_.atanh.alpha.detach().numpy()
    assert alpha.mean() > 1.05


def test_bce_reconstruction_on_binary_bag_of_words(data):
    words = (data.X_text > np.median(data.X_text)).astype(np.float32)
    hasher = fast_dbrc(text_loss="bce", text_preprocessor="passthrough")
    assert hasher.fit(data.X_image, words).transform_text(words).shape == (240, 8)
    with pytest.raises(ValueError, match="text_loss='bce' needs text features in \\[0, 1\\]"):
        fast_dbrc(text_loss="bce").fit(data.X_image, data.X_text)


def test_import_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, sklearn_xmh, sklearn_xmh.metrics, sklearn_xmh.neighbors, sklearn_xmh.cli\n"
        "X = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]\n"
        "sklearn_xmh.CCAITQHasher(8).fit(X, X).transform(X)\n"
        "print(sorted(m for m in ('torch', 'skorch') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_score_rejects_sample_weight_instead_of_ignoring_it(data):
    hasher = CCAITQHasher(8, random_state=0).fit(data.X_image, data.X_text)
    assert hasher.score(data.X_image, data.X_text, sample_weight=None) > 0
    with pytest.raises(ValueError, match="does not support sample_weight"):
        hasher.score(data.X_image, data.X_text, sample_weight=np.ones(240))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_pickle_and_skops_keep_the_same_encoding_state(estimator, data):
    sio = pytest.importorskip("skops.io")
    from sklearn_xmh import trusted_types

    estimator.fit(data.X_image, data.X_text, labels=data.labels)
    pickled = pickle.loads(pickle.dumps(estimator))
    secure = sio.loads(sio.dumps(estimator), trusted=trusted_types())
    # skops leaves out only the training network; everything that encodes is the same.
    assert set(vars(pickled)) - set(vars(secure)) <= {"net_"}
    assert set(vars(secure)) <= set(vars(pickled))
    for view in ("image_encoder_", "text_encoder_"):
        assert set(vars(getattr(pickled, view))) == set(vars(getattr(secure, view)))
    np.testing.assert_array_equal(pickled.transform(data.X_image), secure.transform(data.X_image))
    np.testing.assert_array_equal(
        pickled.transform_text(data.X_text), secure.transform_text(data.X_text)
    )
