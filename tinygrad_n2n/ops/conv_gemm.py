"""Convolution as a sum of row-shifted matrix products on planes of the padded input (the fast path of conv ops).

The padded input is split by stride phase into `planes` (P, N·Hg·Wg, C), channels-last: plane
(rh, rw) holds the padded pixels (s·i + rh, s·j + rw) on a grid (Hg, Wg) of positions. Every kernel tap
reads one plane at a fixed row offset (shift_h·Wg + shift_w), so with R = N·Hg·Wg - the largest offset

    out[:R, tap.out_slice] += planes[tap.plane, tap.offset : tap.offset + R] @ weights[tap.index][:, tap.out_slice]

one GEMM per tap, no im2col and no fold; grid rows that are not output positions are computed and
ignored. The adjoints are GEMMs over the same row windows:

    grad_weights[tap.index][:, tap.out_slice] += planes[.., window]ᵀ @ grad[:R, tap.out_slice]
    grad_planes[tap.plane, window] += grad[:R, tap.out_slice] @ weights[tap.index][:, tap.out_slice]ᵀ

Layouts are chosen for the GEMMs: a result with few columns (output or input channels < `THIN_BELOW`, a
weight gradient with fewer output than input channels) is allocated column-major (a transposed view), so
that BLAS writes its long side contiguously; callers see the same shapes either way. With few input
channels a tap's GEMM is too thin, so the taps' windows are first copied side by side into `cols`
(R, taps·C) for one GEMM (im2col on the grid), kept for the weight gradient; the planes are then stored
channels-first, so that a window is C contiguous row copies. Narrow tap GEMMs (at most `SHIFT_MAX_WIDTH`
output columns each) are merged: one GEMM computes every tap's product and the windows are summed afterwards
(`_output_shifted`), and the weight gradient reads each plane once against the gradient's columns, shifted
to each tap's window and gathered side by side (`_grad_weights_gathered`); likewise the planes' gradient
with few input channels (`_grad_planes_shifted`). Buffers are written before they are read: only the margins
that no window covers are zeroed.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

COLS_BELOW_CHANNELS = 16  # fewer input channels than this: gather `cols` and run one GEMM
THIN_BELOW = 16  # a GEMM result with fewer columns than this is stored column-major
SHIFT_MAX_WIDTH = 6  # tap GEMMs this narrow (on average, one plane): one GEMM for all taps, then shifted sums


class Tap(NamedTuple):
    """One kernel tap: reads `plane` at row `offset`, uses weights[`index`], writes the output columns `out_slice`."""

    plane: int
    offset: int
    index: int
    out_slice: slice


def _phase_span(phase: int, stride: int, pad: int, size: int, grid: int) -> tuple[int, int, int]:
    """Grid positions [lo, hi) of `phase` that hold input pixels, and the first such pixel's index."""
    lo = max(0, -((phase - pad) // stride))
    hi = min(grid, (size - 1 + pad - phase) // stride + 1)
    return lo, max(lo, hi), stride * lo + phase - pad


def _pixels(lo: int, hi: int, first: int, stride: int) -> slice:
    """The input pixels that grid positions [lo, hi) of a phase hold, starting at pixel `first`."""
    return slice(first, first + stride * (hi - lo - 1) + 1, stride)


def zero_margins(grid: torch.Tensor, lo_h: int, hi_h: int, lo_w: int, hi_w: int) -> None:
    """Zero grid: (N, Hg, Wg, ...) outside rows [lo_h, hi_h) x columns [lo_w, hi_w) (the written block)."""
    if hi_h <= lo_h or hi_w <= lo_w:
        grid.zero_()
        return
    for block in (grid[:, :lo_h], grid[:, hi_h:], grid[:, lo_h:hi_h, :lo_w], grid[:, lo_h:hi_h, hi_w:]):
        if block.numel():
            block.zero_()


def to_planes(x: torch.Tensor, stride: tuple, pad: tuple, grid: tuple, channels_first: bool = False) -> torch.Tensor:
    """x: (N, C, H, W) -> planes (sh·sw, N·Hg·Wg, C), zero where the padded grid is outside x.

    channels_first stores each plane as (C, N·Hg·Wg) (for `gather_cols`: a tap's window is then C row copies).
    """
    n, c, h, w = x.shape
    (sh, sw), (hg, wg) = stride, grid
    if channels_first:
        planes = x.new_empty(sh, sw, c, n, hg, wg).permute(0, 1, 3, 4, 5, 2)
    else:
        planes = x.new_empty(sh, sw, n, hg, wg, c)
    x_nhwc = x.permute(0, 2, 3, 1)
    for rh in range(sh):
        lo_h, hi_h, src_h = _phase_span(rh, sh, pad[0], h, hg)
        for rw in range(sw):
            lo_w, hi_w, src_w = _phase_span(rw, sw, pad[1], w, wg)
            if hi_h > lo_h and hi_w > lo_w:
                pixels_h, pixels_w = _pixels(lo_h, hi_h, src_h, sh), _pixels(lo_w, hi_w, src_w, sw)
                planes[rh, rw, :, lo_h:hi_h, lo_w:hi_w] = x_nhwc[:, pixels_h, pixels_w]
            zero_margins(planes[rh, rw], lo_h, hi_h, lo_w, hi_w)
    return planes.view(sh * sw, n * hg * wg, c)


def from_planes(grad_planes: torch.Tensor, x_shape: tuple, stride: tuple, pad: tuple, grid: tuple) -> torch.Tensor:
    """Adjoint of `to_planes`: (sh·sw, N·Hg·Wg, C) -> (N, C, H, W) (a view of the planes where possible)."""
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
                pixels_h, pixels_w = _pixels(lo_h, hi_h, src_h, sh), _pixels(lo_w, hi_w, src_w, sw)
                grad[:, pixels_h, pixels_w] = planes[rh, rw, :, lo_h:hi_h, lo_w:hi_w]
    return grad.permute(0, 3, 1, 2)


def to_grid(grad_out: torch.Tensor, grid: tuple) -> torch.Tensor:
    """grad_out: (N, O, H_out, W_out) -> (N·Hg·Wg, O) channels-last on the grid, zero at non-output rows."""
    n, o, h, w = grad_out.shape
    grad = grad_out.new_empty(n, *grid, o)
    grad[:, :h, :w] = grad_out.permute(0, 2, 3, 1)
    zero_margins(grad, 0, h, 0, w)
    return grad.view(-1, o)


def window_rows(planes: torch.Tensor, taps: list[Tap]) -> int:
    """R: the number of grid rows every tap can read."""
    return planes.shape[1] - max(tap.offset for tap in taps)


def gather_cols(planes: torch.Tensor, taps: list[Tap]) -> torch.Tensor:
    """im2col on the grid: (R, taps·C), tap i's window in columns [i·C, (i+1)·C); laid out like the planes."""
    rows, c = window_rows(planes, taps), planes.shape[2]
    cols = _matrix(planes, rows, len(taps) * c, planes.stride(2) != 1)
    for i, tap in enumerate(taps):
        cols[:, i * c : (i + 1) * c] = planes[tap.plane, tap.offset : tap.offset + rows]
    return cols


def use_cols(channels: int) -> bool:
    """Whether to gather `cols` (thin per-tap GEMMs) rather than run one GEMM per tap (then: channels-first)."""
    return channels < COLS_BELOW_CHANNELS


def _matrix(like: torch.Tensor, rows: int, columns: int, column_major: bool) -> torch.Tensor:
    """An uninitialised (rows, columns) matrix, stored column-major (a transposed view) when asked."""
    return like.new_empty(columns, rows).t() if column_major else like.new_empty(rows, columns)


def output(
    planes: torch.Tensor, taps: list[Tap], weights: torch.Tensor, bias: torch.Tensor | None, cols: torch.Tensor | None
) -> torch.Tensor:
    """planes (P, G, C), weights (T, C, width), bias (width,) or None -> out (G, width); rows ≥ R are garbage.

    With `cols` (from `gather_cols`, taps in order of `weights`, full-width taps) one GEMM is run instead.
    """
    rows, width = window_rows(planes, taps), weights.shape[2]
    if cols is None and planes.shape[0] == 1 and _narrow(taps):
        return _output_shifted(planes[0], taps, weights, bias, rows)
    out = _matrix(planes, planes.shape[1], width, width < THIN_BELOW)
    if cols is not None:
        matrix = weights.reshape(-1, width)
        if bias is None:
            torch.mm(cols, matrix, out=out[:rows])
        else:
            torch.addmm(bias, cols, matrix, out=out[:rows])
        return out
    first, *rest = taps
    if first.out_slice == slice(0, width):
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
        out[:rows, tap.out_slice].addmm_(window, weights[tap.index][:, tap.out_slice])
    return out


def _narrow(taps: list[Tap]) -> bool:
    """Whether the taps' GEMMs are narrow: at most SHIFT_MAX_WIDTH output columns each, on average."""
    return sum(tap.out_slice.stop - tap.out_slice.start for tap in taps) <= SHIFT_MAX_WIDTH * len(taps)


def _output_shifted(
    plane: torch.Tensor, taps: list[Tap], weights: torch.Tensor, bias: torch.Tensor | None, rows: int
) -> torch.Tensor:
    """`output` for a few output columns: products = (plane @ [W_t...])ᵀ in one GEMM, out = Σ_t shifted rows."""
    blocks = [weights[tap.index][:, tap.out_slice] for tap in taps]
    products = torch.cat(blocks, dim=1).t() @ plane.t()  # (Σ widths, G): tap t's product in its row block
    out = plane.new_empty(weights.shape[2], plane.shape[0])  # stored transposed: (width, G)
    window = out[:, :rows]
    if bias is None:
        window.zero_()
    else:
        window.copy_(bias.unsqueeze(1).expand_as(window))
    start = 0
    for tap, block in zip(taps, blocks):
        end = start + block.shape[1]
        out[tap.out_slice, :rows] += products[start:end, tap.offset : tap.offset + rows]
        start = end
    return out.t()


def grad_weights(
    planes: torch.Tensor | None, taps: list[Tap], grad: torch.Tensor, weights_shape: tuple, cols: torch.Tensor | None
) -> torch.Tensor:
    """grad (G, width) (zero at non-output rows) -> gradient of the stacked weights (T, C, width)."""
    count, c, width = weights_shape
    if cols is not None:
        rows = cols.shape[0]
        result = _matrix(grad, count * c, width, width < count * c)
        return torch.mm(cols.t(), grad[:rows], out=result).view(weights_shape)
    rows = window_rows(planes, taps)
    if _narrow(taps):
        return _grad_weights_gathered(planes, taps, grad, weights_shape, rows)
    result = grad.new_zeros(count, width, c).transpose(1, 2) if width < c else grad.new_zeros(weights_shape)
    for tap in taps:
        window = planes[tap.plane, tap.offset : tap.offset + rows]
        result[tap.index][:, tap.out_slice].addmm_(window.t(), grad[:rows, tap.out_slice])
    return result


def _grad_weights_gathered(
    planes: torch.Tensor, taps: list[Tap], grad: torch.Tensor, weights_shape: tuple, rows: int
) -> torch.Tensor:
    """`grad_weights` for narrow taps: each tap's gradient columns, shifted to its window, side by side in
    `gathered` (Σ widths, G), so that one GEMM per plane reads the plane once (instead of once per tap)."""
    result = grad.new_zeros(weights_shape)
    grad_t = grad.t().contiguous()  # (width, G): a tap's columns are contiguous rows
    for plane in range(planes.shape[0]):
        plane_taps = [tap for tap in taps if tap.plane == plane]
        widths = [tap.out_slice.stop - tap.out_slice.start for tap in plane_taps]
        gathered = grad.new_empty(sum(widths), planes.shape[1])
        start = 0
        for tap, width in zip(plane_taps, widths):
            block = gathered[start : start + width]
            block[:, tap.offset : tap.offset + rows] = grad_t[tap.out_slice, :rows]
            block[:, : tap.offset].zero_()
            block[:, tap.offset + rows :].zero_()
            start += width
        products = gathered @ planes[plane]  # (Σ widths, C): tap t's weight gradient, transposed
        start = 0
        for tap, width in zip(plane_taps, widths):
            result[tap.index][:, tap.out_slice] += products[start : start + width].t()
            start += width
    return result


def grad_planes(grad: torch.Tensor, taps: list[Tap], weights: torch.Tensor, planes_shape: tuple) -> torch.Tensor:
    """grad (G, width) (zero at non-output rows) -> gradient of the planes (P, G, C).

    Each plane's first tap writes its window (β = 0) and the rows outside it are zeroed: no full zero pass.
    """
    count, size, c = planes_shape
    rows = size - max(tap.offset for tap in taps)
    if c <= SHIFT_MAX_WIDTH:
        return _grad_planes_shifted(grad, taps, weights, planes_shape, rows)
    result = grad.new_empty(count, c, size).transpose(1, 2) if c < THIN_BELOW else grad.new_empty(planes_shape)
    written = set()
    for tap in taps:
        target = result[tap.plane, tap.offset : tap.offset + rows]
        grad_block, weight_t = grad[:rows, tap.out_slice], weights[tap.index][:, tap.out_slice].t()
        if tap.plane in written:
            target.addmm_(grad_block, weight_t)
            continue
        torch.mm(grad_block, weight_t, out=target)
        result[tap.plane, : tap.offset].zero_()
        result[tap.plane, tap.offset + rows :].zero_()
        written.add(tap.plane)
    for plane in set(range(count)) - written:
        result[plane].zero_()
    return result


def _grad_planes_shifted(
    grad: torch.Tensor, taps: list[Tap], weights: torch.Tensor, planes_shape: tuple, rows: int
) -> torch.Tensor:
    """`grad_planes` for a few input channels: every tap's (C, R) product in one GEMM, then shifted sums."""
    count, size, c = planes_shape
    stacked = weights.new_zeros(len(taps) * c, weights.shape[2])  # tap i's weights in rows [i·C, (i+1)·C)
    for i, tap in enumerate(taps):
        stacked[i * c : (i + 1) * c, tap.out_slice] = weights[tap.index][:, tap.out_slice]
    products = stacked @ grad[:rows].t()  # (taps·C, R)
    result = grad.new_zeros(count, c, size)  # stored channels-first
    for i, tap in enumerate(taps):
        result[tap.plane, :, tap.offset : tap.offset + rows] += products[i * c : (i + 1) * c]
    return result.transpose(1, 2)
