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
    "dbrc": {"n_bits": 8, "hidden_sizes": (16, 8), "max_epochs": 2, "batch_size": 32},
    "cca-itq": {"n_bits": 8, "n_iter": 5},
    "djsrh": {"n_bits": 8, "image_hidden_size": 16, "text_hidden_size": 16, "max_epochs": 2},
    "ugach": {"n_bits": 8, "hidden_size": 16, "pretrain_epochs": 1, "max_epochs": 2},
}


def fast_estimators():
    """One instance of every hasher with fast settings and a fixed seed."""
    return [cls(**FAST_PARAMS[name], random_state=0) for name, cls in all_estimators()]


def shared_file(*parts):
    """Path of a file in ../shared/data, or skip the test with a clear reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data file {path} is absent")
    return path


@pytest.fixture(scope="session")
def data():
    return make_cross_modal(n_samples=240, n_img_features=20, n_txt_features=12, random_state=0)


@pytest.fixture
def assert_same_state():
    """Assert a fitted hasher still encodes exactly as before."""

    def check(hasher, data, before):
        np.testing.assert_array_equal(hasher.transform(data.X_image), before[0])
        np.testing.assert_array_equal(hasher.transform_text(data.X_text), before[1])

    return check
