"""Convolutions as unfold (im2col) + one batched matrix product, and their transposes.

Shapes: x (N, C, H, W); weight (O, C/groups, kh, kw) for conv2d, (C, O/groups, kh, kw) for conv_transpose2d;
cols (N, groups, C/groups·kh·kw, L) with L = H_out·W_out output positions.
Arguments are validated by `functional`; these primitives assume well-formed pairs of ints.
"""

from __future__ import annotations

import torch
import torch.nn.functional as torch_F

from .function import Function


def unfold_groups(x, kernel, dilation, padding, stride, groups):
    """im2col: (N, C, H, W) -> (N, groups, C/groups·kh·kw, L)."""
    cols = torch_F.unfold(x, kernel, dilation=dilation, padding=padding, stride=stride)
    return cols.view(x.shape[0], groups, -1, cols.shape[-1])


def out_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length of a convolution along one spatial dim."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


class Conv2d(Function):
    """y = W ⋆ x + b, as y = W_flat @ unfold(x); dW = dy @ colsᵀ, dx = fold(W_flatᵀ @ dy), db = Σ dy"""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        ctx.stride, ctx.padding, ctx.dilation, ctx.groups = stride, padding, dilation, groups
        n, out_channels, kernel = x.shape[0], weight.shape[0], weight.shape[2:]
        h_out, w_out = (out_size(x.shape[2 + i], kernel[i], stride[i], padding[i], dilation[i]) for i in (0, 1))
        cols = unfold_groups(x, kernel, dilation, padding, stride, groups)
        weight_flat = weight.reshape(groups, out_channels // groups, -1)
        out = torch.matmul(weight_flat, cols).view(n, out_channels, h_out, w_out)
        if bias is not None:
            out = out + bias.view(1, -1, 1, 1)
        ctx.in_size = x.shape[2:]
        ctx.save_for_backward(cols, weight)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        cols, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        groups, n = ctx.groups, grad_out.shape[0]
        grad_flat = grad_out.reshape(n, groups, grad_out.shape[1] // groups, -1)  # (N, g, O/g, L)
        grad_x = grad_w = grad_b = None
        if need_x:
            weight_flat = weight.reshape(groups, weight.shape[0] // groups, -1)
            grad_cols = torch.matmul(weight_flat.transpose(1, 2), grad_flat)  # (N, g, C/g·k·k, L)
            grad_x = torch_F.fold(
                grad_cols.view(n, -1, grad_cols.shape[-1]),
                ctx.in_size,
                weight.shape[2:],
                dilation=ctx.dilation,
                padding=ctx.padding,
                stride=ctx.stride,
            )
        if need_w:
            grad_w = torch.matmul(grad_flat, cols.transpose(2, 3)).sum(0).view(weight.shape)
        if need_b:
            grad_b = grad_out.sum((0, 2, 3))
        return grad_x, grad_w, grad_b


class ConvTranspose2d(Function):
    """y = the adjoint of conv2d applied to x: y = fold(W_flatᵀ @ x) + b; dx = W_flat @ unfold(dy)"""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, output_padding, groups, dilation):
        ctx.stride, ctx.padding, ctx.output_padding = stride, padding, output_padding
        ctx.groups, ctx.dilation = groups, dilation
        n, in_channels, h, w = x.shape
        kernel = weight.shape[2:]
        weight_flat = weight.reshape(groups, in_channels // groups, -1)  # (g, C/g, O/g·kh·kw)
        cols = torch.matmul(weight_flat.transpose(1, 2), x.reshape(n, groups, in_channels // groups, h * w))
        # fold onto the un-cropped output, then crop `padding` and add `output_padding` rows/cols
        full = [(size - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 for i, size in enumerate((h, w))]
        out = torch_F.fold(cols.view(n, -1, h * w), full, kernel, dilation=dilation, stride=stride)
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
            cols = cols.view(n, groups, cols.shape[2], rows, width)[..., :h, :w].reshape(n, groups, -1, h * w)
        weight_flat = weight.reshape(groups, in_channels // groups, -1)
        grad_x = grad_w = grad_b = None
        if need_x:
            grad_x = torch.matmul(weight_flat, cols).view(x.shape)
        if need_w:
            x_flat = x.reshape(n, groups, in_channels // groups, h * w)
            grad_w = torch.matmul(x_flat, cols.transpose(2, 3)).sum(0).view(weight.shape)
        if need_b:
            grad_b = grad_out.sum((0, 2, 3))
        return grad_x, grad_w, grad_b
