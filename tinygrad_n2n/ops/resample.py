"""`Resample`: every output position along an axis is a weighted sum of a few input positions (its taps).

One primitive serves nearest and (bi/tri)linear interpolation (one or two taps per output position) and the
reflect / replicate / circular paddings (one tap, an index map). Along each resampled axis in turn,

    y[.., o, ..] = Σ_t w_t[o] · x[.., i_t[o], ..]        (w_t = 1 when a tap has no weights)

and the gradient goes back along the same taps, axes in reverse:

    dx[.., i, ..] = Σ_t Σ_{o : i_t[o] = i} w_t[o] · dy[.., o, ..]      (index_add)

A composition (index_select, mul, add per tap) would keep every gathered intermediate for its backward; this
keeps only the index and weight vectors, which are computed by the caller from sizes alone.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .function import Function


class Tap(NamedTuple):
    """One tap of an axis: `index` (out,) int64 into the input axis, `weight` (out,) in x's dtype or None (1)."""

    index: torch.Tensor
    weight: torch.Tensor | None = None


class Axis(NamedTuple):
    """The taps that resample dim `dim`."""

    dim: int
    taps: tuple[Tap, ...]


def _along(vector: torch.Tensor, dim: int, ndim: int) -> torch.Tensor:
    """A per-position vector (n,) viewed to broadcast along `dim` of an ndim-D tensor."""
    shape = [1] * ndim
    shape[dim] = vector.shape[0]
    return vector.view(shape)


class Resample(Function):
    """y = Σ_t w_t · x[.., i_t, ..] along each axis in turn; dx = Σ_t index_add(w_t · dy at i_t), axes reversed"""

    label_attributes = ("dims", "out_sizes")

    @staticmethod
    def forward(ctx, x, axes):
        ctx.dims = tuple(axis.dim for axis in axes)
        ctx.taps_per_axis = tuple(len(axis.taps) for axis in axes)
        ctx.in_shapes = []
        for dim, taps in axes:
            ctx.in_shapes.append(x.shape)
            out = None
            for index, weight in taps:
                part = x.index_select(dim, index)
                if weight is not None:
                    part = part * _along(weight, dim, x.ndim)
                out = part if out is None else out + part
            x = out
        ctx.out_sizes = tuple(x.shape[d] for d in ctx.dims)
        ctx.save_for_backward(*[t for axis in axes for tap in axis.taps for t in tap])
        return x

    @staticmethod
    def backward(ctx, grad_out):
        saved = list(ctx.saved_tensors)  # index, weight of every tap, axis by axis
        grad = grad_out
        for dim, count, in_shape in reversed(list(zip(ctx.dims, ctx.taps_per_axis, ctx.in_shapes))):
            taps = saved[len(saved) - 2 * count :]
            del saved[len(saved) - 2 * count :]
            grad_in = grad.new_zeros(in_shape)
            for index, weight in zip(taps[::2], taps[1::2]):
                grad_in.index_add_(dim, index, grad if weight is None else grad * _along(weight, dim, grad.ndim))
            grad = grad_in
        return grad
