"""``RetrievalCurveDisplay``: precision-recall and precision@k curves of Hamming retrieval."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params

from .metrics import precision_at_k, precision_recall_curve
from .metrics._retrieval import TIES
from .metrics._scorer import DIRECTIONS, encode_views
from .utils._codes import CODE_FORMATS

KINDS = ("pr", "precision_at_k")


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "RetrievalCurveDisplay needs matplotlib; install it with "
            "`pip install sklearn-xmh[plot]`."
        ) from exc
    return plt


class RetrievalCurveDisplay:
    """Retrieval curve: precision against recall over Hamming radius, or precision@k against k.

    Build it with :meth:`from_estimator` or :meth:`from_codes`, which compute the curve and
    plot it; all attributes are stored so that :meth:`plot` can draw it again.

    Parameters
    ----------
    x : ndarray
        Recall (``kind="pr"``) or the cut-offs k (``kind="precision_at_k"``).
    precision : ndarray
        Precision at each point.
    kind : {"pr", "precision_at_k"}, default="pr"
        Which curve ``x`` and ``precision`` describe.
    name : str or None, default=None
        Label of the curve in the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The plotted curve.
    ax_ : matplotlib Axes
        The axes holding it.
    figure_ : matplotlib Figure
        The figure holding the axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_xmh import CCAITQHasher
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> from sklearn_xmh.plotting import RetrievalCurveDisplay
    >>> data = make_cross_modal(
    ...     n_samples=100, n_image_features=8, n_text_features=6, random_state=0
    ... )
    >>> hasher = CCAITQHasher(n_bits=8, random_state=0).fit(data.X_image, data.X_text)
    >>> display = RetrievalCurveDisplay.from_estimator(
    ...     hasher, data.X_image, data.X_text, labels=data.labels, kind="pr"
    ... )
    >>> display.precision.shape
    (9,)
    """

    def __init__(self, x, precision, *, kind="pr", name=None):
        self.x = x
        self.precision = precision
        self.kind = kind
        self.name = name

    def plot(self, ax=None, *, name=None, **kwargs):
        """Draw the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        name : str or None, default=None
            Legend label; None keeps the display's ``name``.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        display : RetrievalCurveDisplay
            The display, with ``line_``, ``ax_`` and ``figure_`` set.
        """
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}.")
        plt = _import_pyplot()
        if ax is None:
            _, ax = plt.subplots()
        name = self.name if name is None else name
        style = {"drawstyle": "steps-post"} if self.kind == "precision_at_k" else {"marker": "."}
        style.update(kwargs)
        if name is not None:
            style.setdefault("label", name)
        (self.line_,) = ax.plot(self.x, self.precision, **style)
        if self.kind == "pr":
            ax.set(xlabel="Recall", ylabel="Precision", xlim=(-0.01, 1.01))
        else:
            ax.set(xlabel="k (retrieved items)", ylabel="Precision@k")
        ax.set_ylim(-0.01, 1.01)
        if name is not None:
            ax.legend(loc="best")
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    @validate_params(
        {
            "query_codes": ["array-like"],
            "db_codes": ["array-like"],
            "query_labels": ["array-like", None],
            "db_labels": ["array-like", None],
            "kind": [StrOptions(set(KINDS))],
            "k": ["array-like", None],
            "ties": [StrOptions(set(TIES))],
            "code_format": [StrOptions(set(CODE_FORMATS)), None],
            "n_bits": [Interval(Integral, 1, None, closed="left"), None],
            "name": [str, None],
            "ax": "no_validation",
        },
        prefer_skip_nested_validation=True,
    )
    def from_codes(
        cls,
        query_codes,
        db_codes,
        query_labels=None,
        db_labels=None,
        *,
        kind="pr",
        k=None,
        ties="stable",
        code_format=None,
        n_bits=None,
        name=None,
        ax=None,
        **kwargs,
    ):
        """Compute a retrieval curve from codes and plot it.

        Parameters
        ----------
        query_codes, db_codes : array-like
            Codes in any format.
        query_labels, db_labels : array-like of shape (n, ) or (n, n_classes), default=None
            Class ids or multi-hot labels; None means pair retrieval.
        kind : {"pr", "precision_at_k"}, default="pr"
            ``"pr"``: precision and recall at every Hamming radius; ``"precision_at_k"``:
            precision of the top k for a range of k.
        k : array-like of int or None, default=None
            Cut-offs of ``kind="precision_at_k"``; None takes 20 points up to the database size.
        ties : {"stable", "random", "expected"}, default="stable"
            Tie order of ``kind="precision_at_k"``.
        code_format : {"bits", "signed", "packed"} or None, default=None
            Format of both code arrays; None infers it.
        n_bits : int or None, default=None
            Code length, needed for packed codes whose length is not a multiple of 8.
        name : str or None, default=None
            Legend label.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : RetrievalCurveDisplay
        """
        _import_pyplot()
        codes = {"code_format": code_format, "n_bits": n_bits}
        if kind == "pr":
            precision, recall, _ = precision_recall_curve(
                query_codes, db_codes, query_labels, db_labels, **codes
            )
            display = cls(recall, precision, kind=kind, name=name)
        else:
            if k is None:
                n_db = np.asarray(db_codes).shape[0]
                k = np.unique(np.linspace(1, max(n_db, 1), 20).round().astype(int))
            k = np.atleast_1d(np.asarray(k))
            precision = precision_at_k(
                query_codes, db_codes, query_labels, db_labels, k=k, ties=ties, **codes
            )
            display = cls(k, precision, kind=kind, name=name)
        return display.plot(ax=ax, **kwargs)

    @classmethod
    @validate_params(
        {
            "estimator": [HasMethods(["transform"])],
            "X": ["array-like", "sparse matrix"],
            "y": ["array-like", "sparse matrix"],
            "labels": ["array-like", None],
            "kind": [StrOptions(set(KINDS))],
            "direction": [StrOptions(set(DIRECTIONS) - {"both"})],
            "k": ["array-like", None],
            "ties": [StrOptions(set(TIES))],
            "name": [str, None],
            "ax": "no_validation",
        },
        prefer_skip_nested_validation=True,
    )
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        labels=None,
        *,
        kind="pr",
        direction="i2t",
        k=None,
        ties="stable",
        name=None,
        ax=None,
        **kwargs,
    ):
        """Encode paired views with a fitted hasher and plot one retrieval direction.

        Parameters
        ----------
        estimator : fitted hasher or Pipeline ending in one
            Images go through ``estimator.transform``, texts through the last step's
            ``transform_text``.
        X, y : array-like
            Paired image and text views; every item queries the other view.
        labels : array-like of shape (n_samples,) or (n_samples, n_classes), default=None
            Class ids or multi-hot labels; None means pair retrieval.
        kind : {"pr", "precision_at_k"}, default="pr"
            Which curve.
        direction : {"i2t", "t2i"}, default="i2t"
            Image queries against texts, or the reverse.
        k : array-like of int or None, default=None
            Cut-offs of ``kind="precision_at_k"``.
        ties : {"stable", "random", "expected"}, default="stable"
            Tie order of ``kind="precision_at_k"``.
        name : str or None, default=None
            Legend label; None uses the hasher's class name and the direction.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : RetrievalCurveDisplay
        """
        hasher, image_codes, text_codes = encode_views(estimator, X, y)
        query, db = (image_codes, text_codes) if direction == "i2t" else (text_codes, image_codes)
        if name is None:
            name = f"{type(hasher).__name__} {'I→T' if direction == 'i2t' else 'T→I'}"
        return cls.from_codes(
            query,
            db,
            labels,
            labels,
            kind=kind,
            k=k,
            ties=ties,
            code_format=hasher.code_format,
            n_bits=hasher.n_bits,
            name=name,
            ax=ax,
            **kwargs,
        )


@validate_params(
    {
        "curves": [dict],
        "query_labels": ["array-like", "sparse matrix"],
        "db_labels": ["array-like", "sparse matrix"],
        "title": [str],
    },
    prefer_skip_nested_validation=True,
)
def benchmark_curves_figure(curves, query_labels, db_labels, *, title):
    """A 2 x 2 figure of every method's curves: PR (top) and precision@k (bottom), image-to-text
    (left) and text-to-image (right).

    Parameters
    ----------
    curves : dict
        ``{method: ((query_image_codes, query_text_codes), (db_image_codes, db_text_codes))}``.
    query_labels, db_labels : array-like
        Labels of the queries and of the database.
    title : str
        The start of each column's title.

    Returns
    -------
    figure : matplotlib.figure.Figure
    """
    plt = _import_pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(10, 8))
    for method, (query, database) in curves.items():
        for column, (q, db) in enumerate(((query[0], database[1]), (query[1], database[0]))):
            for row, kind in enumerate(KINDS):
                RetrievalCurveDisplay.from_codes(
                    q, db, query_labels, db_labels, kind=kind, name=method, ax=axes[row, column]
                )
    for column, direction in enumerate(("image → text", "text → image")):
        axes[0, column].set_title(f"{title}: {direction}")
    fig.tight_layout()
    return fig
