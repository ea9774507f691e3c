"""Unary math primitives that no short composition of engine ops computes well (x: any shape, y: the same shape).

log1p keeps the low digits that log(1 + x) loses for small x; sin, cos and erf have no engine composition at all.
sign, floor and round are flat between their jumps: torch gives them a zero gradient everywhere (at the jumps
too), so does `PiecewiseConstant`, while their output still takes part in the graph as torch's does.
"""

from __future__ import annotations

import math

import torch

from .function import Function

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Log1p(Function):
    """y = ln(1 + x); dy/dx = 1 / (1 + x)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.log1p(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out / (1 + x)


class Sin(Function):
    """y = sin x; dy/dx = cos x"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sin(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * torch.cos(x)


class Cos(Function):
    """y = cos x; dy/dx = -sin x"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.cos(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * -torch.sin(x)


class Erf(Function):
    """y = erf x = 2/√π ∫₀ˣ e^(-t²) dt; dy/dx = 2/√π · e^(-x²)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.erf(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * (_TWO_OVER_SQRT_PI * torch.exp(-x * x))


class PiecewiseConstant(Function):
    """Base of the step functions below: dy/dx = 0 everywhere, as torch defines it (at the jumps too)."""

    @staticmethod
    def backward(ctx, grad_out):
        return torch.zeros_like(grad_out)


class Sign(PiecewiseConstant):
    """y = sign x (-1, 0 or 1); dy/dx = 0"""

    @staticmethod
    def forward(ctx, x):
        return torch.sign(x)


class Floor(PiecewiseConstant):
    """y = ⌊x⌋; dy/dx = 0"""

    @staticmethod
    def forward(ctx, x):
        return torch.floor(x)


class Round(PiecewiseConstant):
    """y = x rounded to `decimals` decimal places (halves to even); dy/dx = 0"""

    label_attributes = ("decimals",)

    @staticmethod
    def forward(ctx, x, decimals=0):
        ctx.decimals = decimals
        return torch.round(x, decimals=decimals)
