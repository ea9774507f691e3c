"""Resampling primitives: nearest-neighbour upsampling, max and average pooling (x: (N, C, H, W)).

Pooling reuses the unfold view of convolution: each output position's window is one column.
"""

from __future__ import annotations

import torch
import torch.nn.functional as torch_F

from . import nonfinite
from .conv import out_size
from .function import Function


class UpsampleNearest(Function):
    """y[.., i, j] = x[.., i // sh, j // sw]; dx = the gradient summed over each sh×sw block"""

    label_attributes = ("scale",)

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        n, c, h, w = x.shape
        sh, sw = scale
        return x.reshape(n, c, h, 1, w, 1).expand(n, c, h, sh, w, sw).reshape(n, c, h * sh, w * sw)

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


def _torch_arg_max(cols, values, padded):
    """The window position torch's max pooling picks, for windows holding NaN or -inf: it starts from the first
    element that is not padding, then takes each larger value and each NaN. So: the last NaN; else the first
    maximum, unless the window is all -inf (then its first element that is not padding).
    cols (N, C, k, L), values (N, C, 1, L); padded: the (1, 1, k, L) windows of a ones image padded with 0."""
    taps = torch.arange(cols.shape[2], device=cols.device).view(1, 1, -1, 1)
    last_nan = (cols.isnan() * taps).argmax(dim=2, keepdim=True)
    first_max = cols.argmax(dim=2, keepdim=True)
    if padded is not None:
        first_max = torch.where(values == float("-inf"), padded.argmax(dim=2, keepdim=True), first_max)
    return torch.where(values.isnan(), last_nan, first_max)


class MaxPool2d(Function):
    """y = max over each window (NaN if it holds one); dx routes each window's gradient to the element torch
    picks: the first maximum (`max`'s arg-max) when every value is finite, else `_torch_arg_max`"""

    label_attributes = ("kernel", "stride", "padding", "dilation")

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, dilation):
        ctx.kernel, ctx.stride, ctx.padding, ctx.dilation = kernel_size, stride, padding, dilation
        n, c, h, w = x.shape
        cols = _windows(x, kernel_size, stride, padding, dilation, float("-inf"))
        values, arg = cols.max(dim=2, keepdim=True)
        if ctx.needs_input_grad and not nonfinite.finite(values):  # NaN or an all -inf window: torch picks others
            padded = (
                _windows(x.new_ones(1, 1, h, w), kernel_size, stride, padding, dilation, 0.0) if any(padding) else None
            )
            arg = _torch_arg_max(cols, values, padded)
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
