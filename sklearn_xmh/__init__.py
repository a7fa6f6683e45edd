"""Cross-modal hashing for scikit-learn: image and text views as binary codes in one Hamming space.
"""

from ._codes import convert_codes
from ._discovery import all_estimators
from ._encoders import ModalityEncoder
from .base import BaseCrossModalHasher
from .baselines import CCAITQHasher
from .dbrc import DBRCHasher

__version__ = "0.1.0"

__all__ = [
    "BaseCrossModalHasher",
    "CCAITQHasher",
    "DBRCHasher",
    "ModalityEncoder",
    "all_estimators",
    "convert_codes",
]
