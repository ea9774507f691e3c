"""Argument checks shared by the engine's methods, ops and functional API: each error names the op, the values
at fault and what was expected, before any torch kernel sees the arguments.

Dims are checked here, once: `canonical_dim` / `canonical_dims` turn a dim (negative ones count from the end)
into a non-negative int, or raise torch's exception with torch's wording after the op's name. They work on
plain ints (no tensor work), so they cost the hot path next to nothing.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any

from . import _tensor  # its Tensor is read at call time: _tensor_methods (imported by _tensor) imports this module

if TYPE_CHECKING:
    from ._tensor import Tensor

IntPair = int | tuple[int, int]


def as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, _tensor.Tensor) else _tensor.Tensor(x)


def _as_int(op: str, arg: str, value: Any) -> int:
    """An int-like `value` (int, NumPy integer, one-element integer tensor) as an int; bools are refused (torch)."""
    if not isinstance(value, bool):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise TypeError(f"{op}: {arg} must be an int, got {value!r} ({type(value).__name__})")


def canonical_dim(op: str, dim: Any, ndim: int, arg: str = "dim") -> int:
    """`dim` of an `ndim`-D tensor as an int in [0, ndim), counting negative dims from the end.

    A 0-d tensor takes dim -1 or 0 (both give 0), as in torch; anything else raises torch's IndexError. For a
    dim that may also be `ndim` (unsqueeze, stack: a new dim), pass ndim + 1.
    """
    if type(dim) is not int:
        dim = _as_int(op, arg, dim)
    size = ndim or 1
    if dim < -size or dim >= size:
        raise IndexError(
            f"{op}: Dimension out of range (expected to be in range of [{-size}, {size - 1}], but got {dim})"
        )
    return dim + size if dim < 0 else dim


def canonical_dims(op: str, dims: Any, ndim: int, one_at_a_time: bool = False) -> tuple[int, ...]:
    """One dim or a sequence of dims, each through `canonical_dim`; a dim named twice raises torch's RuntimeError.

    Which error wins when a list has both follows torch: reductions check every dim's range before looking for
    repeats; `one_at_a_time` (squeeze, permute) checks each dim's range and repeats in order.
    """
    if not isinstance(dims, (tuple, list)):
        return (canonical_dim(op, dims, ndim),)
    if not one_at_a_time:
        result = tuple([canonical_dim(op, dim, ndim) for dim in dims])
        if len(set(result)) == len(result):
            return result
    seen: list[int] = []
    for dim in dims:
        dim = canonical_dim(op, dim, ndim)
        if dim in seen:
            raise RuntimeError(f"{op}: dim {dim} appears multiple times in the list of dims {tuple(dims)}")
        seen.append(dim)
    return tuple(seen)


def pair(name: str, arg: str, value: Any, minimum: int) -> tuple[int, int]:
    """Normalise an int-or-pair argument and check every entry is an int ≥ minimum."""
    pair = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    message = f"{name}: {arg} must be an int ≥ {minimum} or a pair of them, got {value!r}"
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise TypeError(message)  # as torch's argument parser
    if len(pair) != 2 or any(v < minimum for v in pair):
        raise RuntimeError(message)
    return pair


def check_reduction(name: str, reduction: str) -> None:
    """A loss's `reduction` is one of torch's three."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def check_4d(name: str, x: Tensor, what: str = "input", layout: str = "(N, C, H, W)") -> None:
    if x.ndim != 4:
        raise RuntimeError(f"{name}: expected a 4-D {what} {layout}, got shape {tuple(x.shape)}")


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
            raise RuntimeError(
                f"{name}: kernel of size {tuple(kernel)} (dilated span {span}) is larger than the padded input "
                f"{tuple(s + 2 * p for s, p in zip(x.shape[2:], padding))} (input shape {tuple(x.shape)})"
            )


def check_bias(name: str, bias: Any, channels: int) -> None:
    if bias is not None and tuple(bias.shape) != (channels,):
        raise RuntimeError(f"{name}: bias must have shape ({channels},), got {tuple(bias.shape)}")


KERNEL_DIMS = {2: "kernel rows", 3: "kernel columns"}
CONV_WEIGHT_DIMS = {0: "output channels", **KERNEL_DIMS}  # conv2d: (O, C/groups, kh, kw); C = 0 is the input's
TRANSPOSED_WEIGHT_DIMS = {0: "input channels", 1: "output channels", **KERNEL_DIMS}  # (C, O/groups, kh, kw)


def check_weight_sizes(name: str, weight: Any, named_dims: dict[int, str]) -> None:
    """torch refuses conv weights with an empty channel dim or kernel: its RuntimeError, saying which dim."""
    shape = weight.shape
    if 0 not in shape:
        return
    for dim, what in named_dims.items():
        if not shape[dim]:
            raise RuntimeError(f"{name}: weight of shape {tuple(shape)} has 0 {what}; expected at least 1")


def check_planes(name: str, x: Any, conv: bool = False) -> None:
    """x: (N, C, H, W). torch runs an empty batch and refuses other empty inputs (a convolution also takes empty
    planes in an empty batch); so do we, with torch's RuntimeError.

    A convolution over 0 channels is refused too: torch returns an (N, 0, H_out, W_out) result for it instead of
    the bias, and the engine would rather raise than differ from torch or compute something else.
    """
    n, c, h, w = x.shape
    if c and ((h and w) or (conv and not n)):
        return
    if conv and not c:
        raise RuntimeError(
            f"{name}: input of shape {tuple(x.shape)} has 0 channels; torch gives an (N, 0, H_out, W_out) result "
            "there instead of the bias, so the engine refuses it: expected at least 1 input channel"
        )
    allowed = "only the batch (N) may be 0" + (" (then H and W may be 0 too)" if conv else "")
    raise RuntimeError(f"{name}: input of shape {tuple(x.shape)} (N, C, H, W) is empty; {allowed}")
