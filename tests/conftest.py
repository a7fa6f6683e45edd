import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

from sklearn_xmh import all_estimators
from sklearn_xmh.datasets import make_cross_modal

# CI runs a fixed, reproducible set of examples; local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# Small networks and few epochs: the checks test the API, not the quality.
FAST_PARAMS = {
    "dbrc": {"n_bits": 8, "hidden_layer_sizes": (16, 8), "max_epochs": 2, "batch_size": 32},
    "cca-itq": {"n_bits": 8, "n_iter": 5},
    "chn": {"n_bits": 8, "hidden_layer_sizes": (16,), "max_epochs": 2},
    "djsrh": {"n_bits": 8, "hidden_layer_sizes": (16,), "max_epochs": 2},
    "ugach": {"n_bits": 8, "hidden_layer_sizes": (16,), "pretrain_epochs": 1, "max_epochs": 2},
}


def fast_estimators():
    """One instance of every hasher with fast settings and a fixed seed.

    Tests fit them all with ``labels=``: the supervised CHN needs them and the unsupervised
    methods ignore them.
    """
    return [cls(**FAST_PARAMS[name], random_state=0) for name, cls in all_estimators()]


def shared_file(*parts):
    """Path of a file in ../shared/data, or skip the test with a clear reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data file {path} is absent")
    return path


class _LazyWikiScores(dict):
    """mAP@50 per method and direction on Wiki at 32 bits, seed 0, default settings; each method
    is fitted (by the benchmark's ``fit_method``) the first time a test asks for it. A deep
    method's :func:`~sklearn_xmh.inspection.mechanism_health` on the training views is kept in
    ``health``."""

    def __init__(self, data):
        super().__init__()
        self.data = data
        self.health = {}

    def __missing__(self, method):
        from sklearn_xmh.benchmark import fit_method
        from sklearn_xmh.inspection import mechanism_health
        from sklearn_xmh.metrics import mean_average_precision

        data = self.data
        hasher, _ = fit_method(method, data, 32, 0)
        image = hasher.transform(data.X_image_query), hasher.transform(data.X_image_train)
        text = hasher.transform_text(data.X_text_query), hasher.transform_text(data.X_text_train)
        self[method] = {
            direction: mean_average_precision(
                query, database, data.labels_query, data.labels_train, top_k=50
            )
            for direction, query, database in (
                ("i2t", image[0], text[1]),
                ("t2i", text[0], image[1]),
            )
        }
        if hasattr(hasher, "net_"):
            self.health[method] = mechanism_health(hasher, data.X_image_train, data.X_text_train)
        return self[method]


@pytest.fixture(scope="session")
def wiki_map50():
    """Lazily fitted Wiki mAP@50 scores, shared by every quality test of the session."""
    from sklearn_xmh.datasets import load_mat_dataset

    return _LazyWikiScores(load_mat_dataset(shared_file("wiki", "wikiData.mat")))


@pytest.fixture(scope="session")
def data():
    return make_cross_modal(n_samples=240, n_image_features=20, n_text_features=12, random_state=0)


@pytest.fixture
def assert_same_state():
    """Assert a fitted hasher still encodes exactly as before."""

    def check(hasher, data, before):
        np.testing.assert_array_equal(hasher.transform(data.X_image), before[0])
        np.testing.assert_array_equal(hasher.transform_text(data.X_text), before[1])

    return check
