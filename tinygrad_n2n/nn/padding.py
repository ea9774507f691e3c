"""Padding layers with torch.nn's signatures and reprs: constant (and zero), reflection, replication and
circular padding of the last one or two dims.

`padding` is an int (every side) or (left, right) for the 1-d layers, (left, right, top, bottom) for the
2-d ones. x: (N, C, L) / (C, L) or (N, C, H, W) / (C, H, W) -> the padded shape.
"""

from __future__ import annotations

from .._tensor import Tensor
from . import functional as F
from .module import Module


def _sides(padding: int | tuple[int, ...], count: int) -> tuple[int, ...]:
    """torch's _pair / _quadruple: an int repeated `count` times, a tuple kept."""
    return tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * count


class _PadNd(Module):
    _mode: str
    _sides_count: int

    def __init__(self, padding: int | tuple[int, ...]) -> None:
        super().__init__()
        self.padding = _sides(padding, self._sides_count)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    _mode = "constant"

    def __init__(self, padding: int | tuple[int, ...], value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with `value`."""

    _sides_count = 2


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with `value`."""

    _sides_count = 4


class ZeroPad1d(ConstantPad1d):
    """Pad the last dim with zeros."""

    def __init__(self, padding: int | tuple[int, int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dims with zeros."""

    def __init__(self, padding: int | tuple[int, int, int, int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Pad the last dim with its mirror image, the edge not repeated (padding < size)."""

    _mode, _sides_count = "reflect", 2


class ReflectionPad2d(_PadNd):
    """Pad the last two dims with their mirror image, the edges not repeated (padding < size)."""

    _mode, _sides_count = "reflect", 4


class ReplicationPad1d(_PadNd):
    """Pad the last dim by repeating its edge values."""

    _mode, _sides_count = "replicate", 2


class ReplicationPad2d(_PadNd):
    """Pad the last two dims by repeating their edge values."""

    _mode, _sides_count = "replicate", 4


class CircularPad1d(_PadNd):
    """Pad the last dim by wrapping around (padding ≤ size)."""

    _mode, _sides_count = "circular", 2


class CircularPad2d(_PadNd):
    """Pad the last two dims by wrapping around (padding ≤ size)."""

    _mode, _sides_count = "circular", 4
