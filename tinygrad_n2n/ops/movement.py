"""Movement primitives: reshape, permute, expand, indexing, concatenation, padding, device/dtype moves, clone,
repeat, flip and roll.

They move values without arithmetic, so each backward moves the gradient back the same way.
"""

from __future__ import annotations

import torch
import torch.nn.functional as torch_F

from .. import _checks
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
        ctx.dims = dims  # checked and non-negative (`Tensor.permute`, `Tensor.transpose`)
        return x.permute(dims)

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
        try:
            out = x[index]
        except (IndexError, ValueError, TypeError) as error:  # torch's wording, with the op, shape and index
            raise type(error)(
                f"get_item: {error} (indexing a tensor of shape {tuple(x.shape)} with {_describe_index(index)})"
            ) from error
        ctx.save_for_backward(index)
        ctx.shape, ctx.dtype, ctx.device = x.shape, x.dtype, x.device
        return out

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


def _describe_index(index) -> str:
    """An index as written, with tensors shown by shape and dtype (their values may be large)."""
    if isinstance(index, tuple):
        return "[" + ", ".join(_describe_index(i) for i in index) + "]"
    if isinstance(index, torch.Tensor):
        return f"tensor of shape {tuple(index.shape)} {str(index.dtype).removeprefix('torch.')}"
    if isinstance(index, slice):
        return ":".join("" if v is None else str(v) for v in (index.start, index.stop, index.step))
    return "..." if index is Ellipsis else repr(index)


def _is_basic(index) -> bool:
    """True for indices that select each element at most once (ints, slices, None, Ellipsis)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, slice)) or p is None or p is Ellipsis for p in parts)


class Cat(Function):
    """y = cat(xs, dim); dy/dxᵢ is the slice of the gradient that xᵢ filled

    As in torch, 1-D empty inputs (shape (0,)) are skipped whatever the other inputs' shapes; the dim is checked
    against the first input that is not skipped.
    """

    label_attributes = ("dim",)

    @staticmethod
    def forward(ctx, *xs, dim=0):
        if not xs:
            raise ValueError("cat: expected a non-empty list of tensors, got none")
        if all(x.ndim for x in xs):  # else torch.cat raises its own error for 0-d inputs first, as torch does
            reference = next((x for x in xs if x.shape != (0,)), xs[0])
            dim = _checks.canonical_dim("cat", dim, reference.ndim)
        out = torch.cat(xs, dim)
        skipped = [x.ndim != out.ndim for x in xs]
        ctx.dim, ctx.sizes = dim, [0 if skip else x.shape[dim] for x, skip in zip(xs, skipped)]
        ctx.skipped = skipped if True in skipped else None
        return out

    @staticmethod
    def backward(ctx, grad_out):
        grads = grad_out.split(ctx.sizes, ctx.dim)
        if ctx.skipped is None:
            return tuple(grads)
        return tuple(grad.new_zeros(0) if skipped else grad for grad, skipped in zip(grads, ctx.skipped))


class Stack(Function):
    """y = stack(xs, dim); dy/dxᵢ = the gradient's i-th slice along dim"""

    label_attributes = ("dim",)

    @staticmethod
    def forward(ctx, *xs, dim=0):
        ctx.dim = _checks.canonical_dim("stack", dim, xs[0].ndim + 1) if xs else dim
        return torch.stack(xs, ctx.dim)

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


class Clone(Function):
    """y = a copy of x; dy/dx = 1"""

    @staticmethod
    def forward(ctx, x, memory_format=torch.preserve_format):
        return x.clone(memory_format=memory_format)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out


class Repeat(Function):
    """y = x tiled `repeats[i]` times along dim i (leading repeats add dims); dy/dx sums the tiles"""

    label_attributes = ("repeats",)

    @staticmethod
    def forward(ctx, x, repeats):
        ctx.repeats, ctx.in_shape = repeats, x.shape
        return x.repeat(repeats)

    @staticmethod
    def backward(ctx, grad_out):
        repeats = ctx.repeats
        padded = (1,) * (len(repeats) - len(ctx.in_shape)) + tuple(ctx.in_shape)
        tiles = [size for pair in zip(repeats, padded) for size in pair]  # (r0, s0, r1, s1, ...)
        summed = grad_out.reshape(tiles).sum(tuple(range(0, len(tiles), 2))) if tiles else grad_out
        return summed.reshape(ctx.in_shape)


class Flip(Function):
    """y = x reversed along dims; dy/dx reverses the gradient along the same dims"""

    label_attributes = ("dims",)

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return torch.flip(x, dims)

    @staticmethod
    def backward(ctx, grad_out):
        return torch.flip(grad_out, ctx.dims)


class Roll(Function):
    """y = x shifted cyclically by `shifts` along dims (dims None: over the flattened x); dy/dx rolls back"""

    label_attributes = ("shifts", "dims")

    @staticmethod
    def forward(ctx, x, shifts, dims=None):
        ctx.shifts, ctx.dims = shifts, dims
        return torch.roll(x, shifts, dims) if dims is not None else torch.roll(x, shifts)

    @staticmethod
    def backward(ctx, grad_out):
        back = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return torch.roll(grad_out, back, ctx.dims) if ctx.dims is not None else torch.roll(grad_out, back)
