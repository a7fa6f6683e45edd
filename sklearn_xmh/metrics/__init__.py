"""Retrieval metrics over binary codes, and scorers for model selection.

- :mod:`~sklearn_xmh.metrics._pairwise`: :func:`hamming_distances`;
- :mod:`~sklearn_xmh.metrics._retrieval`: AP, mAP, precision@k, PR curves, radius precision;
- :mod:`~sklearn_xmh.metrics._scorer`: cross-modal mAP of a fitted hasher and
  :func:`hamming_map_scorer`.
"""

from ._pairwise import hamming_distances
from ._retrieval import (
    average_precision_scores,
    mean_average_precision,
    precision_at_k,
    precision_recall_curve,
    precision_within_radius,
)
from ._scorer import cross_modal_map, hamming_map_scorer

__all__ = [
    "average_precision_scores",
    "cross_modal_map",
    "hamming_distances",
    "hamming_map_scorer",
    "mean_average_precision",
    "precision_at_k",
    "precision_recall_curve",
    "precision_within_radius",
]
