"""Convolution as a sum of row-shifted matrix products on channels-last planes (the fast path of conv ops).

The padded input is stored channels-last and split by stride phase into `planes` (P, N·Hg·Wg, C): plane
(rh, rw) holds the padded pixels (s·i + rh, s·j + rw) on a grid (Hg, Wg) of positions. Every kernel tap
reads one plane at a fixed row offset (shift_h·Wg + shift_w), so with R = N·Hg·Wg - the largest offset

    out[:R, tap.cols] += planes[tap.plane, tap.offset : tap.offset + R] @ weights[tap.index][:, tap.cols]

one GEMM per tap, no im2col and no fold; grid rows that are not output positions are computed and
ignored. The adjoints are GEMMs over the same row windows:

    grad_weights[tap.index][:, tap.cols] += planes[.., window]ᵀ @ grad[:R, tap.cols]
    grad_planes[tap.plane, window] += grad[:R, tap.cols] @ weights[tap.index][:, tap.cols]ᵀ

With few input channels a tap's GEMM is too thin, so the taps' windows are first copied side by side into
`cols` (R, taps·C) for one GEMM (im2col on the grid); `cols` is then kept for the weight gradient.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

COLS_BELOW_CHANNELS = 16  # fewer input channels than this: gather `cols` and run one GEMM


class Tap(NamedTuple):
    """One kernel tap: reads `plane` at row `offset`, uses weights[`index`], writes output columns `cols`."""

    plane: int
    offset: int
    index: int
    cols: slice


def _phase_span(phase: int, stride: int, pad: int, size: int, grid: int) -> tuple[int, int, int]:
    """Grid positions [lo, hi) of `phase` that hold input pixels, and the first such pixel's index."""
    lo = max(0, -((phase - pad) // stride))
    hi = min(grid, (size - 1 + pad - phase) // stride + 1)
    return lo, max(lo, hi), stride * lo + phase - pad


def to_planes(x: torch.Tensor, stride: tuple, pad: tuple, grid: tuple) -> torch.Tensor:
    """x: (N, C, H, W) -> planes (sh·sw, N·Hg·Wg, C), zero where the padded grid is outside x."""
    n, c, h, w = x.shape
    (sh, sw), (hg, wg) = stride, grid
    planes = x.new_zeros(sh, sw, n, hg, wg, c)
    x_nhwc = x.permute(0, 2, 3, 1)
    for rh in range(sh):
        lo_h, hi_h, src_h = _phase_span(rh, sh, pad[0], h, hg)
        for rw in range(sw):
            lo_w, hi_w, src_w = _phase_span(rw, sw, pad[1], w, wg)
            if hi_h > lo_h and hi_w > lo_w:
                rows = slice(src_h, src_h + sh * (hi_h - lo_h - 1) + 1, sh)
                cols = slice(src_w, src_w + sw * (hi_w - lo_w - 1) + 1, sw)
                planes[rh, rw, :, lo_h:hi_h, lo_w:hi_w] = x_nhwc[:, rows, cols]
    return planes.view(sh * sw, n * hg * wg, c)


def from_planes(grad_planes: torch.Tensor, x_shape: tuple, stride: tuple, pad: tuple, grid: tuple) -> torch.Tensor:
    """Adjoint of `to_planes`: (sh·sw, N·Hg·Wg, C) -> (N, C, H, W) (channels-last strides)."""
    n, c, h, w = x_shape
    (sh, sw), (hg, wg) = stride, grid
    planes = grad_planes.view(sh, sw, n, hg, wg, c)
    spans_h = [_phase_span(rh, sh, pad[0], h, hg) for rh in range(sh)]
    spans_w = [_phase_span(rw, sw, pad[1], w, wg) for rw in range(sw)]
    covered = sum(hi - lo for lo, hi, _ in spans_h) == h and sum(hi - lo for lo, hi, _ in spans_w) == w
    if sh == sw == 1 and covered:  # one plane holding all of x: the gradient is a view of it
        (lo_h, hi_h, _), (lo_w, hi_w, _) = spans_h[0], spans_w[0]
        return planes[0, 0, :, lo_h:hi_h, lo_w:hi_w].permute(0, 3, 1, 2)
    grad = grad_planes.new_empty(n, h, w, c) if covered else grad_planes.new_zeros(n, h, w, c)
    for rh, (lo_h, hi_h, src_h) in enumerate(spans_h):
        for rw, (lo_w, hi_w, src_w) in enumerate(spans_w):
            if hi_h > lo_h and hi_w > lo_w:
                rows = slice(src_h, src_h + sh * (hi_h - lo_h - 1) + 1, sh)
                cols = slice(src_w, src_w + sw * (hi_w - lo_w - 1) + 1, sw)
                grad[:, rows, cols] = planes[rh, rw, :, lo_h:hi_h, lo_w:hi_w]
    return grad.permute(0, 3, 1, 2)


def window_rows(planes: torch.Tensor, taps: list[Tap]) -> int:
    """R: the number of grid rows every tap can read."""
    return planes.shape[1] - max(tap.offset for tap in taps)


def gather_cols(planes: torch.Tensor, taps: list[Tap]) -> torch.Tensor:
    """im2col on the grid: (R, taps·C), tap i's window in columns [i·C, (i+1)·C)."""
    rows, c = window_rows(planes, taps), planes.shape[2]
    cols = planes.new_empty(rows, len(taps) * c)
    for i, tap in enumerate(taps):
        cols[:, i * c : (i + 1) * c] = planes[tap.plane, tap.offset : tap.offset + rows]
    return cols


def use_cols(planes: torch.Tensor) -> bool:
    """Whether to gather `cols` (thin per-tap GEMMs) rather than run one GEMM per tap."""
    return planes.shape[2] < COLS_BELOW_CHANNELS


def forward(
    planes: torch.Tensor, taps: list[Tap], weights: torch.Tensor, bias: torch.Tensor | None, cols: torch.Tensor | None
) -> torch.Tensor:
    """planes (P, G, C), weights (T, C, width), bias (width,) or None -> out (G, width); rows ≥ R are garbage.

    With `cols` (from `gather_cols`, taps in order of `weights`, full-width taps) one GEMM is run instead.
    """
    rows, width = window_rows(planes, taps), weights.shape[2]
    out = planes.new_empty(planes.shape[1], width)
    if cols is not None:
        matrix = weights.reshape(-1, width)
        if bias is None:
            torch.mm(cols, matrix, out=out[:rows])
        else:
            torch.addmm(bias, cols, matrix, out=out[:rows])
        return out
    first, *rest = taps
    if first.cols == slice(0, width):
        window = planes[first.plane, first.offset : first.offset + rows]
        if bias is None:
            torch.mm(window, weights[first.index], out=out[:rows])
        else:
            torch.addmm(bias, window, weights[first.index], out=out[:rows])
    else:
        rest = taps
        out[:rows] = 0 if bias is None else bias
    for tap in rest:
        window = planes[tap.plane, tap.offset : tap.offset + rows]
        out[:rows, tap.cols].addmm_(window, weights[tap.index][:, tap.cols])
    return out


def grad_weights(
    planes: torch.Tensor | None, taps: list[Tap], grad: torch.Tensor, weights_shape: tuple, cols: torch.Tensor | None
) -> torch.Tensor:
    """grad (G, width) (zero at non-output rows) -> gradient of the stacked weights (T, C, width)."""
    if cols is not None:
        rows = cols.shape[0]
        return (cols.t() @ grad[:rows]).view(weights_shape)
    rows = window_rows(planes, taps)
    result = grad.new_zeros(weights_shape)
    for tap in taps:
        window = planes[tap.plane, tap.offset : tap.offset + rows]
        result[tap.index][:, tap.cols].addmm_(window.t(), grad[:rows, tap.cols])
    return result


def grad_planes(grad: torch.Tensor, taps: list[Tap], weights: torch.Tensor, planes_shape: tuple) -> torch.Tensor:
    """grad (G, width) (zero at non-output rows) -> gradient of the planes (P, G, C)."""
    rows = planes_shape[1] - max(tap.offset for tap in taps)
    result = grad.new_zeros(planes_shape)
    for tap in taps:
        rows_of_tap = result[tap.plane, tap.offset : tap.offset + rows]
        rows_of_tap.addmm_(grad[:rows, tap.cols], weights[tap.index][:, tap.cols].t())
    return result
