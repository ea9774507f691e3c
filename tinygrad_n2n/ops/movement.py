"""Movement primitives: reshape, permute, expand, indexing, concatenation, padding, device/dtype moves.

They move values without arithmetic, so each backward moves the gradient back the same way.
"""

from __future__ import annotations

import torch
import torch.nn.functional as torch_F

from .function import Function


class Reshape(Function):
    """y = x viewed with a new shape; dy/dx reshapes back"""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.reshape(ctx.in_shape)


class Permute(Function):
    """y = x with dims reordered; dy/dx applies the inverse permutation"""

    label_attributes = ("dims",)

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = tuple(d % x.ndim for d in dims)
        return x.permute(ctx.dims)

    @staticmethod
    def backward(ctx, grad_out):
        inverse = [0] * len(ctx.dims)
        for position, d in enumerate(ctx.dims):
            inverse[d] = position
        return grad_out.permute(inverse)


class Expand(Function):
    """y = x broadcast to `shape`; dy/dx sums over the broadcast dims (done by the tape's unbroadcast)"""

    @staticmethod
    def forward(ctx, x, shape):
        return x.expand(shape)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out


class GetItem(Function):
    """y = x[index]; dy/dx adds the gradient back at the indexed positions (repeats accumulate)"""

    @staticmethod
    def forward(ctx, x, index):
        ctx.save_for_backward(index)
        ctx.shape, ctx.dtype, ctx.device = x.shape, x.dtype, x.device
        return x[index]

    @staticmethod
    def backward(ctx, grad_out):
        (index,) = ctx.saved_tensors
        grad_x = torch.zeros(ctx.shape, dtype=ctx.dtype, device=ctx.device)
        if _is_basic(index):
            grad_x[index] = grad_out
            return grad_x
        positions = torch.arange(grad_x.numel(), device=ctx.device).reshape(ctx.shape)[index]
        grad_x.view(-1).index_add_(0, positions.reshape(-1), grad_out.reshape(-1))
        return grad_x


def _is_basic(index) -> bool:
    """True for indices that select each element at most once (ints, slices, None, Ellipsis)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, slice)) or p is None or p is Ellipsis for p in parts)


class Cat(Function):
    """y = cat(xs, dim); dy/dxᵢ is the slice of the gradient that xᵢ filled"""

    label_attributes = ("dim",)

    @staticmethod
    def forward(ctx, *xs, dim=0):
        ctx.dim, ctx.sizes = dim, [x.shape[dim] for x in xs]
        return torch.cat(xs, dim)

    @staticmethod
    def backward(ctx, grad_out):
        return tuple(grad_out.split(ctx.sizes, ctx.dim))


class Stack(Function):
    """y = stack(xs, dim); dy/dxᵢ = the gradient's i-th slice along dim"""

    label_attributes = ("dim",)

    @staticmethod
    def forward(ctx, *xs, dim=0):
        ctx.dim = dim
        return torch.stack(xs, dim)

    @staticmethod
    def backward(ctx, grad_out):
        return tuple(grad_out.unbind(ctx.dim))


class Pad(Function):
    """y = x padded with a constant (negative pads crop); dy/dx crops the padding off again"""

    label_attributes = ("pad",)

    @staticmethod
    def forward(ctx, x, pad, value=0.0):
        ctx.pad = tuple(pad)
        return torch_F.pad(x, ctx.pad, value=value)

    @staticmethod
    def backward(ctx, grad_out):
        return torch_F.pad(grad_out, tuple(-p for p in ctx.pad))


class To(Function):
    """y = x on another device and/or dtype; dy/dx moves the gradient back"""

    label_attributes = ("dtype", "device")

    @staticmethod
    def forward(ctx, x, args=(), kwargs=None):
        out = x.to(*args, **(kwargs or {}))
        ctx.in_device, ctx.in_dtype, ctx.device, ctx.dtype = x.device, x.dtype, out.device, out.dtype
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.to(device=ctx.in_device, dtype=ctx.in_dtype)
