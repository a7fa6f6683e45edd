"""scikit-learn's estimator checks over every hasher, with no check skipped."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from .conftest import fast_estimators


@parametrize_with_checks(fast_estimators())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
