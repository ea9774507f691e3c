"""Matrix products: `MatMul` (1-D, 2-D and batched, broadcasting like torch.matmul) and fused `Linear`."""

from __future__ import annotations

import torch
import torch.nn.functional as torch_F

from .function import Function


class MatMul(Function):
    """z = x @ y; dz/dx = dz @ yᵀ, dz/dy = xᵀ @ dz (batch dims summed back by the tape)"""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return torch.matmul(x, y)

    @staticmethod
    def backward(ctx, grad_out):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        x2 = x.unsqueeze(0) if x.ndim == 1 else x  # (.., m, k)
        y2 = y.unsqueeze(-1) if y.ndim == 1 else y  # (.., k, n)
        if x.ndim == 1:
            grad_out = grad_out.unsqueeze(-2)
        if y.ndim == 1:
            grad_out = grad_out.unsqueeze(-1)
        grad_x = grad_y = None
        if need_x:
            grad_x = torch.matmul(grad_out, y2.transpose(-1, -2))
            if x.ndim == 1:
                grad_x = grad_x.reshape(-1, x.shape[0]).sum(0)
        if need_y:
            grad_y = torch.matmul(x2.transpose(-1, -2), grad_out)
            if y.ndim == 1:
                grad_y = grad_y.reshape(-1, y.shape[0]).sum(0)
        return grad_x, grad_y


class Linear(Function):
    """y = x Wᵀ + b; dx = dy W, dW = dyᵀ x, db = Σ dy  (x: (.., in), W: (out, in), b: (out,))"""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return torch_F.linear(x, weight, bias)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        grad_rows = grad_out.reshape(-1, grad_out.shape[-1])
        grad_x = torch.matmul(grad_out, weight) if need_x else None
        grad_w = grad_rows.t() @ x.reshape(-1, x.shape[-1]) if need_w else None
        grad_b = grad_rows.sum(0) if need_b else None
        return grad_x, grad_w, grad_b
