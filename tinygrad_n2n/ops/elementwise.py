"""Elementwise primitives: unary and binary ops (binary ones broadcast like PyTorch).

Gradients of broadcast inputs are returned at the output's shape; the tape sums them back to each
input's shape (`tape.unbroadcast`). Non-tensor operands (Python numbers) get no gradient.
"""

from __future__ import annotations

import torch

from .function import Function

# ---------------------------------------------------------------- binary


class Add(Function):
    """z = x + y; dz/dx = 1, dz/dy = 1"""

    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out, grad_out


class Sub(Function):
    """z = x - y; dz/dx = 1, dz/dy = -1"""

    @staticmethod
    def forward(ctx, x, y):
        return x - y

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out, (-grad_out if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """z = x * y; dz/dx = y, dz/dy = x"""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad_out):
        x, y = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        return (grad_out * y if need_x else None), (grad_out * x if need_y else None)


class Div(Function):
    """z = x / y; dz/dx = 1 / y, dz/dy = -x / y² = -z / y"""

    @staticmethod
    def forward(ctx, x, y):
        out = x / y
        ctx.save_for_backward(y, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        y, out = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        grad_x = grad_out / y if need_x else None
        return grad_x, (-grad_out * out / y if need_y else None)


class Pow(Function):
    """z = x ** y; dz/dx = y · x^(y-1), dz/dy = z · ln x (0 where x = 0 and y ≥ 0, as in torch)"""

    @staticmethod
    def forward(ctx, x, y):
        out = torch.pow(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, y, out = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        grad_x = None
        if need_x:  # the y = 0 case is 0 (not 0 · 0⁻¹ = nan at x = 0), as in torch
            grad_x = grad_out * y * torch.pow(x, y - 1)
            if isinstance(y, torch.Tensor):
                grad_x = torch.where(y == 0, 0.0, grad_x)
            elif y == 0:
                grad_x = torch.zeros_like(grad_x)
        if not need_y:
            return grad_x, None
        base = x if isinstance(x, torch.Tensor) else torch.as_tensor(x, dtype=out.dtype, device=out.device)
        return grad_x, grad_out * torch.where((base == 0) & (y >= 0), 0.0, out * torch.log(base))


class Maximum(Function):
    """z = max(x, y); the gradient goes to the larger input, split evenly on ties (as in torch)"""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return torch.maximum(x, y)

    @staticmethod
    def backward(ctx, grad_out):
        x, y = ctx.saved_tensors
        share_x = (x > y).to(grad_out.dtype) + 0.5 * (x == y).to(grad_out.dtype)
        return grad_out * share_x, grad_out * (1 - share_x)


# ---------------------------------------------------------------- unary


class Neg(Function):
    """y = -x; dy/dx = -1"""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad_out):
        return -grad_out


class Exp(Function):
    """y = eˣ; dy/dx = y"""

    @staticmethod
    def forward(ctx, x):
        out = torch.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * ctx.saved_tensors[0]


class Log(Function):
    """y = ln x; dy/dx = 1 / x"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.log(x)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out / ctx.saved_tensors[0]


class Sqrt(Function):
    """y = √x; dy/dx = 1 / (2y)"""

    @staticmethod
    def forward(ctx, x):
        out = torch.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out / (2 * ctx.saved_tensors[0])


class Abs(Function):
    """y = |x|; dy/dx = sign(x) (0 at 0, as in torch)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.abs(x)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * torch.sign(ctx.saved_tensors[0])


class Tanh(Function):
    """y = tanh x; dy/dx = 1 - y²"""

    @staticmethod
    def forward(ctx, x):
        out = torch.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        out = ctx.saved_tensors[0]
        return torch.ops.aten.tanh_backward(grad_out, out)  # grad·(1 - out²) in one fused pass


class Sigmoid(Function):
    """y = 1 / (1 + e⁻ˣ); dy/dx = y (1 - y)"""

    @staticmethod
    def forward(ctx, x):
        out = torch.sigmoid(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        out = ctx.saved_tensors[0]
        return torch.ops.aten.sigmoid_backward(grad_out, out)  # grad·out·(1 - out) in one fused pass


class ReLU(Function):
    """y = max(x, 0); dy/dx = [x > 0]"""

    @staticmethod
    def forward(ctx, x):
        out = torch.relu(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return torch.ops.aten.threshold_backward(grad_out, ctx.saved_tensors[0], 0)  # grad where out > 0, else 0


class LeakyReLU(Function):
    """y = x if x > 0 else slope · x; dy/dx = 1 if x > 0 else slope"""

    label_attributes = ("negative_slope",)

    @staticmethod
    def forward(ctx, x, negative_slope):
        ctx.negative_slope = negative_slope
        ctx.save_for_backward(x)
        return torch.nn.functional.leaky_relu(x, negative_slope)

    @staticmethod
    def backward(ctx, grad_out):
        x = ctx.saved_tensors[0]
        return torch.ops.aten.leaky_relu_backward(grad_out, x, ctx.negative_slope, False)  # one fused pass


class Clamp(Function):
    """y = min(max(x, lo), hi); dy/dx = [lo ≤ x ≤ hi]"""

    label_attributes = ("min", "max")

    @staticmethod
    def forward(ctx, x, min=None, max=None):
        ctx.min, ctx.max = min, max
        ctx.save_for_backward(x)
        return torch.clamp(x, min, max)

    @staticmethod
    def backward(ctx, grad_out):
        x = ctx.saved_tensors[0]
        inside = torch.ones_like(x, dtype=torch.bool)
        if ctx.min is not None:
            inside &= x >= ctx.min
        if ctx.max is not None:
            inside &= x <= ctx.max
        return grad_out * inside
