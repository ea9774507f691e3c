"""Resampling primitives: nearest-neighbour upsampling, max and average pooling (x: (N, C, H, W)).

Pooling reuses the unfold view of convolution: each output position's window is one column.
"""

from __future__ import annotations

import torch
import torch.nn.functional as torch_F

from .conv import out_size
from .function import Function


def upsample_nearest(x: torch.Tensor, scale: tuple[int, int]) -> torch.Tensor:
    """The raw kernel: (N, C, H, W) -> (N, C, H·sh, W·sw), each pixel repeated over an sh×sw block."""
    n, c, h, w = x.shape
    sh, sw = scale
    return x.reshape(n, c, h, 1, w, 1).expand(n, c, h, sh, w, sw).reshape(n, c, h * sh, w * sw)


class UpsampleNearest(Function):
    """y[.., i, j] = x[.., i // sh, j // sw]; dx = the gradient summed over each sh×sw block"""

    label_attributes = ("scale",)

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return upsample_nearest(x, scale)

    @staticmethod
    def backward(ctx, grad_out):
        n, c, h_out, w_out = grad_out.shape
        sh, sw = ctx.scale
        return grad_out.reshape(n, c, h_out // sh, sh, w_out // sw, sw).sum((3, 5))


def _windows(x, kernel, stride, padding, dilation, fill):
    """(N, C, H, W) -> (N, C, kh·kw, L) windows, padding with `fill`."""
    n, c = x.shape[:2]
    if any(padding):
        x = torch_F.pad(x, (padding[1], padding[1], padding[0], padding[0]), value=fill)
    cols = torch_F.unfold(x, kernel, dilation=dilation, stride=stride)
    return cols.view(n, c, kernel[0] * kernel[1], cols.shape[-1])


def _fold_windows(grad_cols, in_size, kernel, stride, padding, dilation):
    """Adjoint of `_windows`: (N, C, kh·kw, L) -> (N, C, H, W), summing overlapping windows."""
    n, c, taps, length = grad_cols.shape
    return torch_F.fold(
        grad_cols.reshape(n, c * taps, length),
        in_size,
        kernel,
        dilation=dilation,
        padding=padding,
        stride=stride,
    )


class MaxPool2d(Function):
    """y = max over each window; dx routes each window's gradient to its arg-max (for finite inputs: those
    with NaN or -inf take torch's own arg-max, `functional.max_pool2d`)"""

    label_attributes = ("kernel", "stride", "padding", "dilation")

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, dilation):
        ctx.kernel, ctx.stride, ctx.padding, ctx.dilation = kernel_size, stride, padding, dilation
        n, c, h, w = x.shape
        cols = _windows(x, kernel_size, stride, padding, dilation, float("-inf"))
        values, arg = cols.max(dim=2, keepdim=True)
        ctx.in_size, ctx.cols_shape = (h, w), cols.shape
        ctx.save_for_backward(arg)
        sizes = [out_size(x.shape[2 + i], kernel_size[i], stride[i], padding[i], dilation[i]) for i in (0, 1)]
        return values.view(n, c, *sizes)

    @staticmethod
    def backward(ctx, grad_out):
        (arg,) = ctx.saved_tensors
        n, c, _, length = ctx.cols_shape
        grad_cols = grad_out.new_zeros(ctx.cols_shape)
        grad_cols.scatter_(2, arg, grad_out.reshape(n, c, 1, length))
        return _fold_windows(grad_cols, ctx.in_size, ctx.kernel, ctx.stride, ctx.padding, ctx.dilation)


class AvgPool2d(Function):
    """y = mean over each window (zero padding counted unless count_include_pad=False); dx spreads dy / count"""

    label_attributes = ("kernel", "stride", "padding")

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, count_include_pad):
        ctx.kernel, ctx.stride, ctx.padding = kernel_size, stride, padding
        n, c, h, w = x.shape
        sizes = [out_size(x.shape[2 + i], kernel_size[i], stride[i], padding[i], 1) for i in (0, 1)]
        cols = _windows(x, kernel_size, stride, padding, (1, 1), 0.0)
        if count_include_pad or not any(padding):
            count = torch.tensor(float(kernel_size[0] * kernel_size[1]), dtype=x.dtype, device=x.device)
        else:
            ones = torch.ones(1, 1, h, w, dtype=x.dtype, device=x.device)
            count = _windows(ones, kernel_size, stride, padding, (1, 1), 0.0).sum(2, keepdim=True)
        ctx.in_size, ctx.cols_shape = (h, w), cols.shape
        ctx.save_for_backward(count)
        return (cols.sum(2, keepdim=True) / count).view(n, c, *sizes)

    @staticmethod
    def backward(ctx, grad_out):
        (count,) = ctx.saved_tensors
        n, c, _, length = ctx.cols_shape
        grad_cols = (grad_out.reshape(n, c, 1, length) / count).expand(ctx.cols_shape)
        return _fold_windows(grad_cols, ctx.in_size, ctx.kernel, ctx.stride, ctx.padding, (1, 1))
