"""Loss primitives: mean-squared and absolute error.

Losses take (input, target) of the same shape; `reduction` is "mean", "sum" or "none".
"""

from __future__ import annotations

import torch

from .function import Function


def _reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return values.mean()
    return values.sum() if reduction == "sum" else values


def _spread(grad_out: torch.Tensor, like: torch.Tensor, reduction: str) -> torch.Tensor:
    """The gradient of the reduction: dy / n for mean, dy for sum, elementwise for none."""
    return grad_out / like.numel() if reduction == "mean" else grad_out


class MSELoss(Function):
    """y = reduce((x - t)²); dx = 2 (x - t) dy', dt = -dx"""

    label_attributes = ("reduction",)

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

    label_attributes = ("reduction",)

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
