"""Classification losses of the functional API: nll_loss and cross_entropy, torch's signatures and numbers.

x: (N, C), (N, C, d1, ...) or unbatched (C,) scores; the class dim is 1 (0 when unbatched). Targets are class
indices, (N, d1, ...) or () int64 / uint8 with `ignore_index` marking ignored ones, or, for cross_entropy only,
class probabilities of x's shape. Class weights (C,) are constants (no gradient), except with probability
targets, where torch differentiates them too. 'mean' over class indices divides by the summed weights of the
kept targets (nan, with a zero gradient, when none is kept).

Device-clean: no value is read on the host, except the range check of class indices on the CPU (torch's
IndexError there; an accelerator's gather raises its own device-side error).
"""

from __future__ import annotations

from typing import Any

import torch

from . import tape
from ._checks import as_tensor, check_devices, check_reduction
from ._tensor import Tensor
from .losses import legacy_reduction
from .ops import loss, softmax
from .ops import reduce as red


def nll_loss(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """-w[t] · x[t], the negative log-likelihood of class-index targets given log-probabilities x (see the module
    docstring for shapes) -> scalar, or the target's shape for 'none'."""
    x = as_tensor(input)
    reduction = legacy_reduction("nll_loss", size_average, reduce, reduction)
    check_reduction("nll_loss", reduction)
    if x.ndim == 0:
        raise ValueError("nll_loss: Expected 1 or more dimensions (got 0) for the input, (C,) or (N, C, ...)")
    target, weight = _class_targets("nll_loss", x, target, weight, ignore_index)
    return _nll(x, target, weight, ignore_index, reduction)


def cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy of logits x against class indices or class probabilities (see the module docstring)
    -> scalar, or x's shape without the class dim for 'none'.

    label_smoothing ε in [0, 1] mixes the target with the uniform distribution: (1 - ε)·target + ε/C.
    """
    name = "cross_entropy"
    x = as_tensor(input)
    reduction = legacy_reduction(name, size_average, reduce, reduction)
    check_reduction(name, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"{name}: label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if x.ndim == 0:
        raise RuntimeError(f"{name}: expected logits (C,) or (N, C, ...), got a 0-d tensor")
    class_dim = 1 if x.ndim > 1 else 0
    probabilities = as_tensor(target) if not isinstance(target, Tensor) else target
    if probabilities.shape == x.shape:
        return _probability_targets(x, probabilities, weight, ignore_index, reduction, label_smoothing)
    target, weight = _class_targets(name, x, target, weight, ignore_index)
    if label_smoothing == 0:
        return _nll(softmax.LogSoftmax.apply(x, dim=class_dim), target, weight, ignore_index, reduction)
    smoothed, total_weight = _smoothed_targets(x, target, weight, ignore_index, label_smoothing, class_dim)
    return _reduce_kept(loss.SoftmaxCrossEntropy.apply(x, smoothed, dim=class_dim), total_weight, reduction)


def _smoothed_targets(x, target, weight, ignore_index, label_smoothing, class_dim):
    """Class indices as weighted distributions w_c ((1 - ε)[c = t] + ε/C), zero where ignored (a constant of x's
    shape), and the summed weight w[t] of the kept targets: the 'mean' divisor, as for nll."""
    kept = target != ignore_index
    safe = target.masked_fill(~kept, 0)
    index = safe.unsqueeze(class_dim)
    smoothed = torch.full_like(x.data, label_smoothing / x.shape[class_dim])
    smoothed.scatter_add_(class_dim, index, torch.full_like(index, 1 - label_smoothing, dtype=x.dtype))
    smoothed *= kept.unsqueeze(class_dim)
    if weight is None:
        return smoothed, kept.sum().to(x.dtype)
    weight = weight.to(x.dtype)
    smoothed *= weight.reshape(_class_shape(x, class_dim))
    return smoothed, (weight[safe] * kept).sum()


def _nll(log_probs: Tensor, target: torch.Tensor, weight: torch.Tensor | None, ignore_index: int, reduction: str):
    """-weight[t] · log_probs[t] per target (checked raw tensors), reduced."""
    class_dim = 1 if log_probs.ndim > 1 else 0
    kept = target != ignore_index
    safe = target.masked_fill(~kept, 0)  # ignored targets pick class 0, then get weight 0
    picked = red.Gather.apply(log_probs, safe.unsqueeze(class_dim), dim=class_dim).squeeze(class_dim)
    scale = kept.to(log_probs.dtype) if weight is None else weight.to(log_probs.dtype)[safe] * kept
    return _reduce_kept(-picked * Tensor(scale), scale.sum(), reduction)


def _probability_targets(x, target, weight, ignore_index, reduction, label_smoothing) -> Tensor:
    name = "cross_entropy"
    if not target.dtype.is_floating_point:
        raise RuntimeError(
            f"{name}: Expected floating point type for target with class probabilities, got {target.dtype} "
            f"(targets of the logits' shape {tuple(x.shape)} are probabilities; class indices drop the class dim)"
        )
    if ignore_index != -100:
        raise RuntimeError(f"{name}: ignore_index is not supported for floating point target")
    class_dim = 1 if x.ndim > 1 else 0
    classes = x.shape[class_dim]
    weight = None if weight is None else as_tensor(weight)
    check_devices(name, x, target, weight)
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    if weight is not None:
        _check_weight(name, weight, classes)
        target = target * weight.reshape(_class_shape(x, class_dim))
    losses = loss.SoftmaxCrossEntropy.apply(x, target, dim=class_dim)
    if reduction == "mean":
        return losses.sum() / (x.numel() // classes) if x.numel() else losses.sum() + float("nan")
    return losses.sum() if reduction == "sum" else losses


def _class_targets(name: str, x: Tensor, target: Any, weight: Any, ignore_index: int):
    """(target, weight) as raw tensors, checked against x (N, C, ...) or (C,) as torch checks them."""
    target = _raw(target, x)
    if target.dtype not in (torch.int64, torch.uint8):
        raise RuntimeError(f"{name}: expected target dtype to be Long or Byte, but got {target.dtype}")
    if x.ndim == 1:
        if target.ndim > 1 or target.numel() != 1:
            raise ValueError(f"{name}: For 1D input, 1D target must have size 1, but got target size: {target.numel()}")
    elif target.ndim == 0 or target.shape[0] != x.shape[0]:
        raise ValueError(
            f"{name}: Expected input batch_size ({x.shape[0]}) to match target batch_size "
            f"({target.shape[0] if target.ndim else 'none: a 0-d target'}) (input {tuple(x.shape)}, target "
            f"{tuple(target.shape)})"
        )
    elif target.shape[1:] != x.shape[2:]:
        raise RuntimeError(
            f"{name}: Expected target size {(x.shape[0], *x.shape[2:])}, got {tuple(target.shape)} "
            f"(input {tuple(x.shape)})"
        )
    classes = x.shape[1 if x.ndim > 1 else 0]
    if weight is not None:
        if isinstance(weight, Tensor) and weight.requires_grad and tape.is_recording():
            raise RuntimeError(
                f"{name}: The function is not differentiable with respect to argument 'weight' (as in torch); "
                "pass weight.detach()"
            )
        weight = _raw(weight, x)
        _check_weight(name, weight, classes)
    check_devices(name, x, target, weight)
    if target.device.type == "cpu" and target.numel():
        out_of_range = (target != ignore_index) & ((target < 0) | (target >= classes))
        if out_of_range.any():
            raise IndexError(f"{name}: Target {target[out_of_range][0].item()} is out of bounds (classes: {classes}).")
    target = target.long()  # gather's index dtype (uint8 targets are allowed, as in torch)
    return target.reshape(()) if x.ndim == 1 else target, weight


def _raw(value: Any, x: Tensor) -> torch.Tensor:
    """An engine or torch tensor's raw tensor as it is; anything else (a list) as a tensor on x's device."""
    if isinstance(value, Tensor):
        return value.data
    return value if isinstance(value, torch.Tensor) else torch.as_tensor(value, device=x.device)


def _check_weight(name: str, weight: Any, classes: int) -> None:
    if tuple(weight.shape) != (classes,):
        raise RuntimeError(
            f"{name}: weight tensor should be defined either for all {classes} classes or no classes but got weight "
            f"tensor of shape: {tuple(weight.shape)}"
        )


def _class_shape(x: Tensor, class_dim: int) -> tuple[int, ...]:
    """The shape that broadcasts a (C,) weight along x's class dim."""
    return tuple(-1 if d == class_dim else 1 for d in range(x.ndim))


def _reduce_kept(losses: Tensor, total_weight: torch.Tensor, reduction: str) -> Tensor:
    """Weighted per-target losses reduced; 'mean' divides by `total_weight` (the kept targets' summed weights) and
    is nan with a zero gradient when that is 0 (as torch), without reading it on the host."""
    if reduction != "mean":
        return losses.sum() if reduction == "sum" else losses
    nothing_kept = total_weight == 0
    inverse = torch.where(nothing_kept, 0.0, 1 / total_weight)
    return losses.sum() * Tensor(inverse) + Tensor(torch.where(nothing_kept, torch.nan, 0.0).to(inverse.dtype))
