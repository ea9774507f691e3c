"""Gradient clipping with torch.nn.utils' names, signatures and numbers: clip_grad_norm_, clip_grad_value_,
get_total_norm and clip_grads_with_norm_.

The gradients are the raw torch tensors in each parameter's `.gradient` (alias `.grad`); they are rescaled
in place with torch ops, never through torch.autograd or the tape. As in torch, the per-tensor norms go
through torch's foreach kernels unless `foreach=False`.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Iterable
from typing import Any

import torch

from ..._tensor import Tensor

_FOREACH_DEVICES = ("cpu", "cuda", "xpu", "mtia")  # where torch 2.13 has foreach kernels

Parameters = Tensor | Iterable[Tensor]


def _as_list(tensors: Any) -> list[Any]:
    return [tensors] if isinstance(tensors, (Tensor, torch.Tensor)) else list(tensors)


def _gradients(parameters: list[Any]) -> list[torch.Tensor]:
    """The gradients that exist, in parameter order (engine tensors: `.gradient`; torch tensors: `.grad`)."""
    grads = [p.gradient if isinstance(p, Tensor) else p.grad for p in parameters]
    return [grad for grad in grads if grad is not None]


def _by_device_and_dtype(tensors: list[torch.Tensor]) -> dict[tuple[torch.device, torch.dtype], list[torch.Tensor]]:
    groups: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
    for tensor in tensors:
        groups.setdefault((tensor.device, tensor.dtype), []).append(tensor)
    return groups


def _use_foreach(foreach: bool | None, device: torch.device) -> bool:
    supported = device.type in _FOREACH_DEVICES
    if foreach and not supported:
        raise RuntimeError(f"foreach=True was passed, but can't use the foreach API on {device.type} tensors")
    return supported if foreach is None else foreach


def get_total_norm(
    tensors: torch.Tensor | Iterable[torch.Tensor],
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> torch.Tensor:
    """The norm of the norms of `tensors` (as if concatenated into one vector): a 0-dim torch tensor on the
    first tensor's device. norm_type: any p of torch.linalg.vector_norm, `inf` included.

    Raises RuntimeError if `error_if_nonfinite` and the norm is NaN or infinite.
    """
    tensors = [t.data if isinstance(t, Tensor) else t for t in _as_list(tensors)]
    norm_type = float(norm_type)
    if not tensors:
        return torch.tensor(0.0)
    first_device = tensors[0].device
    norms: list[torch.Tensor] = []
    for (device, _), group in _by_device_and_dtype(tensors).items():
        if _use_foreach(foreach, device):
            norms.extend(torch._foreach_norm(group, norm_type))
        else:
            norms.extend(torch.linalg.vector_norm(tensor, norm_type) for tensor in group)
    total_norm = torch.linalg.vector_norm(torch.stack([norm.to(first_device) for norm in norms]), norm_type)
    if error_if_nonfinite and bool(torch.logical_or(total_norm.isnan(), total_norm.isinf())):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
            "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    return total_norm


def clip_grads_with_norm_(
    parameters: Parameters, max_norm: float, total_norm: torch.Tensor, foreach: bool | None = None
) -> None:
    """Scale every gradient in place by min(1, max_norm / (total_norm + 1e-6))."""
    grads = _gradients(_as_list(parameters))
    max_norm = float(max_norm)
    if not grads:
        return
    total_norm = total_norm.data if isinstance(total_norm, Tensor) else total_norm
    clip_coef_clamped = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
    for (device, _), group in _by_device_and_dtype(grads).items():
        coefficient = clip_coef_clamped.to(device)
        if _use_foreach(foreach, device):
            torch._foreach_mul_(group, coefficient)
        else:
            for grad in group:
                grad.mul_(coefficient)


def clip_grad_norm_(
    parameters: Parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> torch.Tensor:
    """Rescale the gradients of `parameters` in place so that their total norm is at most `max_norm`.

    parameters: a Parameter or an iterable of them (those without a gradient are skipped). Returns the
    total norm of the gradients before clipping (a 0-dim torch tensor, as in torch).
    """
    is_generator = isinstance(parameters, types.GeneratorType)
    parameters = _as_list(parameters)
    if is_generator and not parameters:
        warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=2)
    total_norm = get_total_norm(_gradients(parameters), norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_value_(parameters: Parameters, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient of `parameters` in place to [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    for (device, _), group in _by_device_and_dtype(_gradients(_as_list(parameters))).items():
        if _use_foreach(foreach, device):
            torch._foreach_clamp_min_(group, -clip_value)
            torch._foreach_clamp_max_(group, clip_value)
        else:
            for grad in group:
                grad.clamp_(min=-clip_value, max=clip_value)
