"""Cross-modal mAP of a fitted hasher, and the scorer behind :func:`hamming_map_scorer`.

The scorer class stays private, as scikit-learn keeps ``_BaseScorer`` behind ``make_scorer``:
users build scorers with :func:`hamming_map_scorer`.
"""

from numbers import Integral

import numpy as np
from scipy import sparse
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params
from sklearn.utils.metadata_routing import UNCHANGED, MetadataRequest

from ..neighbors import feature_neighbors
from ..utils._docs import fill_doc
from ..utils._validation import check_labels
from ._retrieval import TIES, mean_average_precision

DIRECTIONS = ("both", "i2t", "t2i")
RELEVANCES = ("auto", "labels", "pairs", "neighbors")

_SCORE_CONSTRAINTS = {
    "direction": [StrOptions(set(DIRECTIONS))],
    "top_k": [Interval(Integral, 1, None, closed="left"), None],
    "ties": [StrOptions(set(TIES))],
    "random_state": ["random_state"],
}


def last_step(estimator):
    """The hasher of ``estimator``: the estimator itself, or the last step of a Pipeline."""
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def encode_views(estimator, X, y):
    """The hasher of ``estimator`` and the codes of both views: ``(hasher, image_codes,
    text_codes)``. Images go through the whole ``estimator`` (a Pipeline's ``transform``),
    texts through the hasher's ``transform_text``."""
    if y is None:
        raise ValueError("Scoring cross-modal retrieval requires the text view y.")
    hasher = last_step(estimator)
    return hasher, estimator.transform(X), hasher.transform_text(y)


@fill_doc
@validate_params(
    {
        "estimator": [HasMethods(["transform"])],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like", "sparse matrix", None],
        "labels": ["array-like", "sparse matrix", None],
        **_SCORE_CONSTRAINTS,
    },
    prefer_skip_nested_validation=True,
)
def cross_modal_map(
    estimator,
    X,
    y,
    labels=None,
    *,
    direction="both",
    top_k=None,
    ties="stable",
    random_state=None,
):
    """mAP of a fitted hasher on paired views: I->T, T->I, or their mean.

    Each image of ``X`` queries the texts of ``y`` (I->T) and each text queries the images (T->I).
    Hashers' ``score`` and :func:`hamming_map_scorer` both compute it here.

    Parameters
    ----------
    estimator : fitted hasher or Pipeline ending in one
        Images go through ``estimator.transform``; texts through the last step's
        ``transform_text``.
    X, y : array-like
        Paired image and text views.
    labels : array-like of shape (n_samples,) or (n_samples, n_classes), default=None
        Class ids or multi-hot labels; None scores pair retrieval.
    %(scoring_parameters)s
    random_state : int, RandomState instance or None, default=None
        Seeds the tie order of ``ties="random"``.

    Returns
    -------
    score : float

    Examples
    --------
    >>> from sklearn_xmh import CCAITQHasher
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> from sklearn_xmh.metrics import cross_modal_map
    >>> data = make_cross_modal(
    ...     n_samples=100, n_image_features=8, n_text_features=6, random_state=0
    ... )
    >>> hasher = CCAITQHasher(n_bits=8, random_state=0).fit(data.X_image, data.X_text)
    >>> score = cross_modal_map(hasher, data.X_image, data.X_text, data.labels, direction="i2t")
    >>> 0.0 <= score <= 1.0
    True
    """
    hasher, image_codes, text_codes = encode_views(estimator, X, y)
    labels = check_labels(labels, image_codes.shape[0])
    return _map_both_ways(
        hasher, image_codes, text_codes, labels, labels, direction, top_k, ties, random_state
    )


def _map_both_ways(
    hasher, image_codes, text_codes, query_labels, db_labels, direction, top_k, ties, random_state
):
    """Mean of the requested I->T / T->I mAPs; both directions share one relevance."""
    options = {
        "top_k": top_k,
        "ties": ties,
        "random_state": random_state,
        "code_format": hasher.code_format,
        "n_bits": hasher.n_bits,
    }
    scores = []
    if direction in ("both", "i2t"):
        scores.append(
            mean_average_precision(image_codes, text_codes, query_labels, db_labels, **options)
        )
    if direction in ("both", "t2i"):
        scores.append(
            mean_average_precision(text_codes, image_codes, query_labels, db_labels, **options)
        )
    return float(np.mean(scores))


class _HammingMAPScorer:
    """Cross-modal mAP scorer for model selection: private, built by :func:`hamming_map_scorer`.

    Called as ``scorer(estimator, X, y, labels=None)`` with the image view ``X`` and the text
    view ``y``. It is a metadata consumer of ``labels`` for its ``score`` method, so that
    ``GridSearchCV`` and ``cross_validate`` can route labels to it. Its parameters are those
    of :func:`hamming_map_scorer`, which validates them.
    """

    def __init__(self, *, direction, top_k, ties, relevance, random_state, n_neighbors):
        self.direction = direction
        self.top_k = top_k
        self.ties = ties
        self.relevance = relevance
        self.random_state = random_state
        self.n_neighbors = n_neighbors

    def __call__(self, estimator, X, y=None, *, labels=None):
        """Score a fitted hasher, or a Pipeline ending in one, on paired views.

        Parameters
        ----------
        estimator : fitted hasher or Pipeline ending in one
            The model to score.
        X : array-like of shape (n_samples, n_image_features)
            Image view.
        y : array-like of shape (n_samples, n_text_features)
            Text view.
        labels : array-like of shape (n_samples,) or (n_samples, n_classes), default=None
            Class ids or multi-hot labels, routed under metadata routing.

        Returns
        -------
        score : float
        """
        if self.relevance == "labels" and labels is None:
            raise ValueError(
                "hamming_map_scorer(relevance='labels') received no labels. Enable metadata "
                "routing (sklearn.set_config(enable_metadata_routing=True)), call "
                "scorer.set_score_request(labels=True) and pass labels=... to fit, or use "
                "relevance='auto' or 'pairs'."
            )
        if self.relevance == "neighbors":
            return self._score_against_neighbors(estimator, X, y)
        if self.relevance == "pairs":
            labels = None
        return cross_modal_map(
            estimator,
            X,
            y,
            labels,
            direction=self.direction,
            top_k=self.top_k,
            ties=self.ties,
            random_state=self.random_state,
        )

    def _score_against_neighbors(self, estimator, X, y):
        hasher, image_codes, text_codes = encode_views(estimator, X, y)
        neighbors = feature_neighbors(X, y, n_neighbors=self.n_neighbors)
        # As sparse multi-hot labels: a query carries its neighbours' indices, an item its own
        # index, so that memory grows as n_samples * n_neighbors.
        items = sparse.identity(neighbors.shape[0], dtype=bool, format="csr")
        return _map_both_ways(
            hasher,
            image_codes,
            text_codes,
            neighbors,
            items,
            self.direction,
            self.top_k,
            self.ties,
            self.random_state,
        )

    def set_score_request(self, *, labels=UNCHANGED):
        """Request ``labels`` for scoring under metadata routing.

        Parameters
        ----------
        labels : bool, str or None, default=UNCHANGED
            ``True`` to receive routed labels, ``False`` not to, a string to receive them
            under that alias.

        Returns
        -------
        self : object
        """
        from sklearn import get_config

        if not get_config().get("enable_metadata_routing", False):
            raise RuntimeError(
                "set_score_request is only available when metadata routing is enabled: use "
                "sklearn.set_config(enable_metadata_routing=True)."
            )
        if labels is not UNCHANGED:
            self._labels_request = labels
        return self

    def get_metadata_routing(self):
        """The metadata this scorer consumes: ``labels`` for ``score``.

        Returns
        -------
        request : sklearn.utils.metadata_routing.MetadataRequest
        """
        request = MetadataRequest(owner=self)
        request.score.add_request(param="labels", alias=getattr(self, "_labels_request", None))
        return request

    def _accept_sample_weight(self):
        # Asked by sklearn's multi-metric scorer when sample weights are passed without routing.
        return False

    def _routing_repr(self):
        return repr(self)

    def __repr__(self):
        return (
            f"hamming_map_scorer(direction={self.direction!r}, top_k={self.top_k!r}, "
            f"ties={self.ties!r}, relevance={self.relevance!r}"
            + (f", n_neighbors={self.n_neighbors!r})" if self.relevance == "neighbors" else ")")
        )


@fill_doc
@validate_params(
    {
        **_SCORE_CONSTRAINTS,
        "relevance": [StrOptions(set(RELEVANCES))],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def hamming_map_scorer(
    direction="both",
    top_k=None,
    ties="stable",
    relevance="auto",
    *,
    random_state=None,
    n_neighbors=20,
):
    """Build a cross-modal mAP scorer for ``scoring=`` in model selection.

    The scorer encodes the image view ``X`` with ``estimator.transform`` (through a whole
    Pipeline) and the text view ``y`` with the last step's ``transform_text``, then computes
    :func:`cross_modal_map`. Under metadata routing it can receive ``labels``: call
    ``scorer.set_score_request(labels=True)``.

    Parameters
    ----------
    %(scoring_parameters)s
    relevance : {"auto", "labels", "pairs", "neighbors"}, default="auto"
        ``"labels"`` raises when no labels arrive (for example when routing is off),
        ``"pairs"`` always scores pair retrieval, ``"auto"`` uses labels when they arrive and
        pairs otherwise. ``"neighbors"`` needs no labels and ignores them: an item is relevant
        to a query when its pair is among the ``n_neighbors`` nearest pairs of the query's pair
        in the scored fold's joint feature space
        (:func:`~sklearn_xmh.neighbors.feature_neighbors`), the ground truth of unsupervised
        hashing benchmarks. Pair retrieval has one relevant item per query and
        is a noisy criterion; neighbourhoods also show whether codes keep the structure of the
        features. Its neighbourhoods are a sparse k-NN graph over the fold, ``O(n k)`` memory.
    random_state : int, RandomState instance or None, default=None
        Seeds the tie order of ``ties="random"``.
    n_neighbors : int, default=20
        Neighbours per pair with ``relevance="neighbors"``, the pair itself included.

    Returns
    -------
    scorer : callable
        A scorer object ``scorer(estimator, X, y, labels=None)``.

    Examples
    --------
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn_xmh import CCAITQHasher
    >>> from sklearn_xmh.datasets import make_cross_modal
    >>> from sklearn_xmh.metrics import hamming_map_scorer
    >>> data = make_cross_modal(
    ...     n_samples=120, n_image_features=8, n_text_features=6, random_state=0
    ... )
    >>> scores = cross_val_score(
    ...     CCAITQHasher(n_bits=8, random_state=0), data.X_image, data.X_text, cv=3,
    ...     scoring=hamming_map_scorer(direction="i2t", top_k=10),
    ... )
    >>> scores.shape
    (3,)
    """
    return _HammingMAPScorer(
        direction=direction,
        top_k=top_k,
        ties=ties,
        relevance=relevance,
        random_state=random_state,
        n_neighbors=n_neighbors,
    )
