"""Convolutions and their transposes, and the one place that picks a conv2d strategy.

Shapes: x (N, C, H, W); weight (O, C/groups, kh, kw) for conv2d, (C, O/groups, kh, kw) for conv_transpose2d.
conv2d has two strategies, one Function each, both reported as `conv2d` in graphs and errors:

- `Conv2dTaps` (ungrouped convolutions): one GEMM per kernel tap over row-shifted windows of the padded
  input's channels-last planes (`conv_gemm`: no im2col over the whole input, no fold).
- `Conv2dUnfold` (grouped convolutions, and the readable reference the tests hold `Conv2dTaps` to): unfold
  (im2col) + one batched matrix product, cols (N, groups, C/groups·kh·kw, L), L = H_out·W_out. It also runs
  empty batches (N = 0): their cols are zeros, so the output and every gradient are empty or zero, as in torch.

`conv2d_strategy` chooses between them; `Conv2dTaps`' weight gradient forms products torch never forms, so an
input or weight that is not surely finite (`nonfinite`) goes through `Conv2dUnfold` when a gradient is
needed. Arguments are validated by `functional`; these primitives assume
well-formed pairs of ints.
"""

from __future__ import annotations

import torch
import torch.nn.functional as torch_F

from . import conv_gemm, nonfinite
from .function import Function

FORCED_STRATEGY: type[Function] | None = None  # tests set this to run every conv2d through one strategy


def unfold_groups(x, kernel, dilation, padding, stride, groups):
    """im2col: (N, C, H, W) -> (N, groups, C/groups·kh·kw, L); zeros for an empty x (which unfold refuses)."""
    n, c, h, w = x.shape
    rows = c // groups * kernel[0] * kernel[1]
    if not x.numel():
        length = out_size(h, kernel[0], stride[0], padding[0], dilation[0]) * out_size(
            w, kernel[1], stride[1], padding[1], dilation[1]
        )
        return x.new_zeros(n, groups, rows, length)
    cols = torch_F.unfold(x, kernel, dilation=dilation, padding=padding, stride=stride)
    return cols.view(n, groups, rows, cols.shape[-1])


def flat_weight(weight, groups, rows_per_group):
    """(A, B, kh, kw) -> (groups, A/groups, rows_per_group), with every size explicit (-1 is ambiguous when empty)."""
    return weight.reshape(groups, weight.shape[0] // groups, rows_per_group)


def out_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length of a convolution along one spatial dim."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv2d_strategy(x: torch.Tensor, weight: torch.Tensor, groups: int, needs_grad: bool) -> type[Function]:
    """The Function that runs conv2d on x (N, C, H, W) and weight (O, C/groups, kh, kw).

    The tap GEMMs for ungrouped convolutions of a non-empty input, unfold + matmul otherwise (grouped, or
    nothing to compute). With needs_grad, the tap GEMMs only where x and weight are surely finite: their weight
    and input gradients would spread a NaN or ±Inf further than torch (`nonfinite`). Their forward is exact.
    """
    if FORCED_STRATEGY is not None:
        return FORCED_STRATEGY
    if groups != 1 or not x.numel() or (needs_grad and not nonfinite.finite(x, weight)):
        return Conv2dUnfold
    return Conv2dTaps


class _Conv2d(Function):
    """What both conv2d strategies share: the name and the attributes shown on graph labels."""

    label_attributes = ("stride", "padding", "dilation", "groups")

    @classmethod
    def op_name(cls) -> str:
        return "conv2d"


class Conv2dUnfold(_Conv2d):
    """y = W_flat @ unfold(x) + b; dW = Σ_n dy @ colsᵀ, dx = fold(W_flatᵀ @ dy), db = Σ dy"""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        ctx.stride, ctx.padding, ctx.dilation, ctx.groups = stride, padding, dilation, groups
        n, out_channels, kernel = x.shape[0], weight.shape[0], weight.shape[2:]
        h_out, w_out = (out_size(x.shape[2 + i], kernel[i], stride[i], padding[i], dilation[i]) for i in (0, 1))
        cols = unfold_groups(x, kernel, dilation, padding, stride, groups)
        weight_flat = flat_weight(weight, groups, cols.shape[2])
        out = torch.matmul(weight_flat, cols).view(n, out_channels, h_out, w_out)
        if bias is not None:
            out = out + bias.view(1, -1, 1, 1)
        ctx.x_shape = x.shape
        ctx.save_for_backward(cols, weight)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        cols, weight = ctx.saved_tensors
        geometry = (ctx.stride, ctx.padding, ctx.dilation, ctx.groups)
        return unfold_backward(cols, weight, grad_out, ctx.x_shape, geometry, ctx.needs_input_grad)


def unfold_backward(cols, weight, grad_out, x_shape, geometry, needs_input_grad):
    """Conv2dUnfold's gradients: cols (N, g, C/g·kh·kw, L) of x (x_shape: N, C, H, W), weight (O, C/g, kh, kw),
    grad_out (N, O, H_out, W_out), geometry (stride, padding, dilation, groups) -> (grad_x, grad_w, grad_b),
    each None where needs_input_grad (three bools) is False."""
    need_x, need_w, need_b = needs_input_grad
    (stride, padding, dilation, groups), (n, _, rows, length) = geometry, cols.shape
    grad_flat = grad_out.reshape(n, groups, grad_out.shape[1] // groups, length)  # (N, g, O/g, L)
    grad_x = grad_w = grad_b = None
    if need_x and not cols.numel():  # an empty x: nothing to fold back (fold refuses empty inputs)
        grad_x = grad_out.new_zeros(x_shape)
    elif need_x:
        grad_cols = torch.matmul(flat_weight(weight, groups, rows).transpose(1, 2), grad_flat)  # (N, g, C/g·k·k, L)
        grad_x = torch_F.fold(
            grad_cols.view(n, groups * rows, length),
            x_shape[2:],
            weight.shape[2:],
            dilation=dilation,
            padding=padding,
            stride=stride,
        )
    if need_w:
        grad_w = torch.matmul(grad_flat, cols.transpose(2, 3)).sum(0).view(weight.shape)
    if need_b:
        grad_b = grad_out.sum((0, 2, 3))
    return grad_x, grad_w, grad_b


def _taps(kernel, stride, dilation, grid_w, out_channels) -> list[conv_gemm.Tap]:
    """Tap (t_h, t_w) reads the stride phase of t·d at the shift t·d // s (weights stacked t_h-major)."""
    taps = []
    for t_h in range(kernel[0]):
        shift_h, phase_h = divmod(t_h * dilation[0], stride[0])
        for t_w in range(kernel[1]):
            shift_w, phase_w = divmod(t_w * dilation[1], stride[1])
            plane, offset = phase_h * stride[1] + phase_w, shift_h * grid_w + shift_w
            taps.append(conv_gemm.Tap(plane, offset, t_h * kernel[1] + t_w, slice(0, out_channels)))
    return taps


class Conv2dTaps(_Conv2d):
    """y = Σ_taps shift(x) @ W_tap + b; dW_tap = shift(x)ᵀ @ dy, dx = Σ_taps unshift(dy @ W_tapᵀ), db = Σ dy"""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        ctx.stride, ctx.padding, ctx.dilation, ctx.groups = stride, padding, dilation, groups
        (n, c), (o, _, kh, kw) = x.shape[:2], weight.shape
        h_out, w_out = (
            out_size(x.shape[2 + i], weight.shape[2 + i], stride[i], padding[i], dilation[i]) for i in (0, 1)
        )
        grid = (h_out + (kh - 1) * dilation[0] // stride[0], w_out + (kw - 1) * dilation[1] // stride[1])
        use_cols = conv_gemm.use_cols(c)
        planes = conv_gemm.to_planes(x, stride, padding, grid, channels_first=use_cols)
        taps = _taps((kh, kw), stride, dilation, grid[1], o)
        weights = weight.permute(2, 3, 1, 0).reshape(kh * kw, c, o)
        cols = conv_gemm.gather_cols(planes, taps) if use_cols else None
        out = conv_gemm.output(planes, taps, weights, bias, cols)
        ctx.grid, ctx.taps, ctx.x_shape, ctx.kernel = grid, taps, x.shape, (kh, kw)
        ctx.save_for_backward(None if cols is not None else planes, cols, weights)
        return out.view(n, *grid, o)[:, :h_out, :w_out].permute(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad_out):
        planes, cols, weights = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        c, grid = ctx.x_shape[1], ctx.grid
        grad = conv_gemm.to_grid(grad_out, grid)
        o = grad.shape[1]
        grad_x = grad_w = grad_b = None
        if need_x:
            planes_shape = (ctx.stride[0] * ctx.stride[1], grad.shape[0], c)
            grad_planes = conv_gemm.grad_planes(grad, ctx.taps, weights, planes_shape)
            grad_x = conv_gemm.from_planes(grad_planes, ctx.x_shape, ctx.stride, ctx.padding, grid)
        if need_w:
            grad_stacked = conv_gemm.grad_weights(planes, ctx.taps, grad, weights.shape, cols)
            kh, kw = ctx.kernel
            grad_w = grad_stacked.view(kh, kw, c, o).permute(3, 2, 0, 1).contiguous()
        if need_b:
            grad_b = grad_out.sum((0, 2, 3))
        return grad_x, grad_w, grad_b


class ConvTranspose2d(Function):
    """y = the adjoint of conv2d applied to x: y = fold(W_flatᵀ @ x) + b; dx = W_flat @ unfold(dy)"""

    label_attributes = ("stride", "padding", "output_padding", "groups", "dilation")

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, output_padding, groups, dilation):
        ctx.stride, ctx.padding, ctx.output_padding = stride, padding, output_padding
        ctx.groups, ctx.dilation = groups, dilation
        n, in_channels, h, w = x.shape
        kernel = weight.shape[2:]
        weight_flat = flat_weight(weight, groups, weight.shape[1] * kernel[0] * kernel[1])  # (g, C/g, O/g·kh·kw)
        cols = torch.matmul(weight_flat.transpose(1, 2), x.reshape(n, groups, in_channels // groups, h * w))
        # fold onto the un-cropped output, then crop `padding` and add `output_padding` rows/cols
        full = [(size - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 for i, size in enumerate((h, w))]
        out = torch_F.fold(cols.view(n, groups * cols.shape[2], h * w), full, kernel, dilation=dilation, stride=stride)
        crop = (-padding[1], output_padding[1] - padding[1], -padding[0], output_padding[0] - padding[0])
        out = torch_F.pad(out, crop)
        if bias is not None:
            out = out + bias.view(1, -1, 1, 1)
        ctx.in_size = (h, w)
        ctx.save_for_backward(x, weight)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        groups, (n, in_channels, h, w) = ctx.groups, x.shape
        kernel = weight.shape[2:]
        # the adjoint of "fold + crop" is "pad + unfold": the gradient's columns, (N, g, O/g·k·k, L)
        cols = unfold_groups(grad_out, kernel, ctx.dilation, ctx.padding, ctx.stride, groups)
        if cols.shape[-1] != h * w:  # output_padding >= stride adds a block row/col that maps nowhere
            rows, width = (
                out_size(grad_out.shape[2], kernel[0], ctx.stride[0], ctx.padding[0], ctx.dilation[0]),
                out_size(grad_out.shape[3], kernel[1], ctx.stride[1], ctx.padding[1], ctx.dilation[1]),
            )
            cols = cols.view(n, groups, cols.shape[2], rows, width)[..., :h, :w].reshape(
                n, groups, cols.shape[2], h * w
            )
        weight_flat = flat_weight(weight, groups, cols.shape[2])
        grad_x = grad_w = grad_b = None
        if need_x:
            grad_x = torch.matmul(weight_flat, cols).view(x.shape)
        if need_w:
            x_flat = x.reshape(n, groups, in_channels // groups, h * w)
            grad_w = torch.matmul(x_flat, cols.transpose(2, 3)).sum(0).view(weight.shape)
        if need_b:
            grad_b = grad_out.sum((0, 2, 3))
        return grad_x, grad_w, grad_b
