"""Cross-modal hashing for scikit-learn: image and text views in one Hamming space.

Importing the package imports neither torch nor skorch: the deep hashers import them when they
first build or load a network, so that the command line and metrics-only use start quickly.
"""

from ._encoders import ModalityEncoder
from .base import BaseCrossModalHasher
from .baselines import CCAITQHasher
from .chn import CHNHasher
from .dbrc import DBRCHasher
from .djsrh import DJSRHHasher
from .metrics import hamming_map_scorer
from .neighbors import HammingIndex
from .plotting import RetrievalCurveDisplay
from .ugach import UGACHHasher
from .utils._codes import convert_codes
from .utils._persistence import trusted_types
from .utils.discovery import all_estimators

__version__ = "0.1.0"

__all__ = [
    "BaseCrossModalHasher",
    "CCAITQHasher",
    "CHNHasher",
    "DBRCHasher",
    "DJSRHHasher",
    "HammingIndex",
    "ModalityEncoder",
    "RetrievalCurveDisplay",
    "UGACHHasher",
    "all_estimators",
    "convert_codes",
    "hamming_map_scorer",
    "trusted_types",
]
