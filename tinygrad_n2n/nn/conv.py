"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d and Upsampling (the course's nearest
upsampling + conv, one fused call).

Constructor signatures, defaults, checks and reprs are torch.nn's; weights get torch's default
initialisation, drawing the same random numbers in the same order. Conv layers take torch's `padding_mode`
(zeros, reflect, replicate, circular: the input is padded in that mode, then convolved unpadded) and
`padding='same'` (an even dilated kernel pads one more at the end, as torch); transposed ones take
`output_size=` in forward.
"""

from __future__ import annotations

from typing import Any

import torch

from .._checks import IntPair, pair
from .._tensor import Tensor
from ..spatial import conv_transpose_output_padding, conv_with_padding_mode
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

PADDING_MODES = {"zeros", "reflect", "replicate", "circular"}


def _tuple(layer: str, arg: str, value: Any, dims: int, minimum: int) -> tuple[int, ...]:
    """An int-or-tuple argument as a `dims`-tuple of ints ≥ minimum (torch's _single / _pair)."""
    if dims == 2:
        return pair(layer, arg, value, minimum)
    single = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(single) != 1 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in single):
        raise ValueError(f"{layer}: {arg} must be an int ≥ {minimum} or a 1-tuple of one, got {value!r}")
    return single


class _ConvNd(Module):
    """Checks and stores torch's conv hyper-parameters, creates `weight` and `bias` with torch's initialisation.

    weight: (out_channels, in_channels/groups, *kernel_size), or (in_channels, out_channels/groups,
    *kernel_size) when transposed; bias: (out_channels,).
    """

    _dims: int
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        output_padding: Any,
        groups: int,
        bias: bool,
        padding_mode: str,
        device: Any,
        dtype: Any,
    ) -> None:
        super().__init__()
        layer, dims = type(self).__name__, self._dims
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{layer}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{layer}: in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by "
                f"groups ({groups})"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _tuple(layer, "kernel_size", kernel_size, dims, 1)
        self.stride = _tuple(layer, "stride", stride, dims, 1)
        self.dilation = _tuple(layer, "dilation", dilation, dims, 1)
        self.output_padding = _tuple(layer, "output_padding", output_padding, dims, 0)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{layer}: Invalid padding string {padding!r}, should be one of {{'same', 'valid'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{layer}: padding='same' is not supported for strided convolutions")
            self.padding: Any = padding
        else:
            self.padding = _tuple(layer, "padding", padding, dims, 0)
        if padding_mode not in PADDING_MODES:
            raise ValueError(
                f"{layer}: padding_mode must be one of {PADDING_MODES}, but got padding_mode={padding_mode!r}"
            )
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'{layer}: Only "zeros" padding mode is supported for {layer}')
        self.padding_mode, self.transposed = padding_mode, self._transposed
        channels = (in_channels, out_channels // groups) if self._transposed else (out_channels, in_channels // groups)
        self.weight = Parameter(torch.empty((*channels, *self.kernel_size), device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(torch.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-uniform(a=√5) weight and U(±1/√fan_in) bias, as torch.nn does."""
        init.default_init_(self.weight, self.bias)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        zeros, ones = (0,) * self._dims, (1,) * self._dims
        if self.padding != zeros:
            text += f", padding={self.padding}"
        if self.dilation != ones:
            text += f", dilation={self.dilation}"
        if self.output_padding != zeros:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class _Conv(_ConvNd):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair | str = 0,
        dilation: IntPair = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, 0, groups, bias, padding_mode,
            device, dtype,
        )  # fmt: skip

    def forward(self, input: Tensor) -> Tensor:
        return conv_with_padding_mode(
            input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups, self.padding_mode
        )


class Conv1d(_Conv):
    """1-D convolution. x: (N, in_channels, L) or (in_channels, L) -> (N, out_channels, L_out).

    weight: (out_channels, in_channels/groups, k); bias: (out_channels,). padding: an int, 'valid' or 'same'.
    """

    _dims = 1


class Conv2d(_Conv):
    """2-D convolution. x: (N, in_channels, H, W) or (in_channels, H, W) -> (N, out_channels, H_out, W_out).

    weight: (out_channels, in_channels/groups, kh, kw); bias: (out_channels,). padding: an int, a pair,
    'valid' or 'same'.
    """

    _dims = 2


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        output_padding: IntPair = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: IntPair = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of ints, got {padding!r}")
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, output_padding, groups, bias,
            padding_mode, device, dtype,
        )  # fmt: skip

    def forward(self, input: Tensor, output_size: list[int] | None = None) -> Tensor:
        output_padding = conv_transpose_output_padding(
            input,
            output_size,
            list(self.stride),
            list(self.padding),
            list(self.kernel_size),
            self._dims,
            list(self.dilation),
            self.output_padding,
        )
        transpose = F.conv_transpose1d if self._dims == 1 else F.conv_transpose2d
        return transpose(
            input, self.weight, self.bias, self.stride, self.padding, tuple(output_padding), self.groups, self.dilation
        )


class ConvTranspose1d(_ConvTranspose):
    """Transposed 1-D convolution. x: (N, in_channels, L) -> (N, out_channels, L_out) with
    L_out = (L - 1)·stride - 2·padding + dilation·(k - 1) + output_padding + 1 (or `output_size`).

    weight: (in_channels, out_channels/groups, k); bias: (out_channels,).
    """

    _dims = 1


class ConvTranspose2d(_ConvTranspose):
    """Transposed 2-D convolution. x: (N, in_channels, H, W) -> (N, out_channels, H_out, W_out) with
    H_out = (H - 1)·stride - 2·padding + dilation·(kh - 1) + output_padding + 1 (or `output_size`).

    weight: (in_channels, out_channels/groups, kh, kw); bias: (out_channels,).
    """

    _dims = 2


class Upsampling(Module):
    """Nearest-neighbour upsampling by `scale_factor`, then a convolution, as one fused call.

    x: (N, in_channels, H, W) -> (N, out_channels, H_out, W_out), the conv applied at (H·s, W·s).
    Owns the convolution's parameters directly: weight (out_channels, in_channels, kh, kw), bias
    (out_channels,), so its state_dict keys are `weight` and `bias`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair = 3,
        scale_factor: IntPair = 2,
        stride: IntPair = 1,
        padding: IntPair = 1,
        dilation: IntPair = 1,
        bias: bool = True,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        name = "Upsampling"
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: {arg} must be a positive int, got {value!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(name, "kernel_size", kernel_size, 1)
        self.scale_factor = pair(name, "scale_factor", scale_factor, 1)
        self.stride, self.dilation = pair(name, "stride", stride, 1), pair(name, "dilation", dilation, 1)
        self.padding = pair(name, "padding", padding, 0)
        self.weight = Parameter(torch.empty((out_channels, in_channels, *self.kernel_size), device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(torch.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-uniform(a=√5) weight and U(±1/√fan_in) bias, as torch.nn's Conv2d."""
        init.default_init_(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        return F.upsample_conv2d(x, self.weight, self.bias, self.scale_factor, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
        text += f"scale_factor={self.scale_factor}, stride={self.stride}, padding={self.padding}"
        text += f", dilation={self.dilation}" if self.dilation != (1, 1) else ""
        return text + (", bias=False" if self.bias is None else "")
