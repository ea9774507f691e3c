"""Norm primitives: the p-norm of a vector, and layer, group and batch normalisation (with their affine w, b).

The normalisations run torch's fused forward kernels, which also return the mean and 1/√(σ² + ε) that the
backward needs; their backwards share one formula (`_normalized_grad`): for x̂ = (x - μ)·rstd over some dims
and g = dL/dx̂, dL/dx = rstd (g - mean(g) - x̂ mean(g x̂)) over the same dims. A composition of engine ops would
make several passes and keep every intermediate for backward.
"""

from __future__ import annotations

import math

import torch

from .function import Function


def _normalized_grad(g: torch.Tensor, x_hat: torch.Tensor, rstd: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    """dL/dx for x̂ = (x - mean(x))·rstd over `dims`, given g = dL/dx̂ (rstd broadcastable to x̂)."""
    g_mean = g.mean(dims, keepdim=True)
    projection = (g * x_hat).mean(dims, keepdim=True)
    return rstd * (g - g_mean - x_hat * projection)


def _sum_over(t: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    """t summed over `dims`; no dims sums nothing (torch's `sum(())` would sum everything)."""
    return t.sum(dims) if dims else t


def _affine_grads(ctx, grad_out, x_hat, dims):
    """(dL/dw, dL/db) of y = x̂ w + b, each summed over the dims that w and b are broadcast along."""
    _, need_w, need_b = ctx.needs_input_grad[:3]
    grad_w = _sum_over(grad_out * x_hat, dims) if need_w else None
    return grad_w, (_sum_over(grad_out, dims) if need_b else None)


class VectorNorm(Function):
    """y = (Σ |x|ᵖ)^(1/p) over dims; dx = dy sign(x) |x|^(p-1) / y^(p-1) (p = 2: x / y; p = ±∞: split among the
    extreme |x|; 0 where y = 0), as torch's norm_backward"""

    label_attributes = ("ord", "dims", "keepdim")

    @staticmethod
    def forward(ctx, x, ord, dims, keepdim):
        out = torch.linalg.vector_norm(x, ord, dims, keepdim)
        ctx.ord, ctx.dims, ctx.keepdim = ord, dims, keepdim
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, norm = ctx.saved_tensors
        p = float(ctx.ord)
        if not ctx.keepdim and x.ndim:
            for dim in sorted(ctx.dims):
                grad_out, norm = grad_out.unsqueeze(dim), norm.unsqueeze(dim)
        if p == 0.0:
            return torch.zeros_like(x)
        if p == 1.0:
            return torch.sgn(x) * grad_out
        if p == 2.0:
            return grad_out * (x / norm).masked_fill_(norm == 0, 0)
        if math.isinf(p):  # the gradient goes to the extreme |x| (or NaN), split evenly among ties
            magnitude = x.abs()
            extreme = (magnitude == norm) | magnitude.isnan()
            return torch.sgn(x) * (grad_out / extreme.sum(ctx.dims, keepdim=True)) * extreme
        if p < 1.0:
            scaled = torch.sgn(x) * x.abs().pow(p - 1).masked_fill_(x == 0, 0)
            return scaled * grad_out * norm.pow(1 - p)
        scaled = torch.sgn(x) * x.abs().pow(p - 1)
        return scaled * (grad_out / norm.pow(p - 1)).masked_fill_(norm == 0, 0)


class LayerNorm(Function):
    """y = x̂ w + b, x̂ = (x - μ) / √(σ² + ε) over the last len(normalized_shape) dims; dx = _normalized_grad(dy w)"""

    label_attributes = ("normalized_shape", "eps")

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_shape, eps):
        out, mean, rstd = torch.native_layer_norm(x, normalized_shape, weight, bias, eps)
        ctx.normalized_shape, ctx.eps = normalized_shape, eps
        ctx.save_for_backward(x, weight, mean, rstd)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, mean, rstd = ctx.saved_tensors
        batch_ndim = x.ndim - len(ctx.normalized_shape)
        x_hat = (x - mean) * rstd
        grad_x = None
        if ctx.needs_input_grad[0]:
            g = grad_out if weight is None else grad_out * weight
            grad_x = _normalized_grad(g, x_hat, rstd, tuple(range(batch_ndim, x.ndim)))
        return grad_x, *_affine_grads(ctx, grad_out, x_hat, tuple(range(batch_ndim)))


class GroupNorm(Function):
    """y = x̂ w + b, x̂ = (x - μ) / √(σ² + ε) over each group of channels (and all positions) of each sample;
    dx = _normalized_grad(dy w) per group. x: (N, C, ...); w, b: (C,)"""

    label_attributes = ("num_groups", "eps")

    @staticmethod
    def forward(ctx, x, weight, bias, num_groups, eps):
        n, c = x.shape[:2]
        x = x.contiguous()  # the kernel's requirement (torch.group_norm makes the same copy)
        out, mean, rstd = torch.native_group_norm(x, weight, bias, n, c, math.prod(x.shape[2:]), num_groups, eps)
        ctx.num_groups, ctx.eps = num_groups, eps
        ctx.save_for_backward(x, weight, mean, rstd)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, mean, rstd = ctx.saved_tensors
        n, c, groups = x.shape[0], x.shape[1], ctx.num_groups
        grouped = (n, groups, x.numel() // max(n * groups, 1))  # explicit sizes: -1 is ambiguous when n = 0
        mean, rstd = mean.reshape(n, groups, 1), rstd.reshape(n, groups, 1)
        x_hat = (x.reshape(grouped) - mean) * rstd
        channel_shape = (c,) + (1,) * (x.ndim - 2)
        grad_x = None
        if ctx.needs_input_grad[0]:
            g = grad_out if weight is None else grad_out * weight.reshape(channel_shape)
            grad_x = _normalized_grad(g.reshape(grouped), x_hat, rstd, (2,)).reshape(x.shape)
        return grad_x, *_affine_grads(ctx, grad_out, x_hat.reshape(x.shape), (0, *range(2, x.ndim)))


class BatchNorm(Function):
    """y = x̂ w + b, x̂ = (x - μ) / √(σ² + ε) per channel, with the batch's μ, σ² (training; the running stats are
    updated in place) or the running ones (eval); dx = _normalized_grad(dy w) (training), dy w rstd (eval)"""

    label_attributes = ("training", "momentum", "eps")

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        out, mean, rstd = torch.native_batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps)
        if not training:  # torch returns no statistics in eval mode: the running ones are used
            mean, rstd = running_mean, torch.rsqrt(running_var + eps)
        ctx.training, ctx.momentum, ctx.eps = training, momentum, eps
        ctx.save_for_backward(x, weight, mean, rstd)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, mean, rstd = ctx.saved_tensors
        channel_shape = (-1,) + (1,) * (x.ndim - 2)
        rstd = rstd.reshape(channel_shape)
        x_hat = (x - mean.reshape(channel_shape)) * rstd
        channel_dims = (0, *range(2, x.ndim))
        grad_x = None
        if ctx.needs_input_grad[0]:
            g = grad_out if weight is None else grad_out * weight.reshape(channel_shape)
            grad_x = _normalized_grad(g, x_hat, rstd, channel_dims) if ctx.training else g * rstd
        return grad_x, *_affine_grads(ctx, grad_out, x_hat, channel_dims), None, None
