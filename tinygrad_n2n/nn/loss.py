"""Loss layers with torch.nn's signatures: each stores its options and calls its `nn.functional` loss.

`reduction` is 'mean' (default), 'sum' or 'none' (KLDivLoss also 'batchmean'); the deprecated `size_average` /
`reduce` bools map to it with torch's warning. Class weights (`weight`) and BCEWithLogitsLoss's `pos_weight`
are buffers, as in torch: they appear in `state_dict` and move with `.to()`.
"""

from __future__ import annotations

from typing import Any

from .._checks import check_reduction
from .._tensor import Tensor
from ..losses import legacy_reduction
from . import functional as F
from .module import Module


class _Loss(Module):
    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = legacy_reduction(type(self).__name__, size_average, reduce, reduction)
        if self.reduction != "batchmean" or not isinstance(self, KLDivLoss):
            check_reduction(type(self).__name__, self.reduction)  # when built, where torch waits for the call


class _WeightedLoss(_Loss):
    def __init__(self, weight: Any = None, size_average: Any = None, reduce: Any = None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class L1Loss(_Loss):
    """Mean absolute error. input, target: same shape -> scalar ('mean'/'sum') or that shape ('none')."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error. input, target: same shape -> scalar ('mean'/'sum') or that shape ('none')."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """0.5 (x - t)² / β where |x - t| < β, else |x - t| - 0.5 β. input, target: same shape -> scalar or that shape."""

    def __init__(
        self, size_average: Any = None, reduce: Any = None, reduction: str = "mean", beta: float = 1.0
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """0.5 (x - t)² where |x - t| < δ, else δ (|x - t| - 0.5 δ). input, target: same shape -> scalar or that shape."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """Σ t (log t - x) for log-probabilities x and probabilities t (log-probabilities when `log_target`).

    input, target: same shape -> scalar, or that shape for 'none'; 'batchmean' divides the sum by the batch size.
    """

    def __init__(
        self, size_average: Any = None, reduce: Any = None, reduction: str = "mean", log_target: bool = False
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of class indices. input: (N, C) or (N, C, d1, ..) log-probabilities (or (C,));
    target: (N,) or (N, d1, ..) int64 -> scalar, or the target's shape for 'none'. weight: (C,) per class."""

    def __init__(
        self,
        weight: Any = None,
        size_average: Any = None,
        ignore_index: int = -100,
        reduce: Any = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy. input: (N, C) or (N, C, d1, ..) logits (or (C,)); target: class indices (N,) or
    (N, d1, ..) int64, or class probabilities of input's shape -> scalar, or the per-sample losses for 'none'.

    `weight` (C,) weighs the classes; targets equal to `ignore_index` contribute nothing ('mean' divides by the
    summed weights of the kept targets); `label_smoothing` mixes the targets with the uniform distribution.
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
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities: -w (t log x + (1 - t) log(1 - x)), each log clamped at -100.

    input: probabilities in [0, 1], any shape; target: the same shape; weight: broadcastable -> scalar or that shape.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy on logits (sigmoid folded in, computed stably). input, target: the same shape;
    weight: broadcastable; pos_weight: the weight of positive targets, broadcastable (e.g. (C,)) -> scalar or that
    shape."""

    def __init__(
        self,
        weight: Any = None,
        size_average: Any = None,
        reduce: Any = None,
        reduction: str = "mean",
        pos_weight: Any = None,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, pos_weight=self.pos_weight, reduction=self.reduction
        )
