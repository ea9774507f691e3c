"""interpolate (nearest, nearest-exact, linear, bilinear, trilinear, area), pixel_shuffle, pixel_unshuffle.

interpolate resamples each spatial axis through `ops.resample.Resample` with the source positions and weights
torch's kernels use (computed from the sizes alone, in the same float precision, then moved to the input's
device); 'area' is adaptive average pooling. The pixel shuffles are reshape + permute + reshape.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._checks import as_tensor
from .._tensor import Tensor
from ..ops.resample import Axis, Resample, Tap
from .pooling import adaptive_avg_pool

LINEAR_MODES = {"linear": 3, "bilinear": 4, "trilinear": 5}  # mode -> the input's ndim


def _inverse_scale(scale: float | None, in_size: int, out_size: int, precision: torch.dtype) -> float:
    """torch's `compute_scales_value`: 1 / scale_factor when one was given (and is > 0), else in / out."""
    real = np.float64 if precision == torch.float64 else np.float32
    if scale is not None and scale > 0:
        return float(real(1.0 / scale))
    return float(real(in_size) / real(out_size))


def nearest_index(in_size: int, out_size: int, scale: float | None, exact: bool, shortcuts: bool) -> torch.Tensor:
    """Source position of each output position (int64, on the host), as torch's CPU kernels compute it:
    nearest: ⌊o · s⌋, nearest-exact: ⌊(o + ½) · s⌋ (clamped to the input), s = 1 / scale_factor or in / out,
    in float32. With `shortcuts` (torch's 2-d nearest kernel), out = in copies and out = 2·in halves o."""
    positions = torch.arange(out_size)
    if shortcuts and out_size == in_size:
        return positions
    if shortcuts and out_size == 2 * in_size:
        return positions // 2
    inverse = _inverse_scale(scale, in_size, out_size, torch.float32)
    if exact:  # (o + 0.5) · s in double, rounded to float before the floor (floorf)
        source = ((positions.double() + 0.5) * inverse).float()
    else:
        source = positions.float() * inverse
    return source.floor().long().clamp(max=in_size - 1)


def linear_taps(
    in_size: int, out_size: int, scale: float | None, align_corners: bool, dtype: torch.dtype
) -> tuple[Tap, Tap]:
    """The two taps of linear interpolation along one axis (indices and weights on the host, in `dtype`).

    Source position r = o · (in - 1) / (out - 1) with align_corners, else max((o + ½) · s - ½, 0); it reads
    i0 = ⌊r⌋ with weight 1 - λ and i0 + 1 (i0 at the last position) with weight λ = r - i0. As torch, out = in
    copies. Positions are computed in float64 for float64 inputs, float32 otherwise (torch's opmath).
    """
    precision = torch.float64 if dtype == torch.float64 else torch.float32
    positions = torch.arange(out_size)
    if out_size == in_size:
        ones = torch.ones(out_size, dtype=dtype)
        return Tap(positions, ones), Tap(positions, torch.zeros_like(ones))
    destination = positions.to(precision)
    if align_corners:
        real = np.float64 if precision == torch.float64 else np.float32
        ratio = float(real(in_size - 1) / real(out_size - 1)) if out_size > 1 else 0.0
        source = destination * ratio
    else:
        source = (destination + 0.5) * _inverse_scale(scale, in_size, out_size, precision) - 0.5
        source = source.clamp(min=0)
    first = source.float().floor().long().clamp(max=in_size - 1)  # torch floors in float (floorf)
    weight = (source - first).clamp(0, 1)
    second = first + (first < in_size - 1).long()
    return Tap(first, (1 - weight).to(dtype)), Tap(second, weight.to(dtype))


def _output_sizes(
    x: Tensor, size: Any, scale_factor: Any, mode: str, align_corners: Any, recompute: Any, antialias: bool
) -> tuple[list[int], list[float | None]]:
    """torch's interpolate front end: its checks, in its order, then the output sizes and the scale factors its
    kernels use (None where the sizes give the scale)."""
    name, dims = "interpolate", x.ndim - 2
    if mode in ("nearest", "area", "nearest-exact") and align_corners is not None:
        raise ValueError(
            f"{name}: align_corners option can only be set with the interpolating modes: linear | bilinear | "
            f"bicubic | trilinear, got mode={mode!r}"
        )
    if size is not None and scale_factor is not None:
        raise ValueError(f"{name}: only one of size or scale_factor should be defined, got both")
    if size is None and scale_factor is None:
        raise ValueError(f"{name}: either size or scale_factor should be defined")
    given = size if size is not None else scale_factor
    if isinstance(given, (tuple, list)) and len(given) != dims:
        what = "output size" if size is not None else "scale_factor"
        raise ValueError(
            f"{name}: Input and {what} must have the same number of spatial dimensions, but got input with spatial "
            f"dimensions of {list(x.shape[2:])} and {what} of {given}"
        )
    per_dim = list(given) if isinstance(given, (tuple, list)) else [given] * dims
    if size is not None and not all(isinstance(n, int) and not isinstance(n, bool) for n in per_dim):
        raise TypeError(f"{name}: expected size to be an int or a tuple of ints, but got size={size!r}")
    if recompute and size is not None:
        raise ValueError(f"{name}: recompute_scale_factor is not meaningful with an explicit size.")
    if antialias and not (mode in ("bilinear", "bicubic") and x.ndim == 4):
        raise ValueError(f"{name}: Anti-alias option is restricted to bilinear and bicubic modes and a 4-D input")
    expected_ndim = LINEAR_MODES.get(mode)
    if (
        mode not in ("nearest", "nearest-exact", "area", "bicubic", *LINEAR_MODES)
        or not 3 <= x.ndim <= 5
        or (expected_ndim not in (None, x.ndim) or (mode == "bicubic" and x.ndim != 4))
    ):
        raise NotImplementedError(
            f"{name}: Got {x.ndim}D input of shape {tuple(x.shape)} and mode={mode!r}: linear needs 3D input, bilinear "
            "and bicubic 4D, trilinear 5D; nearest, nearest-exact and area take 3D, 4D and 5D input"
        )
    if size is not None:
        return per_dim, [None] * dims
    out_sizes = [int(n * s) for n, s in zip(x.shape[2:], per_dim)]  # torch truncates in * scale (a double)
    return out_sizes, [None] * dims if recompute or mode == "area" else per_dim


def interpolate(
    input: Any,
    size: int | tuple[int, ...] | None = None,
    scale_factor: float | tuple[float, ...] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims to `size`, or by `scale_factor` (output size ⌊in · scale⌋), as torch.

    x: (N, C, L) / (N, C, H, W) / (N, C, D, H, W) -> the same with the new spatial sizes. Modes: 'nearest',
    'nearest-exact', 'linear' (3-D), 'bilinear' (4-D), 'trilinear' (5-D), 'area'. A given scale_factor is
    used for the source positions unless recompute_scale_factor=True (then in / out is, as for a size).
    'bicubic' and antialias=True are not supported (NotImplementedError).
    """
    x = as_tensor(input)
    out_sizes, scales = _output_sizes(x, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias)
    if mode == "bicubic" or antialias:
        raise NotImplementedError(
            f"interpolate: mode={mode!r}{' with antialias=True' if antialias else ''} is not supported; supported "
            "modes: nearest, nearest-exact, linear, bilinear, trilinear, area (antialias=False)"
        )
    if mode == "area":
        return adaptive_avg_pool("interpolate", x, tuple(out_sizes))
    if 0 in x.shape[2:] or min(out_sizes) < 1 or (mode in LINEAR_MODES and 0 in x.shape[:2]):
        raise RuntimeError(
            f"interpolate: Input and output sizes should be greater than 0 (and a {mode} input non-empty), but got "
            f"input {list(x.shape)} and output size {out_sizes}"
        )
    axes = []
    for k, (in_size, out_size, scale) in enumerate(zip(x.shape[2:], out_sizes, scales)):
        if mode in LINEAR_MODES:
            taps = linear_taps(in_size, out_size, scale, bool(align_corners), x.dtype)
        else:
            shortcuts = mode == "nearest" and x.ndim == 4
            taps = (Tap(nearest_index(in_size, out_size, scale, mode == "nearest-exact", shortcuts)),)
        on_device = tuple(Tap(*(None if t is None else t.to(x.device) for t in tap)) for tap in taps)
        axes.append(Axis(2 + k, on_device))
    return Resample.apply(x, axes=tuple(axes))


def _check_shuffle(name: str, x: Tensor, factor: Any, what: str) -> None:
    if x.ndim < 3:
        raise RuntimeError(
            f"{name}: {name} expects input to have at least 3 dimensions, but got input with {x.ndim} dimension(s)"
        )
    if not isinstance(factor, int) or isinstance(factor, bool) or factor <= 0:
        raise RuntimeError(f"{name}: {name} expects a positive {what}, but got {factor!r}")


def pixel_shuffle(input: Any, upscale_factor: int) -> Tensor:
    """Move r×r blocks of channels into space. x: (*, C·r², H, W) -> (*, C, H·r, W·r)."""
    x = as_tensor(input)
    _check_shuffle("pixel_shuffle", x, upscale_factor, "upscale_factor")
    r, (*lead, channels, h, w) = upscale_factor, x.shape
    if channels % (r * r):
        raise RuntimeError(
            f"pixel_shuffle: pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
            f"upscale_factor, but input.size(-3)={channels} is not divisible by {r * r}"
        )
    c, k = channels // (r * r), len(lead)
    blocks = x.reshape(*lead, c, r, r, h, w).permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return blocks.reshape(*lead, c, h * r, w * r)


def pixel_unshuffle(input: Any, downscale_factor: int) -> Tensor:
    """Move r×r blocks of space into channels (the inverse of pixel_shuffle). x: (*, C, H·r, W·r) -> (*, C·r², H, W)."""
    x = as_tensor(input)
    _check_shuffle("pixel_unshuffle", x, downscale_factor, "downscale_factor")
    r, (*lead, c, height, width) = downscale_factor, x.shape
    for what, dim, size in (("height", -2, height), ("width", -1, width)):
        if size % r:
            raise RuntimeError(
                f"pixel_unshuffle: pixel_unshuffle expects {what} to be divisible by downscale_factor, but "
                f"input.size({dim})={size} is not divisible by {r}"
            )
    h, w, k = height // r, width // r, len(lead)
    blocks = x.reshape(*lead, c, h, r, w, r).permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return blocks.reshape(*lead, c * r * r, h, w)
