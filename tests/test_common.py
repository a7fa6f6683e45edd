"""scikit-learn's estimator checks over every public estimator (the hashers, ModalityEncoder
and HammingIndex), with no check skipped."""

import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import _num_samples

from sklearn_xmh import CHNHasher, HammingIndex, ModalityEncoder

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


def identity_tower(X):
    """A hash function for any width: the sign of each preprocessed feature is a bit."""
    return X


def sign_bits(X):
    """The checks' real-valued data as bits (1 where positive), element by element.

    What is not a 2-D array of finite real numbers (NaN, complex, sparse, strings, dicts) is
    passed on unchanged, so that the index's own validation has to reject it.
    """
    if hasattr(X, "toarray") or not hasattr(X, "__array__"):
        return X
    values = np.asarray(X)
    if values.dtype.kind == "O":
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError):
            return X
    if values.dtype.kind not in "biuf" or values.ndim != 2 or not np.isfinite(values).all():
        return X
    bits = (values > 0).astype(np.uint8)
    if hasattr(X, "columns"):
        return type(X)(bits, columns=X.columns, index=X.index)
    return bits


class SignHammingIndex(HammingIndex):
    """HammingIndex for scikit-learn's checks, which feed real-valued data: ``fit`` indexes its
    signs as bits (:func:`sign_bits`), and every check then runs the real index code."""

    def fit(self, X, y=None):
        return super().fit(sign_bits(X), y)


def _check_instances():
    others = [est for est in fast_estimators() if not isinstance(est, CHNHasher)]
    return [
        *others,
        LabelledCHN(**FAST_PARAMS["chn"], random_state=0),
        ModalityEncoder(identity_tower),
        SignHammingIndex(),
    ]


@parametrize_with_checks(_check_instances())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
