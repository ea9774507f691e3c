"""im2col and col2im as ops: `Unfold` (each sliding block of the input becomes one column) and `Fold` (the
columns are summed back into the image). Each is the other's adjoint, so each backward is the other's forward.

Shapes: unfold x (N, C, H, W) -> (N, C·kh·kw, L); fold x (N, C·kh·kw, L) -> (N, C, H, W), L the number of
blocks; both also take unbatched inputs (no N), as torch does. Arguments arrive checked (by torch, in
`spatial.convolution`).
"""

from __future__ import annotations

import torch.nn.functional as torch_F

from .function import Function


class Unfold(Function):
    """y = im2col(x): column l holds block l's values; dx = col2im(dy) (overlapping blocks add up)"""

    label_attributes = ("kernel_size", "dilation", "padding", "stride")

    @staticmethod
    def forward(ctx, x, kernel_size, dilation, padding, stride):
        ctx.kernel_size, ctx.dilation, ctx.padding, ctx.stride = kernel_size, dilation, padding, stride
        ctx.in_size = tuple(x.shape[-2:])
        return torch_F.unfold(x, kernel_size, dilation, padding, stride)

    @staticmethod
    def backward(ctx, grad_out):
        return torch_F.fold(grad_out, ctx.in_size, ctx.kernel_size, ctx.dilation, ctx.padding, ctx.stride)


class Fold(Function):
    """y = col2im(x): every column added into its block of the output; dx = im2col(dy)"""

    label_attributes = ("output_size", "kernel_size", "dilation", "padding", "stride")

    @staticmethod
    def forward(ctx, x, output_size, kernel_size, dilation, padding, stride):
        ctx.output_size, ctx.kernel_size, ctx.dilation = output_size, kernel_size, dilation
        ctx.padding, ctx.stride = padding, stride
        return torch_F.fold(x, output_size, kernel_size, dilation, padding, stride)

    @staticmethod
    def backward(ctx, grad_out):
        return torch_F.unfold(grad_out, ctx.kernel_size, ctx.dilation, ctx.padding, ctx.stride)
