"""Torch modules, losses and skorch pieces of the hashing methods."""

from .chn import (
    AcceleratedCHNNet,
    CHNLoss,
    CHNModule,
    CHNNet,
    cosine_max_margin,
    label_similarity,
    quantization_loss,
)
from .dbrc import DBRCLoss, DBRCModule
from .djsrh import DJSRHAlphaSchedule, DJSRHLoss, DJSRHModule, joint_semantics_affinity
from .layers import (
    AdaptiveTanh,
    CrossModalModule,
    ModuleTower,
    SingleViewTower,
    TwoTowers,
    make_mlp,
)
from .net import (
    AcceleratedCrossModalNet,
    CrossModalNet,
    NonFiniteLossGuard,
    accelerated,
    register_accelerated,
    unwrapped,
)
from .ugach import (
    UGACHModule,
    UGACHNet,
    UGACHTripletLoss,
    policy_gradient_loss,
    triplet_hinge,
)

__all__ = [
    "AcceleratedCHNNet",
    "AcceleratedCrossModalNet",
    "AdaptiveTanh",
    "CHNLoss",
    "CHNModule",
    "CHNNet",
    "CrossModalModule",
    "CrossModalNet",
    "DBRCLoss",
    "DBRCModule",
    "DJSRHAlphaSchedule",
    "DJSRHLoss",
    "DJSRHModule",
    "ModuleTower",
    "NonFiniteLossGuard",
    "SingleViewTower",
    "TwoTowers",
    "UGACHModule",
    "UGACHNet",
    "UGACHTripletLoss",
    "accelerated",
    "cosine_max_margin",
    "joint_semantics_affinity",
    "label_similarity",
    "make_mlp",
    "policy_gradient_loss",
    "quantization_loss",
    "register_accelerated",
    "triplet_hinge",
    "unwrapped",
]
