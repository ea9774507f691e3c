"""Loss primitives: squared and absolute error, binary cross-entropy (on probabilities and on logits), and
softmax cross-entropy against a distribution over classes.

The elementwise losses take (input, target) of one shape (MSE and L1 broadcast them) and reduce as `reduction`
says: "mean", "sum" or "none". Class weights and pos_weight are constants, as in torch (no gradient).
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


_BCE_EPSILON = 9.999999960041972e-13  # torch's clamp of x (1 - x) in the gradient: the float32 constant 1e-12f


class BinaryCrossEntropy(Function):
    """y = reduce(-w (t log x + (1 - t) log(1 - x))), each log clamped ≥ -100; dx = dy' w (x - t) / max(x (1 - x),
    1e-12), dt = dy' w log((1 - x) / x) (torch's formulas)"""

    label_attributes = ("reduction",)

    @staticmethod
    def forward(ctx, x, target, weight, reduction):
        ctx.reduction = reduction
        ctx.save_for_backward(x, target, weight)
        return torch.nn.functional.binary_cross_entropy(x, target, weight, reduction=reduction)

    @staticmethod
    def backward(ctx, grad_out):
        x, target, weight = ctx.saved_tensors
        scale = _spread(grad_out, x, ctx.reduction)
        if weight is not None:
            scale = scale * weight
        need_x, need_target = ctx.needs_input_grad[:2]
        grad_x = scale * (x - target) / (x * (1 - x)).clamp_min(_BCE_EPSILON) if need_x else None
        return grad_x, (-scale * torch.logit(x) if need_target else None), None


class BinaryCrossEntropyWithLogits(Function):
    """y = reduce(w ((1 - t) x - (1 + (p - 1) t) log σ(x))) (p: pos_weight); dx = dy' w ((1 + (p - 1) t) σ(x) - p t),
    dt = dy' w (log σ(-x) - p log σ(x))"""

    label_attributes = ("reduction",)

    @staticmethod
    def forward(ctx, x, target, weight, pos_weight, reduction):
        ctx.reduction = reduction
        ctx.save_for_backward(x, target, weight, pos_weight)
        return torch.nn.functional.binary_cross_entropy_with_logits(
            x, target, weight, reduction=reduction, pos_weight=pos_weight
        )

    @staticmethod
    def backward(ctx, grad_out):
        x, target, weight, pos_weight = ctx.saved_tensors
        scale = _spread(grad_out, x, ctx.reduction)
        if weight is not None:
            scale = scale * weight
        need_x, need_target = ctx.needs_input_grad[:2]
        grad_x = grad_target = None
        if pos_weight is None:
            grad_x = scale * (torch.sigmoid(x) - target) if need_x else None
            grad_target = -scale * x if need_target else None
        else:
            weighted_target = pos_weight * target
            grad_x = scale * ((weighted_target + 1 - target) * torch.sigmoid(x) - weighted_target) if need_x else None
            if need_target:
                log_sigmoid = torch.nn.functional.logsigmoid
                grad_target = scale * (log_sigmoid(-x) - pos_weight * log_sigmoid(x))
        return grad_x, grad_target, None, None


class SoftmaxCrossEntropy(Function):
    """y = -Σ_c t log softmax(x) along dim (t: a weighted distribution over the classes); dx = dy (softmax(x) Σ_c t
    - t), dt = -dy log softmax(x)"""

    label_attributes = ("dim",)

    @staticmethod
    def forward(ctx, x, target, dim):
        log_probs = torch.log_softmax(x, dim)
        ctx.dim = dim
        ctx.save_for_backward(log_probs, target)
        return -(log_probs * target).sum(dim)

    @staticmethod
    def backward(ctx, grad_out):
        log_probs, target = ctx.saved_tensors
        grad_out = grad_out.unsqueeze(ctx.dim)
        need_x, need_target = ctx.needs_input_grad
        grad_x = None
        if need_x:
            grad_x = grad_out * (torch.exp(log_probs) * target.sum(ctx.dim, keepdim=True) - target)
        return grad_x, (-grad_out * log_probs if need_target else None)
