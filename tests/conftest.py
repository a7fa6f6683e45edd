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
    is fitted (through ``xmh benchmark``'s loop) the first time a test asks for it."""

    def __init__(self, data):
        super().__init__()
        self.data = data

    def __missing__(self, method):
        from sklearn_xmh.benchmark import run_benchmark

        records = run_benchmark(self.data, [method], [32], seeds=1, top_k=50)
        self[method] = {record["direction"]: record["map"] for record in records}
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
