"""Activation primitives that no short composition of engine ops computes well (x: any shape, y: the same shape).

softplus and logsigmoid need log1p(eˣ) without overflow, gelu needs erf, and the ELU family needs expm1 for
small negative x: the engine has none of these as ops, and a composition (log(1 + exp(x)), exp(x) - 1) would
overflow or lose the low digits. Each backward is torch's fused kernel or a one-line formula, so gradients
match torch's to the last bits. Cheaper activations (relu6, silu, hardswish, mish, ...) are compositions in
`tinygrad_n2n.activations`.
"""

from __future__ import annotations

import torch

from .function import Function


class Softplus(Function):
    """y = log(1 + e^(βx)) / β, or x where βx > threshold; dy/dx = σ(βx), or 1 where βx > threshold"""

    label_attributes = ("beta", "threshold")

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x)
        return torch.nn.functional.softplus(x, beta, threshold)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return torch.ops.aten.softplus_backward(grad_out, x, ctx.beta, ctx.threshold)  # one fused pass


class LogSigmoid(Function):
    """y = log σ(x) = -softplus(-x); dy/dx = σ(-x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.nn.functional.logsigmoid(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * torch.sigmoid(-x)


class GELU(Function):
    """y = x Φ(x) ('none') or x/2 (1 + tanh(√(2/π) (x + 0.044715 x³))) ('tanh'); dy/dx = Φ(x) + x φ(x) ('none')"""

    label_attributes = ("approximate",)

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.approximate = approximate
        ctx.save_for_backward(x)
        return torch.nn.functional.gelu(x, approximate=approximate)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return torch.ops.aten.gelu_backward(grad_out, x, approximate=ctx.approximate)  # one fused pass


class ELU(Function):
    """y = s·x if x > 0 else s·α (e^(i·x) - 1) (s: scale, i: input_scale); dy/dx = s if x > 0 else s·α·i·e^(i·x)

    elu is (α, 1, 1), selu (1.6733, 1.0507, 1), celu (α, 1, 1/α), as in torch.
    """

    label_attributes = ("alpha", "scale", "input_scale")

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale):
        ctx.alpha, ctx.scale, ctx.input_scale = alpha, scale, input_scale
        ctx.save_for_backward(x)
        return torch.ops.aten.elu(x, alpha, scale, input_scale)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return torch.ops.aten.elu_backward(grad_out, ctx.alpha, ctx.scale, ctx.input_scale, False, x)  # one pass
