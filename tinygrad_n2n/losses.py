"""Loss functions of the functional API (re-exported by `tinygrad_n2n.functional`), torch's signatures and numbers.

Regression and divergence losses here; the class-index losses (nll_loss, cross_entropy) in `class_losses.py`.
mse_loss, l1_loss and the binary cross-entropies are primitives (`ops.loss`); smooth_l1_loss, huber_loss and
kl_div are compositions of engine ops. Every loss takes torch's `reduction` ('mean', 'sum', 'none'; kl_div also
'batchmean') and the deprecated `size_average` / `reduce` bools where torch has them, with torch's warning.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from . import tape
from ._checks import as_tensor, check_devices, check_reduction
from ._tensor import Tensor
from .ops import loss
from .ops.where import Where


def legacy_reduction(name: str, size_average: Any, reduce: Any, reduction: str) -> str:
    """The `reduction` that torch's deprecated `size_average` / `reduce` bools stand for (with torch's warning);
    `reduction` itself when both are None. A string passed positionally into `size_average` is refused, since
    torch would silently read it as True."""
    if size_average is None and reduce is None:
        return reduction
    for arg, value in (("size_average", size_average), ("reduce", reduce)):
        if value is not None and not isinstance(value, bool):
            raise TypeError(
                f"{name}: {arg} must be a bool or None (it is deprecated), got {value!r}; pass the reduction by "
                f"keyword: reduction={value!r}"
            )
    if reduce is False:
        result = "none"
    else:
        result = "sum" if size_average is False else "mean"
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{result}' instead.", stacklevel=3
    )
    return result


def reduce_loss(losses: Tensor, reduction: str) -> Tensor:
    """Elementwise losses reduced as `reduction` says: their mean, their sum, or themselves ('none')."""
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def _check_target(name: str, x: Tensor, target: Tensor) -> None:
    """A target of another shape is broadcast against the input, with torch's warning (it is rarely what was
    meant); shapes that do not broadcast raise torch's RuntimeError."""
    check_devices(name, x, target)
    if x.shape == target.shape:
        return
    try:
        torch.broadcast_shapes(x.shape, target.shape)
    except RuntimeError:
        raise RuntimeError(
            f"{name}: input shape {tuple(x.shape)} and target shape {tuple(target.shape)} do not broadcast together"
        ) from None
    warnings.warn(
        f"{name}: Using a target size ({tuple(target.shape)}) that is different to the input size "
        f"({tuple(x.shape)}). This will likely lead to incorrect results due to broadcasting. Please ensure "
        "they have the same size.",
        stacklevel=3,
    )


def _weighted(name: str, losses: Tensor, weight: Any, x: Tensor, reduction: str, mean_by_weight: bool) -> Tensor:
    """losses · weight (weight: x's shape), reduced; 'mean' divides by Σ weight (or by the count)."""
    weight = as_tensor(weight)
    if weight.shape != x.shape:
        raise ValueError(
            f"{name}: Weights and input must have the same size, got {tuple(weight.shape)} and {tuple(x.shape)}"
        )
    losses = losses * weight
    if reduction == "mean" and mean_by_weight:
        return losses.sum() / weight.sum()
    return reduce_loss(losses, reduction)


def mse_loss(
    input: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean", weight: Any = None
) -> Tensor:
    """Squared error (x - t)², reduced. x, target: one shape (or broadcastable, with torch's warning); weight:
    optional, x's shape ('mean' then divides by Σ weight) -> scalar, or the broadcast shape for 'none'."""
    x, target = as_tensor(input), as_tensor(target)
    reduction = legacy_reduction("mse_loss", size_average, reduce, reduction)
    check_reduction("mse_loss", reduction)
    _check_target("mse_loss", x, target)
    if weight is not None:
        return _weighted("mse_loss", loss.MSELoss.apply(x, target, reduction="none"), weight, x, reduction, True)
    return loss.MSELoss.apply(x, target, reduction=reduction)


def l1_loss(
    input: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean", weight: Any = None
) -> Tensor:
    """Absolute error |x - t|, reduced. x, target: one shape (or broadcastable, with torch's warning); weight:
    optional, x's shape ('mean' then divides by Σ weight) -> scalar, or the broadcast shape for 'none'."""
    x, target = as_tensor(input), as_tensor(target)
    reduction = legacy_reduction("l1_loss", size_average, reduce, reduction)
    check_reduction("l1_loss", reduction)
    _check_target("l1_loss", x, target)
    if weight is not None:
        return _weighted("l1_loss", loss.L1Loss.apply(x, target, reduction="none"), weight, x, reduction, True)
    return loss.L1Loss.apply(x, target, reduction=reduction)


def smooth_l1_loss(
    input: Any, target: Any, size_average: Any = None, reduce: Any = None, reduction: str = "mean", beta: float = 1.0
) -> Tensor:
    """0.5 (x - t)² / β where |x - t| < β, else |x - t| - 0.5 β (l1_loss for β = 0), reduced. x, target: one shape
    (or broadcastable, with torch's warning) -> scalar, or the broadcast shape for 'none'."""
    x, target = as_tensor(input), as_tensor(target)
    reduction = legacy_reduction("smooth_l1_loss", size_average, reduce, reduction)
    check_reduction("smooth_l1_loss", reduction)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: beta must not be negative, got beta={beta}")
    _check_target("smooth_l1_loss", x, target)
    if beta == 0:
        return loss.L1Loss.apply(x, target, reduction=reduction)
    diff = x - target
    distance = diff.abs()
    inside = distance.data < beta
    return reduce_loss(Where.apply(inside, 0.5 * diff * diff / beta, distance - 0.5 * beta), reduction)


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0, weight: Any = None) -> Tensor:
    """0.5 (x - t)² where |x - t| < δ, else δ (|x - t| - 0.5 δ), reduced. x, target: one shape (or broadcastable,
    with torch's warning); weight: optional, x's shape ('mean' stays the plain mean) -> scalar, or that shape."""
    x, target = as_tensor(input), as_tensor(target)
    check_reduction("huber_loss", reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss: delta must be positive, got delta={delta}")
    _check_target("huber_loss", x, target)
    diff = x - target
    distance = diff.abs()
    losses = Where.apply(distance.data < delta, 0.5 * diff * diff, delta * (distance - 0.5 * delta))
    if weight is not None:
        return _weighted("huber_loss", losses, weight, x, reduction, False)
    return reduce_loss(losses, reduction)


def kl_div(
    input: Any,
    target: Any,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Kullback-Leibler divergence Σ t (log t - x) with x = log q given (t given as log t when `log_target`).

    x, target: one shape (broadcastable) -> scalar, or the broadcast shape for 'none'. 'batchmean' divides the
    sum by the batch size x.shape[0] (the KL divergence per sample); 'mean' divides by every element, with
    torch's warning. t log t is 0 where t = 0.
    """
    name = "kl_div"
    x, target = as_tensor(input), as_tensor(target)
    if not (x.dtype.is_floating_point and target.dtype.is_floating_point):
        raise RuntimeError(f"{name}: Integral inputs not supported, got {x.dtype} and {target.dtype}")
    batchmean = reduction == "batchmean" and size_average is None and reduce is None
    reduction = "sum" if batchmean else legacy_reduction(name, size_average, reduce, reduction)
    check_reduction(name, reduction)
    if reduction == "mean" and size_average is None and reduce is None:
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size.'batchmean' "
            "divides only by the batch size, and aligns with the KL div math definition.'mean' will be changed to "
            "behave the same as 'batchmean' in the next major release.",
            stacklevel=2,
        )
    check_devices(name, x, target)
    if log_target:
        losses = target.exp() * (target - x)
    elif target.requires_grad:
        entropy = Where.apply(target.data == 0, target.data.new_zeros(()), target * target.log())
        losses = entropy - target * x
    else:
        losses = Tensor(torch.xlogy(target.data, target.data)) - target * x
    reduced = reduce_loss(losses, reduction)
    return reduced / x.shape[0] if batchmean and x.ndim else reduced


def binary_cross_entropy(
    input: Any, target: Any, weight: Any = None, size_average: Any = None, reduce: Any = None, reduction: str = "mean"
) -> Tensor:
    """-w (t log x + (1 - t) log(1 - x)) with each log clamped at -100, reduced. x: probabilities in [0, 1];
    target: x's shape; weight: broadcastable to it (a constant) -> scalar, or x's shape for 'none'."""
    name = "binary_cross_entropy"
    x, target = as_tensor(input), as_tensor(target)
    reduction = legacy_reduction(name, size_average, reduce, reduction)
    check_reduction(name, reduction)
    if x.shape != target.shape:
        raise ValueError(
            f"{name}: Using a target size ({tuple(target.shape)}) that is different to the input size "
            f"({tuple(x.shape)}) is deprecated. Please ensure they have the same size."
        )
    weight = _constant(name, "weight", weight, x)
    check_devices(name, x, target, weight)
    return loss.BinaryCrossEntropy.apply(x, target, weight, reduction=reduction)


def binary_cross_entropy_with_logits(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    reduce: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """w ((1 - t) x - (1 + (p - 1) t) log σ(x)): binary cross-entropy on logits x, computed stably. x, target: one
    shape; weight (w) and pos_weight (p, the weight of positive targets, e.g. (C,)): broadcastable to it, constants
    -> scalar, or the broadcast shape for 'none'."""
    name = "binary_cross_entropy_with_logits"
    x, target = as_tensor(input), as_tensor(target)
    reduction = legacy_reduction(name, size_average, reduce, reduction)
    check_reduction(name, reduction)
    if x.shape != target.shape:
        raise ValueError(
            f"{name}: Target size ({tuple(target.shape)}) must be the same as input size ({tuple(x.shape)})"
        )
    weight, pos_weight = _constant(name, "weight", weight, x), _constant(name, "pos_weight", pos_weight, x)
    check_devices(name, x, target, weight, pos_weight)
    return loss.BinaryCrossEntropyWithLogits.apply(x, target, weight, pos_weight, reduction=reduction)


def _constant(name: str, arg: str, value: Any, x: Tensor) -> torch.Tensor | None:
    """A weight argument as a raw tensor (a list: on x's device); one that needs a gradient is refused, as torch
    refuses it."""
    if isinstance(value, Tensor):
        if value.requires_grad and tape.is_recording():
            raise RuntimeError(
                f"{name}: The function is not differentiable with respect to argument '{arg}' (as in torch); "
                f"pass {arg}.detach()"
            )
        return value.data
    return value if value is None or isinstance(value, torch.Tensor) else torch.as_tensor(value, device=x.device)
