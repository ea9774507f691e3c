"""Convolution layers: Conv2d, ConvTranspose2d and Upsampling (nearest upsampling + conv, one fused call).

Constructor signatures and defaults are torch.nn's; weights get torch's default initialisation, drawing the
same random numbers in the same order.
"""

from __future__ import annotations

from typing import Any

import torch

from .. import functional as F
from .._checks import IntPair, pair
from .._tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter


def _check_channels(layer: str, in_channels: int, out_channels: int, groups: int) -> None:
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"{layer}: in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by "
            f"groups ({groups})"
        )


def _check_padding_mode(layer: str, padding_mode: str) -> None:
    if padding_mode != "zeros":
        raise ValueError(f"{layer}: only padding_mode='zeros' is supported, got {padding_mode!r}")


def _conv_repr(layer: Any, **optional: tuple[Any, Any]) -> str:
    """torch's conv repr: channels, kernel_size, stride, then each optional argument differing from its default."""
    text = f"{layer.in_channels}, {layer.out_channels}, kernel_size={layer.kernel_size}, stride={layer.stride}"
    for name, (value, default) in optional.items():
        if value != default:
            text += f", {name}={value}"
    return text + (", bias=False" if layer.bias is None else "")


class _ConvBase(Module):
    """Creates `weight` (of `weight_shape`) and `bias` (out_channels,) with torch's default initialisation."""

    def _make_parameters(self, weight_shape: tuple[int, ...], bias: bool, device: Any, dtype: Any) -> None:
        self.weight = Parameter(torch.empty(weight_shape, device=device, dtype=dtype))
        self.bias = Parameter(torch.empty(self.out_channels, device=device, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-uniform(a=√5) weight and U(±1/√fan_in) bias, as torch.nn does."""
        init.default_init_(self.weight, self.bias)


class Conv2d(_ConvBase):
    """2-D convolution. x: (N, in_channels, H, W) -> (N, out_channels, H_out, W_out).

    weight: (out_channels, in_channels/groups, kh, kw); bias: (out_channels,). padding may be an int, a pair,
    'valid' (0) or 'same' (stride 1, odd dilated kernel).
    """

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
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        _check_channels("Conv2d", in_channels, out_channels, groups)
        _check_padding_mode("Conv2d", padding_mode)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair("Conv2d", "kernel_size", kernel_size, 1)
        self.stride, self.dilation = pair("Conv2d", "stride", stride, 1), pair("Conv2d", "dilation", dilation, 1)
        self.padding = padding if isinstance(padding, str) else pair("Conv2d", "padding", padding, 0)
        self._padding = self._resolve_padding(padding)
        self._make_parameters((out_channels, in_channels // groups, *self.kernel_size), bias, device, dtype)

    def _resolve_padding(self, padding: Any) -> tuple[int, int]:
        if padding == "valid":
            return (0, 0)
        if padding != "same":
            return pair("Conv2d", "padding", padding, 0)
        spans = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
        if self.stride != (1, 1) or any(span % 2 for span in spans):
            raise ValueError(
                f"Conv2d: padding='same' needs stride 1 and an odd dilated kernel (symmetric padding), got "
                f"kernel_size={self.kernel_size}, stride={self.stride}, dilation={self.dilation}"
            )
        return (spans[0] // 2, spans[1] // 2)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self._padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        default_padding = "valid" if isinstance(self.padding, str) else (0, 0)
        return _conv_repr(
            self, padding=(self.padding, default_padding), dilation=(self.dilation, (1, 1)), groups=(self.groups, 1)
        )


class ConvTranspose2d(_ConvBase):
    """Transposed 2-D convolution. x: (N, in_channels, H, W) -> (N, out_channels, H_out, W_out) with
    H_out = (H - 1)·stride - 2·padding + dilation·(kh - 1) + output_padding + 1.

    weight: (in_channels, out_channels/groups, kh, kw); bias: (out_channels,).
    """

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
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        name = "ConvTranspose2d"
        _check_channels(name, in_channels, out_channels, groups)
        _check_padding_mode(name, padding_mode)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(name, "kernel_size", kernel_size, 1)
        self.stride, self.dilation = pair(name, "stride", stride, 1), pair(name, "dilation", dilation, 1)
        self.padding = pair(name, "padding", padding, 0)
        self.output_padding = pair(name, "output_padding", output_padding, 0)
        self._make_parameters((in_channels, out_channels // groups, *self.kernel_size), bias, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv_transpose2d(
            x, self.weight, self.bias, self.stride, self.padding, self.output_padding, self.groups, self.dilation
        )

    def extra_repr(self) -> str:
        return _conv_repr(
            self,
            padding=(self.padding, (0, 0)),
            dilation=(self.dilation, (1, 1)),
            output_padding=(self.output_padding, (0, 0)),
            groups=(self.groups, 1),
        )


class Upsampling(_ConvBase):
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
        _check_channels(name, in_channels, out_channels, 1)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(name, "kernel_size", kernel_size, 1)
        self.scale_factor = pair(name, "scale_factor", scale_factor, 1)
        self.stride, self.dilation = pair(name, "stride", stride, 1), pair(name, "dilation", dilation, 1)
        self.padding = pair(name, "padding", padding, 0)
        self._make_parameters((out_channels, in_channels, *self.kernel_size), bias, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        return F.upsample_conv2d(x, self.weight, self.bias, self.scale_factor, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
        text += f"scale_factor={self.scale_factor}, stride={self.stride}, padding={self.padding}"
        text += f", dilation={self.dilation}" if self.dilation != (1, 1) else ""
        return text + (", bias=False" if self.bias is None else "")
