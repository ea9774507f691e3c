"""Index primitives: `Scatter` (write values at indices along a dim) and `IndexSelect` (take whole slices).

Indices arrive as raw int64 torch tensors (no gradient); `Gather` (take values at indices along a dim) lives in
`ops.reduce`, beside the reductions that use it.
"""

from __future__ import annotations

import torch

from .function import Function


class Scatter(Function):
    """y = x with src written at `index` along dim; dy/dx = dy with the written places zeroed, dy/dsrc = dy at index

    src is a tensor (read in index's shape) or a number; a src larger than index gets 0 where it is not read.
    """

    label_attributes = ("dim",)

    @staticmethod
    def forward(ctx, x, index, src, dim):
        ctx.dim, ctx.src_shape = dim, src.shape if isinstance(src, torch.Tensor) else None
        ctx.save_for_backward(index)
        return torch.scatter(x, dim, index, src)

    @staticmethod
    def backward(ctx, grad_out):
        (index,) = ctx.saved_tensors
        need_x, _, need_src = ctx.needs_input_grad
        grad_x = grad_out.scatter(ctx.dim, index, 0.0) if need_x else None
        grad_src = None
        if need_src:
            grad_src = grad_out.gather(ctx.dim, index)
            if grad_src.shape != ctx.src_shape:  # the part of src that index never reads gets 0
                padded = grad_src.new_zeros(ctx.src_shape)
                padded[tuple(slice(0, size) for size in index.shape)] = grad_src
                grad_src = padded
        return grad_x, None, grad_src


class IndexSelect(Function):
    """y = x.index_select(dim, index); dy/dx adds dy back at the selected slices (repeated indices accumulate)"""

    label_attributes = ("dim",)

    @staticmethod
    def forward(ctx, x, index, dim):
        ctx.dim, ctx.shape = dim, x.shape
        ctx.save_for_backward(index)
        return torch.index_select(x, dim, index)

    @staticmethod
    def backward(ctx, grad_out):
        (index,) = ctx.saved_tensors
        if grad_out.ndim == 0:  # a 0-d x: its one element was selected (index 0)
            return grad_out.clone(), None
        return grad_out.new_zeros(ctx.shape).index_add_(ctx.dim, index.reshape(-1), grad_out), None
