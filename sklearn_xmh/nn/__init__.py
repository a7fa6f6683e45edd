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
from .data import CrossModalDataset
from .dbrc import DBRCLoss, DBRCModule
from .djsrh import DJSRHAlphaSchedule, DJSRHLoss, DJSRHModule, joint_semantics_affinity
from .layers import (
    AdaptiveTanh,
    CrossModalModule,
    ModuleTower,
    SingleViewTower,
    SparseDropout,
    SparseLinear,
    TwoTowers,
    make_mlp,
    sparse_inputs,
)
from .net import (
    AcceleratedCrossModalNet,
    CrossModalNet,
    EpochProgressBar,
    NonFiniteLossGuard,
    accelerated,
    register_accelerated,
    unwrapped,
)
from .optim import LazySGD
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
    "CrossModalDataset",
    "CrossModalModule",
    "CrossModalNet",
    "DBRCLoss",
    "DBRCModule",
    "DJSRHAlphaSchedule",
    "DJSRHLoss",
    "DJSRHModule",
    "EpochProgressBar",
    "LazySGD",
    "ModuleTower",
    "NonFiniteLossGuard",
    "SingleViewTower",
    "SparseDropout",
    "SparseLinear",
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
    "sparse_inputs",
    "triplet_hinge",
    "unwrapped",
]
