"""The unlabelled model-selection criterion of benchmarks/cv_defaults.py."""

import sys
from pathlib import Path

import numpy as np
import pytest

from sklearn_xmh import CCAITQHasher

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
cv_defaults = pytest.importorskip("cv_defaults")


def test_neighbor_relevance_holds_each_item_and_its_nearest_neighbours(data):
    relevant = cv_defaults.neighbor_relevance(data.X_image, data.X_text, 7)
    assert relevant.shape == (240, 240)
    np.testing.assert_array_equal(relevant.sum(axis=1), 7)
    assert relevant.diagonal().all()
    # Duplicating a pair makes the copies each other's nearest neighbours.
    X_image = np.vstack([data.X_image, data.X_image[:1]])
    X_text = np.vstack([data.X_text, data.X_text[:1]])
    relevant = cv_defaults.neighbor_relevance(X_image, X_text, 2)
    assert relevant[0, 240] and relevant[240, 0]


class RandomCodes:
    """An 'estimator' whose codes carry no information."""

    def transform(self, X):
        return np.random.default_rng(0).integers(0, 2, (X.shape[0], 16), dtype=np.uint8)

    def transform_text(self, X):
        return np.random.default_rng(1).integers(0, 2, (X.shape[0], 16), dtype=np.uint8)


@pytest.mark.parametrize("direction", ["both", "i2t", "t2i"])
def test_neighbor_scorer_ranks_a_fitted_hasher_above_random_codes(data, direction):
    scorer = cv_defaults.neighbor_map_scorer(direction, n_neighbors=10)
    fitted = CCAITQHasher(n_bits=16, random_state=0).fit(data.X_image, data.X_text)
    informed = scorer(fitted, data.X_image, data.X_text)
    chance = scorer(RandomCodes(), data.X_image, data.X_text)
    assert 0 < chance < 0.15 < informed <= 1
