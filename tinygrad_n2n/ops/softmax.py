"""Softmax and log-softmax along one dim (x: any shape), both saving their output for backward; logsumexp over dims."""

from __future__ import annotations

import torch

from .function import Function


class Softmax(Function):
    """y = eˣ / Σ eˣ along dim; dx = y (dy - Σ dy·y)"""

    label_attributes = ("dim",)

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

    label_attributes = ("dim",)

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


class Logsumexp(Function):
    """y = log Σ eˣ over dims (computed stably); dx = dy · e^(x - y)"""

    label_attributes = ("dims", "keepdim")

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        out = torch.logsumexp(x, dims, keepdim)
        ctx.dims, ctx.keepdim = dims, keepdim
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, out = ctx.saved_tensors
        if not ctx.keepdim:
            for dim in sorted(ctx.dims):
                grad_out, out = grad_out.unsqueeze(dim), out.unsqueeze(dim)
        return grad_out * torch.exp(x - out)
