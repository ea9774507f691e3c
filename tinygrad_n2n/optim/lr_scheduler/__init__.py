"""Learning-rate schedulers with torch.optim.lr_scheduler's names, signatures and semantics.

Construct after the optimizer; call `scheduler.step()` after `optimizer.step()` (ReduceLROnPlateau:
`scheduler.step(metric)`). Each step recomputes every group's lr with torch's (chainable) formulas, so the
sequence of lrs is torch's exactly; CyclicLR and OneCycleLR also cycle the momentum (or Adam's beta1).
"""

from .base import LRScheduler
from .chained import ChainedScheduler, SequentialLR
from .cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from .cyclic import CyclicLR, OneCycleLR
from .decay import (
    ConstantLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
)
from .plateau import ReduceLROnPlateau

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]
