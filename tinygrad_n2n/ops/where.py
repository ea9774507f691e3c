"""`Where`: pick elementwise from two inputs by a boolean condition (all three broadcast like PyTorch).

A selection, not arithmetic: `x·mask + y·(1 - mask)` would turn an inf or nan in the branch that is *not*
taken into nan (inf·0), in the values and in the gradient; `torch.where` never looks at that branch.
"""

from __future__ import annotations

import torch

from .function import Function


class Where(Function):
    """z = x where condition else y; dz/dx = [condition], dz/dy = [not condition] (the condition: no gradient)"""

    @staticmethod
    def forward(ctx, condition, x, y):
        ctx.save_for_backward(condition)
        return torch.where(condition, x, y)

    @staticmethod
    def backward(ctx, grad_out):
        (condition,) = ctx.saved_tensors
        _, need_x, need_y = ctx.needs_input_grad
        zero = grad_out.new_zeros(())
        grad_x = torch.where(condition, grad_out, zero) if need_x else None
        return None, grad_x, (torch.where(condition, zero, grad_out) if need_y else None)
