"""Matrix products: `MatMul` (1-D, 2-D and batched, broadcasting like torch.matmul) and fused `Linear`."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as torch_F

from .function import Function


class MatMul(Function):
    """z = x @ y; dz/dx = dz @ yᵀ, dz/dy = xᵀ @ dz (batch dims summed back by the tape)"""

    @classmethod
    def op_name(cls) -> str:
        return "matmul"

    @staticmethod
    def forward(ctx, x, y):
        if x.device != y.device:  # some device pairs (cpu and meta) do not raise inside torch.matmul
            raise RuntimeError("tensors on different devices")
        ctx.save_for_backward(x, y)
        return torch.matmul(x, y)

    @classmethod
    def _explain(cls, error: RuntimeError, raw: list) -> RuntimeError:
        x, y = raw
        if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor) and x.device == y.device and x.ndim and y.ndim:
            inner_x, inner_y = x.shape[-1], y.shape[-2] if y.ndim > 1 else y.shape[0]
            if inner_x != inner_y:
                return RuntimeError(
                    f"matmul: cannot multiply shapes {tuple(x.shape)} and {tuple(y.shape)}: expected "
                    f"x.shape[-1] == y.shape[-2] (or y.shape[0] for a 1-D y), got {inner_x} != {inner_y}"
                )
        return super()._explain(error, raw)

    @staticmethod
    def backward(ctx, grad_out):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        if x.ndim == 1 and y.ndim == 1:  # dot product: grad_out is a scalar
            return (grad_out * y if need_x else None), (grad_out * x if need_y else None)
        x2 = x.unsqueeze(0) if x.ndim == 1 else x  # (.., m, k)
        y2 = y.unsqueeze(-1) if y.ndim == 1 else y  # (.., k, n)
        if x.ndim == 1:
            grad_out = grad_out.unsqueeze(-2)
        if y.ndim == 1:
            grad_out = grad_out.unsqueeze(-1)
        grad_x = grad_y = None
        if need_x:
            grad_x = torch.matmul(grad_out, y2.transpose(-1, -2))  # (.., 1, k) for a 1-D x
            if x.ndim == 1:
                grad_x = grad_x.reshape(math.prod(grad_x.shape[:-2]), x.shape[0]).sum(0)
        if need_y:
            grad_y = torch.matmul(x2.transpose(-1, -2), grad_out)  # (.., k, 1) for a 1-D y
            if y.ndim == 1:
                grad_y = grad_y.reshape(math.prod(grad_y.shape[:-2]), y.shape[0]).sum(0)
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
        rows = math.prod(grad_out.shape[:-1])  # not -1: ambiguous when a dim is 0
        grad_rows = grad_out.reshape(rows, grad_out.shape[-1])
        grad_x = torch.matmul(grad_out, weight) if need_x else None
        grad_w = grad_rows.t() @ x.reshape(rows, x.shape[-1]) if need_w else None
        grad_b = grad_rows.sum(0) if need_b else None
        return grad_x, grad_w, grad_b
