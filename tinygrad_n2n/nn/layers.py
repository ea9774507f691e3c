"""Dense, reshaping, regularising, pooling and resampling layers, with torch.nn's signatures and defaults."""

from __future__ import annotations

import math
from typing import Any

import torch

from .. import functional as F
from .._checks import IntPair
from .._tensor import Tensor
from . import init
from .functional import dropout
from .module import Module
from .parameter import Parameter


class Identity(Module):
    """Returns its input unchanged (any shape)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Linear(Module):
    """y = x Wᵀ + b. x: (.., in_features) -> (.., out_features); weight (out, in), bias (out,)."""

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"Linear: {name} must be a non-negative int, got {value!r}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(torch.empty(out_features, in_features, device=device, dtype=dtype))
        self.bias = Parameter(torch.empty(out_features, device=device, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-uniform(a=√5) weight and U(±1/√in_features) bias, as torch.nn does."""
        init.default_init_(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    """Merge dims start_dim..end_dim. (N, C, H, W) -> (N, C·H·W) with the defaults."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """In training mode, zero each element with probability p and scale the rest by 1/(1-p); identity in eval.

    Any shape. The mask is drawn exactly as torch's CPU dropout draws it (bernoulli(1-p) on an empty tensor
    like x), so the same seed gives the same mask; it enters the graph as a constant factor.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        self.p, self.inplace = float(p), inplace

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class MaxPool2d(Module):
    """Max over sliding windows. x: (N, C, H, W) -> (N, C, H_out, W_out); stride defaults to kernel_size."""

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        dilation: IntPair = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        if return_indices or ceil_mode:
            raise ValueError("MaxPool2d: return_indices=True and ceil_mode=True are not supported")
        self.kernel_size, self.padding, self.dilation = kernel_size, padding, dilation
        self.stride = kernel_size if stride is None else stride
        self.ceil_mode = ceil_mode

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(Module):
    """Mean over sliding windows. x: (N, C, H, W) -> (N, C, H_out, W_out); stride defaults to kernel_size."""

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        if ceil_mode or divisor_override is not None:
            raise ValueError("AvgPool2d: ceil_mode=True and divisor_override are not supported")
        self.kernel_size, self.padding, self.count_include_pad = kernel_size, padding, count_include_pad
        self.stride = kernel_size if stride is None else stride

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _integral(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 1 or value != math.floor(value):
        raise ValueError(f"Upsample: {what} must be a positive integer (nearest mode), got {value!r}")
    return int(value)


class Upsample(Module):
    """Nearest-neighbour upsampling by an integer `scale_factor`, or to a `size` that is an integer multiple.

    x: (N, C, H, W) -> (N, C, H·s, W·s). Only mode='nearest' is supported.
    """

    def __init__(
        self,
        size: int | tuple[int, int] | None = None,
        scale_factor: float | tuple[float, float] | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ) -> None:
        super().__init__()
        if mode != "nearest":
            raise ValueError(f"Upsample: mode {mode!r} is not supported; only mode='nearest' is")
        if (size is None) == (scale_factor is None):
            raise ValueError("Upsample: give exactly one of size and scale_factor")
        if align_corners is not None:
            raise ValueError("Upsample: align_corners applies only to interpolating modes, not to 'nearest'")
        self.size, self.mode = size, mode
        self.scale_factor: Any = None
        self._scale: tuple[int, ...] | None = None
        if isinstance(scale_factor, (tuple, list)):
            if len(scale_factor) != 2:
                raise ValueError(f"Upsample: scale_factor must be a number or a pair, got {scale_factor!r}")
            self._scale = tuple(_integral(s, "scale_factor") for s in scale_factor)
            self.scale_factor = tuple(float(s) for s in scale_factor)
        elif scale_factor is not None:
            self._scale = (_integral(scale_factor, "scale_factor"),) * 2
            self.scale_factor = float(scale_factor)

    def forward(self, x: Tensor) -> Tensor:
        scale = self._scale or self._scale_for_size(x)
        return F.upsample_nearest(x, scale)

    def _scale_for_size(self, x: Tensor) -> tuple[int, int]:
        target = tuple(self.size) if isinstance(self.size, (tuple, list)) else (self.size, self.size)
        if x.ndim != 4 or len(target) != 2 or any(t % s for t, s in zip(target, x.shape[2:])):
            raise ValueError(
                f"Upsample: size {target} must be an integer multiple of the input's (H, W), input shape "
                f"{tuple(x.shape)}"
            )
        return tuple(_integral(t // s, "size / input size") for t, s in zip(target, x.shape[2:]))

    def extra_repr(self) -> str:
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{info}, mode={self.mode!r}"
