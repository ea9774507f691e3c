"""Loss layers with torch.nn's signatures: MSELoss, L1Loss, CrossEntropyLoss (class-index targets)."""

from __future__ import annotations

from typing import Any

import torch

from .. import functional as F
from .._checks import check_reduction
from .._tensor import Tensor
from .module import Module


class _Loss(Module):
    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            raise ValueError(f"{type(self).__name__}: size_average and reduce are deprecated; use reduction=")
        check_reduction(type(self).__name__, reduction)
        self.reduction = reduction


class MSELoss(_Loss):
    """Mean squared error. input, target: same shape -> scalar ('mean'/'sum') or that shape ('none')."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error. input, target: same shape -> scalar ('mean'/'sum') or that shape ('none')."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy. input: (N, C) or (N, C, d1, ..) logits; target: (N,) or (N, d1, ..) int64 indices.

    `weight` (C,) weighs the classes and targets equal to `ignore_index` contribute nothing, as in torch
    ('mean' divides by the summed weights of the kept targets). Label smoothing is not supported.
    """

    def __init__(
        self,
        weight: Any = None,
        size_average: Any = None,
        ignore_index: int = -100,
        reduce: Any = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        if label_smoothing != 0.0:
            raise ValueError("CrossEntropyLoss: label_smoothing is not supported")
        self.weight = (
            None if weight is None else (weight.data if isinstance(weight, Tensor) else torch.as_tensor(weight))
        )
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        weight = None if self.weight is None else self.weight.to(input.device)
        return F.cross_entropy(input, target, weight, ignore_index=self.ignore_index, reduction=self.reduction)
