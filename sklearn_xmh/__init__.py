"""Cross-modal hashing for scikit-learn: image and text views in one Hamming space."""

from ._codes import convert_codes
from ._discovery import all_estimators
from ._encoders import ModalityEncoder
from ._persistence import trusted_types
from .base import BaseCrossModalHasher
from .baselines import CCAITQHasher
from .chn import CHNHasher
from .dbrc import DBRCHasher
from .djsrh import DJSRHHasher
from .index import HammingIndex
from .metrics import hamming_map_scorer
from .plotting import RetrievalCurveDisplay
from .ugach import UGACHHasher

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
