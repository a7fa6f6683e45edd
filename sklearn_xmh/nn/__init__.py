"""Torch modules, losses and skorch pieces of the hashing methods."""

from .dbrc import DBRCLoss, DBRCModule
from .djsrh import DJSRHAlphaSchedule, DJSRHLoss, DJSRHModule, joint_semantics_affinity
from .layers import AdaptiveTanh, SingleViewTower, make_mlp
from .net import CrossModalNet, NonFiniteLossGuard
from .ugach import (
    UGACHModule,
    UGACHNet,
    UGACHTripletLoss,
    correlation_graph,
    policy_gradient_loss,
    triplet_hinge,
)

__all__ = [
    "AdaptiveTanh",
    "CrossModalNet",
    "DBRCLoss",
    "DBRCModule",
    "DJSRHAlphaSchedule",
    "DJSRHLoss",
    "DJSRHModule",
    "NonFiniteLossGuard",
    "SingleViewTower",
    "UGACHModule",
    "UGACHNet",
    "UGACHTripletLoss",
    "correlation_graph",
    "joint_semantics_affinity",
    "make_mlp",
    "policy_gradient_loss",
    "triplet_hinge",
]
