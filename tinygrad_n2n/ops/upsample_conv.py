"""Fused nearest-neighbour upsampling + stride-1 convolution, as s² phase convolutions of the small input.

Output row y = s·i + r (phase r) of conv(upsample(x)) reads upsampled rows y - p + t·d, i.e. input rows
i + ⌊(r - p + t·d) / s⌋: each phase is a convolution of the *low-resolution* x whose kernel taps are sums
of the original taps. Per axis that map is a fixed 0/1 matrix A (s, k', k) with
A[r, a, t] = [⌊(r - p + t·d) / s⌋ = a + a_min], so the stacked phase weights are

    W'[a, b, c, (r_h, r_w, o)] = Σ_{t,u} A_h[r_h, a, t] A_w[r_w, b, u] W[o, c, t, u]    (one einsum)

and their gradient maps back through the same einsum. The phase convolutions run as row-shifted GEMMs on
the low-resolution planes (`conv_gemm`), each tap only over the phases that use it; a pixel shuffle
interleaves the phases into the output. No upsampled tensor, no im2col, no fold.

The phase weights hold zeros where a phase does not read an offset, so a NaN or ±Inf meeting them spreads
further than in torch (`nonfinite`): `functional.upsample_conv2d` runs upsample, then conv2d, unless x and W
are surely finite, and a gradient that is not surely finite is taken by the reference computation (upsample
the input rebuilt from the saved planes, unfold, `conv.unfold_backward`, sum each s×s block).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as torch_F

from . import conv, conv_gemm, nonfinite, pool
from .function import Function


@functools.lru_cache(maxsize=256)
def phase_map(scale: int, kernel: int, padding: int, dilation: int) -> tuple[tuple[tuple[int, ...], ...], int]:
    """Per phase r and tap t, the low-resolution offset a - a_min that tap reads, and a_min (≤ 0).

    Computed on the host once per configuration: the ops read it without touching device values.
    """
    offsets = [[(r - padding + t * dilation) // scale for t in range(kernel)] for r in range(scale)]
    low = min(min(row) for row in offsets)
    return tuple(tuple(a - low for a in row) for row in offsets), low


def phases_used(scale: int, kernel: int, padding: int, dilation: int) -> list[list[bool]]:
    """used[r][a]: whether phase r reads low-resolution offset a (through any tap)."""
    rows, _ = phase_map(scale, kernel, padding, dilation)
    span = max(max(row) for row in rows) + 1
    return [[a in row for a in range(span)] for row in rows]


@functools.lru_cache(maxsize=256)
def phase_matrix(
    scale: int, kernel: int, padding: int, dilation: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """A (s, k', k) with A[r, a, t] = 1 where phase r's tap t reads offset a; cached per dtype and device."""
    rows, _ = phase_map(scale, kernel, padding, dilation)
    span = max(max(row) for row in rows) + 1
    values = [[[float(a == offset) for offset in row] for a in range(span)] for row in rows]
    return torch.tensor(values, dtype=dtype, device=device)


def _phases_using(offsets_used: list[list[bool]], a: int) -> list[int]:
    return [r for r, used in enumerate(offsets_used) if used[a]]


def _taps(used_h: list[list[bool]], used_w: list[list[bool]], grid_w: int, out_channels: int) -> list[conv_gemm.Tap]:
    """One GEMM per (tap, run of output columns): tap (a, b) writes only the phases that use it."""
    scale_w, span_h, span_w = len(used_w), len(used_h[0]), len(used_w[0])
    block = scale_w * out_channels  # columns of one row phase r_h: (r_w, o)
    taps = []
    for a in range(span_h):
        phases_h = _phases_using(used_h, a)
        for b in range(span_w):
            phases_w = _phases_using(used_w, b)
            if not phases_h or not phases_w:
                continue
            offset, index = a * grid_w + b, a * span_w + b
            if len(phases_w) == scale_w and phases_h == list(range(phases_h[0], phases_h[-1] + 1)):
                taps.append(conv_gemm.Tap(0, offset, index, slice(phases_h[0] * block, (phases_h[-1] + 1) * block)))
                continue
            lo, hi = phases_w[0] * out_channels, (phases_w[-1] + 1) * out_channels
            taps.extend(conv_gemm.Tap(0, offset, index, slice(r * block + lo, r * block + hi)) for r in phases_h)
    return taps


class UpsampleConv2d(Function):
    """y = conv2d(upsample_nearest(x, s), W, b, padding, dilation) = shuffle_r(W'_r ⋆ x) + b; dW = Aᵀ dW'"""

    label_attributes = ("scale", "padding", "dilation")

    @staticmethod
    def forward(ctx, x, weight, bias, scale, padding, dilation):
        ctx.scale, ctx.padding, ctx.dilation = scale, padding, dilation
        (n, c, h, w), o = x.shape, weight.shape[0]
        (sh, sw), size = scale, (h, w)
        out_hw = [size[i] * scale[i] + 2 * padding[i] - dilation[i] * (weight.shape[2 + i] - 1) for i in (0, 1)]
        phase_hw = [-(-out_hw[i] // scale[i]) for i in (0, 1)]  # rows/cols per phase, ⌈H_out / s⌉
        config_h, config_w = ((scale[i], weight.shape[2 + i], padding[i], dilation[i]) for i in (0, 1))
        a_h, a_w = (phase_matrix(*config, weight.dtype, weight.device) for config in (config_h, config_w))
        low_h, low_w = phase_map(*config_h)[1], phase_map(*config_w)[1]
        grid = (phase_hw[0] + a_h.shape[1] - 1, phase_hw[1] + a_w.shape[1] - 1)
        use_cols = conv_gemm.use_cols(c)
        planes = conv_gemm.to_planes(x, (1, 1), (-low_h, -low_w), grid, channels_first=use_cols)
        weights = torch.einsum("rat,sbu,octu->abcrso", a_h, a_w, weight).reshape(-1, c, sh * sw * o)
        cols = conv_gemm.gather_cols(planes, _all_taps(weights, grid[1], a_w.shape[1])) if use_cols else None
        used_h, used_w = phases_used(*config_h), phases_used(*config_w)
        taps = _all_taps(weights, grid[1], a_w.shape[1]) if cols is not None else _taps(used_h, used_w, grid[1], o)
        out = conv_gemm.output(planes, taps, weights, None, cols)
        out = out.view(n, *grid, sh, sw, o)[:, : phase_hw[0], : phase_hw[1]].permute(0, 1, 3, 2, 4, 5)
        shuffled = out.new_empty(n, phase_hw[0], sh, phase_hw[1], sw, o)
        if bias is None:
            shuffled.copy_(out)
        else:
            torch.add(out, bias, out=shuffled)
        ctx.grid, ctx.taps, ctx.x_shape, ctx.out_hw, ctx.phase_hw = grid, taps, x.shape, out_hw, phase_hw
        ctx.low = (low_h, low_w)
        ctx.save_for_backward(planes, cols, weights, a_h, a_w, weight)
        full = shuffled.view(n, phase_hw[0] * sh, phase_hw[1] * sw, o)
        return full[:, : out_hw[0], : out_hw[1]].permute(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad_out):
        planes, cols, weights, a_h, a_w, weight = ctx.saved_tensors
        if not nonfinite.finite(grad_out):
            return _reference_backward(ctx, planes, weight, grad_out)
        need_x, need_w, need_b = ctx.needs_input_grad
        (n, c, _, _), (sh, sw), grid, (ph, pw) = ctx.x_shape, ctx.scale, ctx.grid, ctx.phase_hw
        o = grad_out.shape[1]
        grad_nhwc = grad_out.permute(0, 2, 3, 1)
        if (ph * sh, pw * sw) != tuple(ctx.out_hw):
            grad_nhwc = torch_F.pad(grad_nhwc, (0, 0, 0, pw * sw - ctx.out_hw[1], 0, ph * sh - ctx.out_hw[0]))
        grad = grad_out.new_empty(n, *grid, sh, sw, o)
        grad[:, :ph, :pw] = grad_nhwc.reshape(n, ph, sh, pw, sw, o).permute(0, 1, 3, 2, 4, 5)
        conv_gemm.zero_margins(grad, 0, ph, 0, pw)
        grad = grad.view(n * grid[0] * grid[1], sh * sw * o)
        grad_x = grad_w = grad_b = None
        if need_x:
            grad_planes = conv_gemm.grad_planes(grad, ctx.taps, weights, (1, grad.shape[0], c))
            grad_x = conv_gemm.from_planes(grad_planes, ctx.x_shape, (1, 1), (-ctx.low[0], -ctx.low[1]), grid)
        if need_w:
            grad_stacked = conv_gemm.grad_weights(planes, ctx.taps, grad, weights.shape, cols)
            grad_stacked = grad_stacked.view(a_h.shape[1], a_w.shape[1], c, sh, sw, o)
            grad_w = torch.einsum("rat,sbu,abcrso->octu", a_h, a_w, grad_stacked)
        if need_b:
            grad_b = grad_out.sum((0, 2, 3))
        return grad_x, grad_w, grad_b


def _reference_backward(ctx, planes, weight, grad_out):
    """The gradients of conv2d(upsample_nearest(x)) as torch computes them: x (rebuilt from the planes, where
    every pixel any output reads sits on the grid) upsampled, unfolded, `conv.unfold_backward`, and the input
    gradient summed over each s×s block. planes (1, N·Hg·Wg, C), weight (O, C, kh, kw), grad_out (N, O, H', W')."""
    (n, c, h, w), (sh, sw) = ctx.x_shape, ctx.scale
    x = conv_gemm.from_planes(planes.contiguous(), ctx.x_shape, (1, 1), (-ctx.low[0], -ctx.low[1]), ctx.grid)
    up = pool.upsample_nearest(x, ctx.scale)
    geometry = ((1, 1), ctx.padding, ctx.dilation, 1)
    cols = conv.unfold_groups(up, weight.shape[2:], ctx.dilation, ctx.padding, (1, 1), 1)
    grad_up, grad_w, grad_b = conv.unfold_backward(cols, weight, grad_out, up.shape, geometry, ctx.needs_input_grad)
    grad_x = None if grad_up is None else grad_up.reshape(n, c, h, sh, w, sw).sum((3, 5))
    return grad_x, grad_w, grad_b


def _all_taps(weights: torch.Tensor, grid_w: int, span_w: int) -> list[conv_gemm.Tap]:
    """Every (a, b) offset over all output columns, in the order of the stacked weights (for `cols`)."""
    width = weights.shape[2]
    return [
        conv_gemm.Tap(0, (index // span_w) * grid_w + index % span_w, index, slice(0, width))
        for index in range(weights.shape[0])
    ]
