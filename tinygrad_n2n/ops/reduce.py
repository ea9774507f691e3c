"""Reductions: sum, mean, max/min over everything, and `Gather` (take_along_dim) for max/min over a dim.

`Tensor.max(dim)` finds the indices with plain torch and then gathers through `Gather`, so the gradient
reaches exactly the selected element, as in torch. `dims` arrive checked and non-negative (the Tensor methods
run them through `_checks.canonical_dims`); () reduces nothing (a 0-d tensor).
"""

from __future__ import annotations

import torch

from .function import Function


def _expand_back(grad_out: torch.Tensor, shape: torch.Size, dims: tuple[int, ...], keepdim: bool):
    """Broadcast a reduced gradient back to the input's `shape`."""
    if not keepdim:
        for d in sorted(dims):
            grad_out = grad_out.unsqueeze(d)
    return grad_out.expand(shape)


class Sum(Function):
    """y = Σ x over dims; dy/dx = 1"""

    label_attributes = ("dims", "keepdim")

    @staticmethod
    def forward(ctx, x, dims, keepdim=False):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return x.sum(dim=dims, keepdim=keepdim) if dims else x.clone()

    @staticmethod
    def backward(ctx, grad_out):
        return _expand_back(grad_out, ctx.shape, ctx.dims, ctx.keepdim)


class Mean(Function):
    """y = Σ x / n over dims; dy/dx = 1 / n"""

    label_attributes = ("dims", "keepdim")

    @staticmethod
    def forward(ctx, x, dims, keepdim=False):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.count = 1
        for d in dims:
            ctx.count *= x.shape[d]
        return x.mean(dim=dims, keepdim=keepdim) if dims else x.clone()

    @staticmethod
    def backward(ctx, grad_out):
        return _expand_back(grad_out / ctx.count, ctx.shape, ctx.dims, ctx.keepdim)


class Amax(Function):
    """y = max x over everything; the gradient is split evenly among tied maxima (torch's rule)"""

    @staticmethod
    def forward(ctx, x, largest=True):
        out = x.max() if largest else x.min()
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, out = ctx.saved_tensors
        selected = x == out
        return selected * (grad_out / selected.sum())


class Gather(Function):
    """y = x.gather(dim, index); dy/dx scatters (adds) the gradient back to the gathered positions"""

    label_attributes = ("dim",)

    @staticmethod
    def forward(ctx, x, index, dim):
        ctx.shape, ctx.dim = x.shape, dim
        ctx.save_for_backward(index)
        return torch.gather(x, dim, index)

    @staticmethod
    def backward(ctx, grad_out):
        (index,) = ctx.saved_tensors
        grad_x = grad_out.new_zeros(ctx.shape).scatter_add_(ctx.dim, index, grad_out)
        return grad_x, None
