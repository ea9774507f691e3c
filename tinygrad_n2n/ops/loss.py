"""Normalisations and losses: softmax, log-softmax, mean-squared and absolute error.

Losses take (input, target) of the same shape; `reduction` is "mean", "sum" or "none".
"""

from __future__ import annotations

import torch

from .function import Function


class Softmax(Function):
    """y = eˣ / Σ eˣ along dim; dx = y (dy - Σ dy·y)"""

    @staticmethod
    def forward(ctx, x, dim):
        out = torch.softmax(x, dim)
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return out * (grad_out - (grad_out * out).sum(ctx.dim, keepdim=True))


class LogSoftmax(Function):
    """y = x - log Σ eˣ along dim; dx = dy - eʸ Σ dy"""

    @staticmethod
    def forward(ctx, x, dim):
        out = torch.log_softmax(x, dim)
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return grad_out - torch.exp(out) * grad_out.sum(ctx.dim, keepdim=True)


def _reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return values.mean()
    return values.sum() if reduction == "sum" else values


def _spread(grad_out: torch.Tensor, like: torch.Tensor, reduction: str) -> torch.Tensor:
    """The gradient of the reduction: dy / n for mean, dy for sum, elementwise for none."""
    return grad_out / like.numel() if reduction == "mean" else grad_out


class MSELoss(Function):
    """y = reduce((x - t)²); dx = 2 (x - t) dy', dt = -dx"""

    @staticmethod
    def forward(ctx, x, target, reduction):
        diff = x - target
        ctx.reduction = reduction
        ctx.save_for_backward(diff)
        return _reduce(diff * diff, reduction)

    @staticmethod
    def backward(ctx, grad_out):
        (diff,) = ctx.saved_tensors
        grad_x = 2 * diff * _spread(grad_out, diff, ctx.reduction)
        return grad_x, (-grad_x if ctx.needs_input_grad[1] else None)


class L1Loss(Function):
    """y = reduce(|x - t|); dx = sign(x - t) dy', dt = -dx"""

    @staticmethod
    def forward(ctx, x, target, reduction):
        diff = x - target
        ctx.reduction = reduction
        ctx.save_for_backward(diff)
        return _reduce(diff.abs(), reduction)

    @staticmethod
    def backward(ctx, grad_out):
        (diff,) = ctx.saved_tensors
        grad_x = torch.sign(diff) * _spread(grad_out, diff, ctx.reduction)
        return grad_x, (-grad_x if ctx.needs_input_grad[1] else None)
