"""Loss functions of the functional API (re-exported by `tinygrad_n2n.functional`), torch's signatures."""

from __future__ import annotations

from typing import Any

import torch

from ._checks import as_tensor, check_devices, check_reduction
from ._tensor import Tensor
from .ops import loss, softmax
from .ops import reduce as red


def _check_same_shape(name: str, x: Tensor, target: Tensor) -> None:
    if x.shape != target.shape:
        raise ValueError(f"{name}: input shape {tuple(x.shape)} and target shape {tuple(target.shape)} must be equal")


def mse_loss(x: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error; x and target of the same shape -> scalar (or that shape for 'none')."""
    x, target = as_tensor(x), as_tensor(target)
    check_reduction("mse_loss", reduction)
    _check_same_shape("mse_loss", x, target)
    return loss.MSELoss.apply(x, target, reduction=reduction)


def l1_loss(x: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error; x and target of the same shape -> scalar (or that shape for 'none')."""
    x, target = as_tensor(x), as_tensor(target)
    check_reduction("l1_loss", reduction)
    _check_same_shape("l1_loss", x, target)
    return loss.L1Loss.apply(x, target, reduction=reduction)


def cross_entropy(
    x: Any,
    target: Any,
    weight: Any = None,
    size_average: None = None,
    ignore_index: int = -100,
    reduce: None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy with class-index targets, torch's signature and semantics.

    x: (N, C) or (N, C, d1, ...) logits; target: (N,) or (N, d1, ...) int64 in [0, C) or `ignore_index`;
    weight: optional (C,) class weights (a constant: no gradient flows to it) -> scalar, or (N, d1, ...) for
    'none'. 'mean' divides by the summed weights of the non-ignored targets (nan when all are ignored).
    """
    name = "cross_entropy"
    x = as_tensor(x)
    if size_average is not None or reduce is not None or label_smoothing != 0.0:
        raise ValueError(f"{name}: size_average/reduce (deprecated in torch) and label_smoothing are not supported")
    target = target.data if isinstance(target, Tensor) else target
    target = target if isinstance(target, torch.Tensor) else torch.as_tensor(target, device=x.device)
    check_reduction(name, reduction)
    check_devices(name, x, target)
    if x.ndim < 2 or target.shape != x.shape[:1] + x.shape[2:]:
        raise ValueError(
            f"{name}: expected logits (N, C, ...) and targets (N, ...); got logits "
            f"{tuple(x.shape)} and targets {tuple(target.shape)}"
        )
    kept = target != ignore_index
    safe = target.masked_fill(~kept, 0)  # ignored targets pick class 0, then get weight 0
    if target.is_floating_point() or (safe.numel() and (safe.min() < 0 or safe.max() >= x.shape[1])):
        raise ValueError(
            f"{name}: targets must be integer class indices in [0, {x.shape[1]}) or ignore_index={ignore_index}, "
            f"got dtype {target.dtype} with values in [{target.min().item()}, {target.max().item()}]"
        )
    if weight is not None:
        weight = weight.data if isinstance(weight, Tensor) else torch.as_tensor(weight, device=x.device)
        if weight.shape != (x.shape[1],):
            raise ValueError(
                f"{name}: weight must have shape ({x.shape[1]},), one per class, got {tuple(weight.shape)}"
            )
    log_probs = softmax.LogSoftmax.apply(x, dim=1)
    picked = red.Gather.apply(log_probs, safe.unsqueeze(1), dim=1).squeeze(1)
    if weight is None and bool(kept.all()):
        if reduction == "mean":
            return -picked.mean()
        return -picked.sum() if reduction == "sum" else -picked
    scale = kept.to(x.dtype) if weight is None else weight.to(x.dtype)[safe] * kept
    losses = -picked * Tensor(scale)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    total = scale.sum()
    return losses.sum() / total if total > 0 else losses.sum() + float("nan")  # torch: nan, zero gradient
