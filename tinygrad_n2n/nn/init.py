"""Weight initialisers with torch.nn.init's names, formulas and random-number consumption.

Each works in place on the raw data of an engine tensor (or on a plain torch tensor), records nothing, and
returns its argument. Given the same seed or `generator`, they draw exactly the numbers torch.nn.init draws,
so a model built after `torch.manual_seed(s)` has the same weights as its torch.nn twin built after the same
call.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .._tensor import Tensor

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def _raw(tensor: Any) -> torch.Tensor:
    if isinstance(tensor, Tensor):
        return tensor.data
    if isinstance(tensor, torch.Tensor):
        return tensor
    raise TypeError(f"init: expected a tinygrad_n2n Tensor/Parameter or a torch.Tensor, got {type(tensor).__name__}")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (torch.nn.init.calculate_gain)."""
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def fan_in_and_fan_out(tensor: Any) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight: (out, in, *kernel) -> (in·∏kernel, out·∏kernel)."""
    raw = _raw(tensor)
    if raw.dim() < 2:
        raise ValueError(f"init: fan in and fan out need a tensor with ≥ 2 dims, got shape {tuple(raw.shape)}")
    receptive = math.prod(raw.shape[2:])
    return raw.size(1) * receptive, raw.size(0) * receptive


def _fan(tensor: Any, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Any, a: float = 0.0, b: float = 1.0, generator: torch.Generator | None = None) -> Any:
    """Fill with U(a, b)."""
    _raw(tensor).uniform_(a, b, generator=generator)
    return tensor


def normal_(tensor: Any, mean: float = 0.0, std: float = 1.0, generator: torch.Generator | None = None) -> Any:
    """Fill with N(mean, std²)."""
    _raw(tensor).normal_(mean, std, generator=generator)
    return tensor


def constant_(tensor: Any, val: float) -> Any:
    """Fill with `val`."""
    _raw(tensor).fill_(val)
    return tensor


def zeros_(tensor: Any) -> Any:
    """Fill with 0."""
    _raw(tensor).zero_()
    return tensor


def ones_(tensor: Any) -> Any:
    """Fill with 1."""
    _raw(tensor).fill_(1.0)
    return tensor


def xavier_uniform_(tensor: Any, gain: float = 1.0, generator: torch.Generator | None = None) -> Any:
    """Glorot uniform: U(-a, a) with a = gain·√(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Any, gain: float = 1.0, generator: torch.Generator | None = None) -> Any:
    """Glorot normal: N(0, std²) with std = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def kaiming_uniform_(
    tensor: Any,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
) -> Any:
    """He uniform: U(-bound, bound) with bound = gain·√(3 / fan). The default of Linear/Conv uses a = √5."""
    if 0 in _raw(tensor).shape:
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Any,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
) -> Any:
    """He normal: N(0, std²) with std = gain / √fan."""
    if 0 in _raw(tensor).shape:
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def _kaiming_std(tensor: Any, a: float, mode: str, nonlinearity: str) -> float:
    """He's standard deviation, gain / √fan, shared by the uniform and normal variants."""
    return calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))


def default_init_(weight: Any, bias: Any = None, generator: torch.Generator | None = None) -> None:
    """torch's default for Linear and Conv layers: kaiming-uniform(a=√5) weight, bias U(±1/√fan_in)."""
    kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    if bias is not None:
        fan_in, _ = fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound, generator)


__all__ = [
    "calculate_gain",
    "constant_",
    "default_init_",
    "fan_in_and_fan_out",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]
