"""scikit-learn's estimator checks over every hasher, with no check skipped."""

import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import _num_samples

from sklearn_xmh import CHNHasher

from .conftest import FAST_PARAMS, fast_estimators


class LabelledCHN(CHNHasher):
    """CHN for scikit-learn's checks, which cannot pass metadata: when ``fit`` gets no labels,
    it makes three classes in row order. Every check then runs the real CHN code; the error
    for missing labels is tested in test_chn.py."""

    def fit(self, X, y=None, *, labels=None):
        if labels is None:
            try:
                labels = np.arange(_num_samples(X)) % 3
            except TypeError:
                pass  # X is invalid: let CHN's own validation name the problem.
        return super().fit(X, y, labels=labels)


def _check_instances():
    others = [est for est in fast_estimators() if not isinstance(est, CHNHasher)]
    return [*others, LabelledCHN(**FAST_PARAMS["chn"], random_state=0)]


@parametrize_with_checks(_check_instances())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
