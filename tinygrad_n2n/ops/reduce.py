"""Reductions: sum, mean, prod, max/min (amax), var/std, cumsum, and `Gather` (take_along_dim); the vector norm is
`ops.norm.VectorNorm`.

`Tensor.max(dim)`, `sort` and `topk` find the indices with plain torch and then gather through `Gather`, so the
gradient reaches exactly the selected elements, as in torch. `dims` arrive checked and non-negative (the Tensor
methods run them through `_checks.canonical_dims`); () reduces nothing (a 0-d tensor), except where a docstring
says otherwise.
"""

from __future__ import annotations

import math

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
    """y = max (largest) or min of x over dims (() for all); the gradient is split evenly among tied extremes"""

    label_attributes = ("dims", "keepdim", "largest")

    @staticmethod
    def forward(ctx, x, dims=(), keepdim=False, largest=True):
        out = x.amax(dims, keepdim) if largest else x.amin(dims, keepdim)
        ctx.dims, ctx.keepdim, ctx.largest = dims, keepdim, largest
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, out = ctx.saved_tensors
        if not ctx.keepdim:
            for d in sorted(ctx.dims):
                grad_out, out = grad_out.unsqueeze(d), out.unsqueeze(d)
        selected = x == out
        return selected * (grad_out / selected.sum(ctx.dims, keepdim=True))


class Prod(Function):
    """y = Π x along dim (None: over everything); dy/dxᵢ = Π_{j≠i} xⱼ, exact with zeros (no division by x)"""

    label_attributes = ("dim", "keepdim")

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.dim, ctx.keepdim = dim, keepdim
        ctx.save_for_backward(x)
        return x.prod() if dim is None else x.prod(dim, keepdim)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        if x.ndim == 0:
            return grad_out.clone()
        if ctx.dim is None:
            return grad_out * _products_of_the_others(x.reshape(-1), 0).reshape(x.shape)
        if not ctx.keepdim:
            grad_out = grad_out.unsqueeze(ctx.dim)
        return grad_out * _products_of_the_others(x, ctx.dim)


def _products_of_the_others(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Π_{j≠i} xⱼ along `dim` for every i: the product of everything before i times everything after it (two
    exclusive cumulative products), so one zero leaves the others' product at its place and two leave 0."""
    size = x.shape[dim]
    if size == 0:
        return x.clone()
    ones = torch.ones_like(x.narrow(dim, 0, 1))
    before = torch.cat([ones, x.narrow(dim, 0, size - 1)], dim).cumprod(dim)
    after = torch.cat([x.narrow(dim, 1, size - 1), ones], dim).flip(dim).cumprod(dim).flip(dim)
    return before * after


class Cumsum(Function):
    """yᵢ = Σ_{j≤i} xⱼ along dim; dxⱼ = Σ_{i≥j} dyᵢ (a cumulative sum from the other end)"""

    label_attributes = ("dim",)

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return torch.cumsum(x, dim)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.flip(ctx.dim).cumsum(ctx.dim).flip(ctx.dim)


class Var(Function):
    """y = Σ (x - x̄)² / (n - correction) over dims (None: everything); dy/dx = 2 (x - x̄) / (n - correction)"""

    label_attributes = ("dims", "correction", "keepdim")

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        ctx.dims, ctx.correction, ctx.keepdim = dims, correction, keepdim
        ctx.save_for_backward(x)
        return torch.var(x, dims, correction=correction, keepdim=keepdim)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return _var_backward(ctx, x, grad_out)


class Std(Function):
    """y = √var(x) over dims; dy/dx = (x - x̄) / ((n - correction) · y), and 0 where y = 0 (as in torch)"""

    label_attributes = ("dims", "correction", "keepdim")

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        out = torch.std(x, dims, correction=correction, keepdim=keepdim)
        ctx.dims, ctx.correction, ctx.keepdim = dims, correction, keepdim
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, out = ctx.saved_tensors
        return _var_backward(ctx, x, (grad_out / (2 * out)).masked_fill(out == 0, 0))


def _var_backward(ctx, x: torch.Tensor, grad_var: torch.Tensor) -> torch.Tensor:
    """d var / dx times `grad_var`, with torch's values where n - correction ≤ 0: over everything, nan where
    x = x̄ and ±inf (the sign of the gradient) elsewhere; over dims, 2 / (n - correction) as it comes."""
    if ctx.dims is None or x.ndim == 0:
        dof = x.numel() - ctx.correction
        if dof <= 0:
            return grad_var * torch.where(x == x.mean(), torch.nan, torch.inf)
        return (2.0 / dof) * grad_var * (x - x.mean())
    count = 1
    for d in ctx.dims:
        count *= x.shape[d]
    dof = count - ctx.correction
    if not ctx.keepdim:
        for d in sorted(ctx.dims):
            grad_var = grad_var.unsqueeze(d)
    scale = 2.0 / dof if dof else math.inf
    return scale * grad_var * (x - x.mean(ctx.dims, keepdim=True))


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
