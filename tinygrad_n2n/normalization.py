"""Normalisation functions of the functional API (re-exported by `tinygrad_n2n.functional`), torch's signatures.

layer_norm, group_norm and batch_norm are primitives (`ops.norm`); instance_norm is group_norm with one group per
channel (plus torch's running-stat update), normalize and cosine_similarity divide by a `VectorNorm`. Running
statistics (batch_norm, instance_norm) are raw tensors or engine buffers, updated in place as torch does; no
gradient flows to them.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ._checks import as_tensor, canonical_dim, check_devices
from ._tensor import Tensor
from .ops import norm


def _raw(t: Any) -> torch.Tensor | None:
    return t.data if isinstance(t, Tensor) else t


def _check_vector(name: str, what: str, t: Any, size: int, x: Tensor) -> None:
    if t is not None and tuple(t.shape) != (size,):
        raise RuntimeError(
            f"{name}: {what} must have shape ({size},), one per channel of the input of shape {tuple(x.shape)}, "
            f"got {tuple(t.shape)}"
        )


def _more_than_one_value(name: str, x: Tensor, values_per_channel: int) -> None:
    if values_per_channel == 1:
        raise ValueError(
            f"{name}: Expected more than 1 value per channel when training, got input size {tuple(x.shape)} "
            "(the statistics of a single value are undefined)"
        )


def layer_norm(
    input: Any, normalized_shape: list[int] | tuple[int, ...], weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> Tensor:
    """Normalise over the last dims: (x - mean) / √(var + ε) · weight + bias (biased variance).

    x: (*, *normalized_shape); weight, bias: normalized_shape -> x's shape.
    """
    x = as_tensor(input)
    if not isinstance(normalized_shape, (tuple, list, torch.Size)):
        raise TypeError(f"layer_norm: normalized_shape must be a tuple of ints, got {normalized_shape!r}; write (n,)")
    shape = tuple(normalized_shape)
    if not shape or tuple(x.shape[x.ndim - len(shape) :]) != shape or len(shape) > x.ndim:
        raise RuntimeError(
            f"layer_norm: Given normalized_shape={list(shape)}, expected input with shape [*, "
            f"{', '.join(map(str, shape))}] (at least one dim), but got input of size {tuple(x.shape)}"
        )
    for what, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(
                f"layer_norm: Expected {what} to be of same shape as normalized_shape, but got {what} of shape "
                f"{tuple(t.shape)} and normalized_shape = {list(shape)}"
            )
    check_devices("layer_norm", x, weight, bias)
    return norm.LayerNorm.apply(x, weight, bias, normalized_shape=shape, eps=eps)


def group_norm(input: Any, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Tensor:
    """Normalise each group of channels of each sample (over the group's channels and all positions).

    x: (N, C, *); C divisible by num_groups; weight, bias: (C,) -> x's shape.
    """
    x = as_tensor(input)
    if x.ndim < 2:
        raise RuntimeError(f"group_norm: Expected at least 2 dimensions for input tensor but received {x.ndim}")
    if num_groups == 0:
        raise ZeroDivisionError(f"group_norm: num_groups must be positive, got 0 (input of shape {tuple(x.shape)})")
    channels = x.shape[1]
    if num_groups < 0 or channels % num_groups:
        raise RuntimeError(
            f"group_norm: Expected number of channels in input to be divisible by num_groups, but got input of "
            f"shape {tuple(x.shape)} and num_groups={num_groups}"
        )
    _more_than_one_value("group_norm", x, x.shape[0] * channels // num_groups * math.prod(x.shape[2:]))
    _check_vector("group_norm", "weight", weight, channels, x)
    _check_vector("group_norm", "bias", bias, channels, x)
    check_devices("group_norm", x, weight, bias)
    return norm.GroupNorm.apply(x, weight, bias, num_groups=num_groups, eps=eps)


def batch_norm(
    input: Any,
    running_mean: Any,
    running_var: Any,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel over the batch and all positions, then · weight + bias.

    x: (N, C, *); running_mean, running_var, weight, bias: (C,) -> x's shape. training: the batch's statistics,
    and running stats (if given) updated in place: r ← (1 - momentum)·r + momentum·batch value (the unbiased
    variance for running_var). Eval: the running stats. torch.nn.BatchNorm's momentum=None (a cumulative
    average) is momentum = 1 / num_batches_tracked here, as the layer passes it.
    """
    x = as_tensor(input)
    running_mean, running_var = _raw(running_mean), _raw(running_var)
    if x.ndim < 2:
        kind = IndexError if training else RuntimeError  # torch's types for a missing channel dim
        raise kind(f"batch_norm: expected an input (N, C, *) with at least 2 dims, got shape {tuple(x.shape)}")
    if not isinstance(momentum, (int, float)) or isinstance(momentum, bool):
        raise TypeError(
            f"batch_norm: momentum must be a float, got {momentum!r}; for a cumulative average (torch.nn.BatchNorm's "
            "momentum=None) pass 1 / num_batches_tracked"
        )
    if training:
        _more_than_one_value("batch_norm", x, x.shape[0] * math.prod(x.shape[2:]))
    if eps < 0 or (training and eps == 0):
        raise ValueError(f"batch_norm: eps must be positive{' during training' if training else ''}, got {eps}")
    if not training and (running_mean is None or running_var is None):
        missing = "running_mean" if running_mean is None else "running_var"
        raise RuntimeError(f"batch_norm: {missing} must be defined in evaluation mode (training=False)")
    for what, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        _check_vector("batch_norm", what, t, x.shape[1], x)
    check_devices("batch_norm", x, weight, bias, running_mean, running_var)
    return norm.BatchNorm.apply(
        x, weight, bias, running_mean, running_var, training=training, momentum=momentum, eps=eps
    )


def instance_norm(
    input: Any,
    running_mean: Any = None,
    running_var: Any = None,
    weight: Any = None,
    bias: Any = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of each sample over its positions, then · weight + bias.

    x: (N, C, *); running_mean, running_var, weight, bias: (C,) -> x's shape. use_input_stats: each instance's
    statistics (running stats, if given, move toward their batch averages as in torch); otherwise the running
    stats, as batch_norm in eval mode.
    """
    x = as_tensor(input)
    running_mean, running_var = _raw(running_mean), _raw(running_var)
    if (running_mean is None) != (running_var is None):
        raise ValueError("instance_norm: running_mean and running_var must either both be None or neither be None")
    if x.ndim < 2:
        raise RuntimeError(f"instance_norm: expected an input (N, C, *), got shape {tuple(x.shape)}")
    if not use_input_stats:
        if running_mean is None:
            raise RuntimeError(
                "instance_norm: Expected running_mean and running_var to be defined when use_input_stats is false"
            )
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    if math.prod(x.shape[2:]) == 1:
        raise ValueError(
            f"instance_norm: Expected more than 1 spatial element when training, got input size {tuple(x.shape)}"
        )
    channels = x.shape[1]
    for what, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        _check_vector("instance_norm", what, t, channels, x)
    check_devices("instance_norm", x, weight, bias, running_mean, running_var)
    if running_mean is not None:
        var, mean = torch.var_mean(x.data, dim=tuple(range(2, x.ndim)), correction=1)
        running_mean.mul_(1 - momentum).add_(momentum * mean.mean(0))
        running_var.mul_(1 - momentum).add_(momentum * var.mean(0))
    return norm.GroupNorm.apply(x, weight, bias, num_groups=channels, eps=eps)


def normalize(input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None) -> Tensor:
    """x / max(‖x‖_p, eps) along `dim`. x: any shape with `dim` -> x's shape."""
    x = as_tensor(input)
    if out is not None:
        raise TypeError("normalize: out= is not supported (engine results are new tensors); use the returned tensor")
    dim = canonical_dim("normalize", dim, x.ndim)
    return x / norm.VectorNorm.apply(x, ord=p, dims=(dim,), keepdim=True).clamp(min=eps)


def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ (x1 / max(‖x1‖, eps)) · (x2 / max(‖x2‖, eps)) along `dim`, as torch computes it.

    x1, x2: shapes that broadcast together -> the broadcast shape without `dim`. As in torch, the clamp of the
    norms to eps is not differentiated (the gradient treats it as the identity).
    """
    x1, x2 = as_tensor(x1), as_tensor(x2)
    common = torch.result_type(x1.data, x2.data)
    if not common.is_floating_point:
        raise RuntimeError(f"cosine_similarity: expected a floating-point common dtype, got {common}")
    x1, x2 = (x if x.dtype.is_floating_point else Tensor(x.data.to(common)) for x in (x1, x2))
    try:
        shape = torch.broadcast_shapes(x1.shape, x2.shape)
    except RuntimeError as error:
        raise RuntimeError(
            f"cosine_similarity: shapes {tuple(x1.shape)} and {tuple(x2.shape)} do not broadcast together"
        ) from error
    check_devices("cosine_similarity", x1, x2)
    dim = canonical_dim("cosine_similarity", dim, len(shape))
    x1, x2 = (x if x.shape == shape else x.expand(shape) for x in (x1, x2))
    return ((x1 / _clamped_norm(x1, dim, eps)) * (x2 / _clamped_norm(x2, dim, eps))).sum(dim)


def _clamped_norm(x: Tensor, dim: int, eps: float) -> Tensor:
    """‖x‖ along `dim` (kept), raised to eps where smaller by adding a constant: torch clamps it in place under
    no_grad, so its gradient is the unclamped norm's."""
    length = norm.VectorNorm.apply(x, ord=2, dims=(dim,), keepdim=True)
    return length + Tensor(length.data.clamp_min(eps) - length.data)
