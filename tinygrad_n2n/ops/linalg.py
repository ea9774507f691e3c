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


class Einsum(Function):
    """y = einsum(equation, x₁, .., xₙ); dy/dxᵢ = einsum of dy with the other operands back to xᵢ's subscripts

    Letters that only xᵢ carries are broadcast back (they were summed), a letter repeated in xᵢ puts the
    gradient on that diagonal, and size-1 letters that broadcast are summed back by the tape.
    """

    label_attributes = ("equation",)

    @staticmethod
    def forward(ctx, *operands, equation):
        out = torch.einsum(equation, *operands)
        ctx.equation = equation
        ctx.subscripts, ctx.out_subscripts = explicit_subscripts(equation, [x.ndim for x in operands])
        ctx.save_for_backward(*operands)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        operands, subscripts = ctx.saved_tensors, ctx.subscripts
        grads = []
        for i, (x, letters) in enumerate(zip(operands, subscripts)):
            if not ctx.needs_input_grad[i]:
                grads.append(None)
                continue
            others = [j for j in range(len(operands)) if j != i]
            reachable = set(ctx.out_subscripts).union(*(subscripts[j] for j in others))
            kept = "".join(dict.fromkeys(letter for letter in letters if letter in reachable))
            equation = ",".join([ctx.out_subscripts, *(subscripts[j] for j in others)]) + "->" + kept
            grads.append(
                _to_subscripts(torch.einsum(equation, grad_out, *(operands[j] for j in others)), kept, x, letters)
            )
        return tuple(grads)


def _to_subscripts(grad: torch.Tensor, kept: str, x: torch.Tensor, letters: str) -> torch.Tensor:
    """`grad` (one dim per letter of `kept`) laid out as x's `letters`: letters it lacks broadcast at x's sizes, a
    repeated letter's values written on the diagonal of a zero tensor."""
    distinct = "".join(dict.fromkeys(letters))
    sizes = dict(zip(letters, x.shape))
    for position, letter in enumerate(distinct):
        if letter not in kept:
            grad = grad.unsqueeze(position)
    grad = grad.expand([sizes[letter] if letter not in kept else -1 for letter in distinct])
    if distinct == letters:
        return grad
    sizes.update(zip(distinct, grad.shape))
    full = grad.new_zeros([sizes[letter] for letter in letters])
    strides = [sum(full.stride(k) for k, other in enumerate(letters) if other == letter) for letter in distinct]
    full.as_strided(grad.shape, strides).copy_(grad)
    return full


def explicit_subscripts(equation: str, ndims: list[int]) -> tuple[list[str], str]:
    """The letters of each operand and of the output, with `...` spelled out as letters the equation does not
    use and the implicit output (no `->`) made explicit as torch reads it: the ellipsis dims, then the letters
    used once, sorted."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in equation]
    ellipsis_dims = max(
        (ndim - len(term.replace("...", "")) for term, ndim in zip(terms, ndims) if "..." in term), default=0
    )
    broadcast = "".join(spare[:ellipsis_dims])
    subscripts = []
    for term, ndim in zip(terms, ndims):
        own = ndim - len(term.replace("...", ""))
        subscripts.append(term.replace("...", broadcast[ellipsis_dims - own :] if own else ""))
    if arrow:
        return subscripts, output.replace("...", broadcast)
    letters = "".join(terms).replace("...", "")
    return subscripts, broadcast + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
