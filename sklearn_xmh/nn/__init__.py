"""Torch modules, losses and skorch pieces of the hashing methods."""

from .dbrc import DBRCLoss, DBRCModule
from .layers import AdaptiveTanh, SingleViewTower, make_mlp
from .net import CrossModalNet, NonFiniteLossGuard

__all__ = [
    "AdaptiveTanh",
    "CrossModalNet",
    "DBRCLoss",
    "DBRCModule",
    "NonFiniteLossGuard",
    "SingleViewTower",
    "make_mlp",
]
