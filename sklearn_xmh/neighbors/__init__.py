"""Nearest neighbours: exact Hamming search over codes, and k-NN structures over features.

- :class:`HammingIndex` searches binary codes through the Hamming engine of
  :mod:`sklearn_xmh.metrics`;
- :func:`feature_neighbors` and :func:`correlation_graph` are the feature-space neighbourhoods
  that ``hamming_map_scorer(relevance="neighbors")`` and UGACH use.
"""

from ._graph import correlation_graph, feature_neighbors
from ._index import HammingIndex

__all__ = ["HammingIndex", "correlation_graph", "feature_neighbors"]
