"""Argument checks shared by the functional API: each error names the function, the values at fault and what
was expected, before any torch kernel sees the arguments."""

from __future__ import annotations

from typing import Any

from ._tensor import Tensor

IntPair = int | tuple[int, int]


def as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def pair(name: str, arg: str, value: Any, minimum: int) -> tuple[int, int]:
    """Normalise an int-or-pair argument and check every entry is an int ≥ minimum."""
    pair = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in pair):
        raise ValueError(f"{name}: {arg} must be an int ≥ {minimum} or a pair of them, got {value!r}")
    return pair


def check_reduction(name: str, reduction: str) -> None:
    """A loss's `reduction` is one of torch's three."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def check_4d(name: str, x: Tensor, what: str = "input", layout: str = "(N, C, H, W)") -> None:
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D {what} {layout}, got shape {tuple(x.shape)}")


def check_devices(name: str, *tensors: Any) -> None:
    """Raise the engine's "different devices" error before torch gets a chance to mix them."""
    present = [t for t in tensors if t is not None]
    if len({t.device for t in present}) > 1:
        described = ", ".join(f"{tuple(t.shape)} on {t.device}" for t in present)
        raise RuntimeError(
            f"{name}: inputs are on different devices ({described}); move them to one device with .to(device) first"
        )


def check_window(name: str, x: Tensor, kernel, padding, dilation) -> None:
    for axis, size in enumerate(x.shape[2:]):
        span = dilation[axis] * (kernel[axis] - 1) + 1
        if span > size + 2 * padding[axis]:
            raise ValueError(
                f"{name}: kernel of size {tuple(kernel)} (dilated span {span}) is larger than the padded input "
                f"{tuple(s + 2 * p for s, p in zip(x.shape[2:], padding))} (input shape {tuple(x.shape)})"
            )


def check_bias(name: str, bias: Any, channels: int) -> None:
    if bias is not None and tuple(bias.shape) != (channels,):
        raise ValueError(f"{name}: bias must have shape ({channels},), got {tuple(bias.shape)}")
