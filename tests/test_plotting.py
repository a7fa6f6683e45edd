"""RetrievalCurveDisplay draws the curves the metrics compute."""

import numpy as np
import pytest

from sklearn_xmh import CCAITQHasher
from sklearn_xmh.metrics import precision_at_k, precision_recall_curve

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from sklearn_xmh.plotting import RetrievalCurveDisplay  # noqa: E402


@pytest.fixture(scope="module")
def fitted(data):
    return CCAITQHasher(n_bits=16, random_state=0).fit(data.X_image, data.X_text)


@pytest.mark.parametrize("direction", ["i2t", "t2i"])
def test_pr_curve_from_estimator(fitted, data, direction):
    display = RetrievalCurveDisplay.from_estimator(
        fitted, data.X_image, data.X_text, labels=data.labels, direction=direction
    )
    image, text = fitted.transform(data.X_image), fitted.transform_text(data.X_text)
    query, db = (image, text) if direction == "i2t" else (text, image)
    precision, recall, _ = precision_recall_curve(query, db, data.labels, data.labels)
    np.testing.assert_allclose(display.precision, precision)
    np.testing.assert_allclose(display.x, recall)
    np.testing.assert_allclose(display.line_.get_ydata(), precision)
    assert display.ax_.get_xlabel() == "Recall"
    assert "CCAITQHasher" in display.ax_.get_legend().get_texts()[0].get_text()


def test_precision_at_k_from_codes_and_replot(fitted, data):
    import matplotlib.pyplot as plt

    image, text = fitted.transform(data.X_image), fitted.transform_text(data.X_text)
    display = RetrievalCurveDisplay.from_codes(
        image, text, data.labels, data.labels, kind="precision_at_k", k=[1, 10, 50], name="cca"
    )
    expected = precision_at_k(image, text, data.labels, data.labels, k=[1, 10, 50])
    np.testing.assert_allclose(display.precision, expected)
    np.testing.assert_array_equal(display.x, [1, 10, 50])
    _, ax = plt.subplots()
    display.plot(ax=ax, name="again", color="red")
    assert display.ax_ is ax
    assert display.line_.get_color() == "red"
    assert ax.get_legend().get_texts()[0].get_text() == "again"
    plt.close("all")


def test_bad_kind_and_direction(fitted, data):
    with pytest.raises(ValueError, match="kind"):
        RetrievalCurveDisplay.from_estimator(fitted, data.X_image, data.X_text, kind="roc")
    with pytest.raises(ValueError, match="direction"):
        RetrievalCurveDisplay.from_estimator(fitted, data.X_image, data.X_text, direction="both")


def test_missing_matplotlib_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"sklearn-xmh\[plot\]"):
        RetrievalCurveDisplay(np.zeros(3), np.zeros(3)).plot()
