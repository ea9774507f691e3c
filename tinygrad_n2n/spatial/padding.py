"""`pad` with torch's four modes. Constant padding is the engine's `functional.pad`; reflect, replicate and
circular padding read every output position from one input position (an index map per padded dim), so they
run as one `Resample` whose backward adds each gradient back where it was read."""

from __future__ import annotations

from typing import Any

import torch

from .. import functional as engine
from .._checks import as_tensor
from .._tensor import Tensor
from ..ops.resample import Axis, Resample, Tap

MODES = ("reflect", "replicate", "circular")


def pad_index(mode: str, size: int, before: int, after: int, device: torch.device) -> torch.Tensor:
    """The input position each of the size + before + after output positions reads along one dim (int64).

    reflect: mirror without repeating the edge; replicate: clamp to the edge; circular: wrap around. A negative
    `before` / `after` crops, as in torch: reflect and replicate still mirror / repeat the original edges,
    circular wraps around what is left after the crop.
    """
    if mode == "circular":
        start, kept = max(-before, 0), size + min(before, 0) + min(after, 0)
        position = torch.arange(-max(before, 0), kept + max(after, 0), device=device)
        return start + position.remainder(kept)
    position = torch.arange(-before, size + after, device=device)
    if mode == "reflect":
        position = position.abs()
        return torch.where(position > size - 1, 2 * (size - 1) - position, position)
    return position.clamp(0, size - 1)


def _check(x: Tensor, pad: tuple, mode: str, value: Any) -> None:
    """torch's checks for the non-constant modes, in its order, with its exception types."""
    if mode not in MODES:
        raise NotImplementedError(f"pad: Unrecognised padding mode {mode}; expected constant, {', '.join(MODES)}")
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in pad):
        raise TypeError(f"pad: pad must be a tuple of ints, got {pad!r}")
    if len(pad) % 2:
        raise RuntimeError(f"pad: Padding length must be divisible by 2, got {len(pad)}: {pad!r}")
    if value is not None:
        raise RuntimeError(f'pad: Padding mode "{mode}" doesn\'t take in value argument, got value={value!r}')
    dims = len(pad) // 2
    if dims not in (1, 2, 3) or x.ndim not in (dims + 1, dims + 2):
        raise NotImplementedError(
            f"pad: Padding size {len(pad)} is not supported for {x.ndim}D input tensor of shape {tuple(x.shape)}; "
            "non-constant modes pad 1 dim of a 2D/3D input (2 values), 2 dims of a 3D/4D input (4) or 3 dims of a "
            "4D/5D input (6)"
        )
    batched = x.ndim == dims + 2
    if mode != "circular" and 0 in x.shape[int(batched) :]:
        raise RuntimeError(
            f"pad: Expected a tensor with possibly 0 batch size and other non-zero dimensions for {mode} padding, "
            f"but got: {list(x.shape)}"
        )
    for k in range(dims):
        dim, (before, after) = x.ndim - 1 - k, pad[2 * k : 2 * k + 2]
        size, out = x.shape[dim], x.shape[dim] + before + after
        if mode == "reflect" and (before >= size or after >= size):
            raise RuntimeError(
                f"pad: Padding size should be less than the corresponding input dimension, but got: padding "
                f"({before}, {after}) at dimension {dim} of input {list(x.shape)}"
            )
        if mode == "circular" and (before > size or after > size):
            raise RuntimeError(
                f"pad: Padding value causes wrapping around more than once: padding ({before}, {after}) at "
                f"dimension {dim} of input {list(x.shape)}"
            )
        if mode == "circular" and (size + min(before, 0) + min(after, 0) < (1 if max(before, after) > 0 else 0)):
            raise RuntimeError(
                f"pad: Negative padding value is resulting in an empty dimension: padding ({before}, {after}) at "
                f"dimension {dim} of input {list(x.shape)} leaves nothing to wrap around"
            )
        if mode != "circular" and out < (1 if dims == 1 else 0):  # torch allows empty 2-d / 3-d results
            raise RuntimeError(f"pad: input (size {size} at dimension {dim}) is too small. Calculated output: {out}")


def pad(input: Any, pad: tuple[int, ...], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad) // 2 dims, last dim first: pad = (left, right, top, bottom, front, back).

    mode: 'constant' (with `value`, default 0; any number of dims; negative pads crop), 'reflect', 'replicate'
    or 'circular' (torch's combinations: 1 padded dim of a 2-D/3-D input, 2 of a 3-D/4-D, 3 of a 4-D/5-D).
    x: (*, d_1, .., d_k) -> (*, d_1 + pad_k_before + pad_k_after, ..).
    """
    if mode == "constant":
        return engine.pad(input, tuple(pad), value=0.0 if value is None else value)
    x = as_tensor(input)
    _check(x, tuple(pad), mode, value)
    axes = []
    for k in range(len(pad) // 2):
        dim = x.ndim - 1 - k
        index = pad_index(mode, x.shape[dim], pad[2 * k], pad[2 * k + 1], x.device)
        axes.append(Axis(dim, (Tap(index),)))
    return Resample.apply(x, axes=tuple(axes))
