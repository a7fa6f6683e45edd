"""The base classes of the hashers.

- :mod:`._hasher`: :class:`BaseCrossModalHasher`, two views in and one Hamming space out, and
  the hashers' tags;
- :mod:`._deep`: :class:`BaseDeepHasher`, the hashers trained as a skorch network.
"""

from ._deep import BaseDeepHasher
from ._hasher import BaseCrossModalHasher, CrossModalTags, HasherTags

__all__ = ["BaseCrossModalHasher", "BaseDeepHasher", "CrossModalTags", "HasherTags"]
