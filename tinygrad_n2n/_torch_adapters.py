"""Adapters: torch's signatures (argument names, defaults, int-or-pair conventions) onto the engine's ops.

Each adapter takes exactly the arguments its torch function takes (`torch.sum(input, dim, keepdim, *, dtype,
out)`), so a call reaching `_torch_routing.dispatch` runs unchanged; it returns an engine Tensor, recorded on the
tape like any engine op. For arguments its engine op does not cover it raises `Unsupported` before running any
op; the routing then runs torch's own function when no gradient is involved, or raises a TypeError with the
reason. The table that maps torch functions to these adapters is `_torch_routing.ROUTES`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch

from . import functional as F
from . import tensor_functions
from ._checks import as_tensor
from ._tensor import Tensor
from .nn import functional as nn_functional
from .ops import elementwise as ew
from .ops import movement
from .ops.where import Where


class Unsupported(Exception):
    """An adapter's engine op does not cover these arguments; the message says which and what it does cover."""


# ---------------------------------------------------------------- helpers


def _no_out(out: Any) -> None:
    if out is not None:
        raise Unsupported("out= writes the result into an existing tensor in place")


def _cast(x: Any, dtype: torch.dtype | None) -> Tensor:
    x = as_tensor(x)
    return x if dtype is None else x.to(dtype)


def _tensor_argument(value: Any, what: str) -> Tensor:
    if not isinstance(value, (Tensor, torch.Tensor)):
        raise Unsupported(f"{what} must be a tensor")  # torch's own TypeError follows
    return as_tensor(value)


def _lhs(value: Any) -> Any:
    """The left operand of an engine operator: a raw torch tensor becomes a constant engine tensor (`raw + x`
    must not reach torch's operator again); engine tensors and numbers stay as they are."""
    return Tensor(value) if isinstance(value, torch.Tensor) else value


# ---------------------------------------------------------------- arithmetic and selection


def add(input, other, *, alpha=1, out=None):
    _no_out(out)
    return _lhs(input) + (other if alpha == 1 else other * alpha)


def sub(input, other, *, alpha=1, out=None):
    _no_out(out)
    return _lhs(input) - (other if alpha == 1 else other * alpha)


def mul(input, other, *, out=None):
    _no_out(out)
    return _lhs(input) * other


def div(input, other, *, rounding_mode=None, out=None):
    _no_out(out)
    if rounding_mode is not None:
        raise Unsupported(f"rounding_mode={rounding_mode!r} is not supported (only true division is)")
    return _lhs(input) / other


def pow(input, exponent, *, out=None):
    _no_out(out)
    return _lhs(input) ** exponent


def matmul(input, other, *, out=None):
    _no_out(out)
    return _lhs(input) @ other


def matrix_product(ndim: int) -> Callable:
    """torch.mm (ndim 2) and torch.bmm (ndim 3): matmul restricted to matrices or batches of them."""

    def product(input, mat2, *, out=None):
        _no_out(out)
        if input.dim() != ndim or mat2.dim() != ndim:
            raise Unsupported(f"it takes {ndim}-D tensors")  # torch's own RuntimeError follows
        return as_tensor(input) @ as_tensor(mat2)

    return product


def maximum(input, other, *, out=None):
    _no_out(out)
    return ew.Maximum.apply(_tensor_argument(input, "input"), _tensor_argument(other, "other"))


def minimum(input, other, *, out=None):
    """min(x, y) = -max(-x, -y): exact, and ties split the gradient evenly as torch's minimum does."""
    _no_out(out)
    return -ew.Maximum.apply(-_tensor_argument(input, "input"), -_tensor_argument(other, "other"))


def unary(method: str) -> Callable:
    """torch.exp(input, *, out=None) and the like -> the engine Tensor method of that name."""

    def adapter(input, *, out=None):
        _no_out(out)
        return getattr(as_tensor(input), method)()

    adapter.__name__ = method
    return adapter


def square(input, *, out=None):
    _no_out(out)
    return as_tensor(input) ** 2


def clamp(input, min=None, max=None, *, out=None):
    _no_out(out)
    return as_tensor(input).clamp(min, max)


def method(name: str) -> Callable:
    """torch.X(input, *args, out=None, **kwargs) -> the engine Tensor method X with the same arguments: for the
    functions whose torch.Tensor method shares their signature (torch.prod, torch.sort, torch.gather, ...)."""

    def adapter(input, *args, out=None, **kwargs):
        _no_out(out)
        return getattr(as_tensor(input), name)(*args, **kwargs)

    adapter.__name__ = name
    return adapter


def scatter(input, dim, index, src=None, value=None, *, reduce=None, out=None):
    """torch.scatter(input, dim, index, src) and its `value` form (a number for src)."""
    _no_out(out)
    if reduce is not None:
        raise Unsupported(f"reduce={reduce!r} is not supported (plain scatter is)")
    return as_tensor(input).scatter(dim, index, value if src is None else src)


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    _no_out(out)
    return as_tensor(input).norm(p, dim, keepdim, dtype)


def einsum(*args):
    return tensor_functions.einsum(*args)


def meshgrid(*tensors, indexing=None):
    return tensor_functions.meshgrid(*tensors, indexing=indexing)


def outer(input, vec2, *, out=None):
    _no_out(out)
    return tensor_functions.outer(input, vec2)


def where(condition, input=None, other=None, *, out=None):
    _no_out(out)
    if input is None or other is None:
        raise Unsupported("torch.where(condition) returns indices")
    return Where.apply(condition, input, other)


def tensor_where(input, condition, other):
    """torch.Tensor.where: `raw.where(condition, x)` is torch.where(condition, raw, x)."""
    return Where.apply(condition, input, other)


# ---------------------------------------------------------------- reductions


def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    _no_out(out)
    return _cast(input, dtype).sum(dim, keepdim)


def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    _no_out(out)
    return _cast(input, dtype).mean(dim, keepdim)


def extreme(largest: bool) -> Callable:
    """torch.max / torch.min: of everything, (values, indices) along `dim`, or elementwise with `other`."""

    def extreme(input, dim=None, keepdim=False, *, other=None, out=None):
        _no_out(out)
        if isinstance(dim, (Tensor, torch.Tensor)):
            dim, other = None, dim
        if other is not None:
            return (maximum if largest else minimum)(input, other)
        x = as_tensor(input)
        return x.max(dim, keepdim) if largest else x.min(dim, keepdim)

    return extreme


# ---------------------------------------------------------------- movement


def cat(tensors, dim=0, *, out=None):
    _no_out(out)
    return movement.Cat.apply(*[as_tensor(t) for t in tensors], dim=dim)


def concatenate(tensors, axis=0, out=None):
    return cat(tensors, axis, out=out)


def stack(tensors, dim=0, *, out=None):
    _no_out(out)
    return movement.Stack.apply(*[as_tensor(t) for t in tensors], dim=dim)


def flatten(input, start_dim=0, end_dim=-1):
    return as_tensor(input).flatten(start_dim, end_dim)


def reshape(input, shape):
    return as_tensor(input).reshape(shape)


def transpose(input, dim0, dim1):
    return as_tensor(input).transpose(dim0, dim1)


def permute(input, dims):
    return as_tensor(input).permute(dims)


def squeeze(input, dim=None):
    return as_tensor(input).squeeze(dim)


def unsqueeze(input, dim):
    return as_tensor(input).unsqueeze(dim)


def t(input):
    return as_tensor(input).t()


# ---------------------------------------------------------------- torch.nn.functional


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return F.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation)


def linear(input, weight, bias=None):
    return F.linear(input, weight, bias)


def relu(input, inplace=False):
    if inplace:
        raise Unsupported("inplace=True writes into the input; write x = F.relu(x)")
    return F.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    if inplace:
        raise Unsupported("inplace=True writes into the input; write x = F.leaky_relu(x, negative_slope)")
    return F.leaky_relu(input, negative_slope)


def _softmax_dim(name: str, ndim: int, dim: int | None) -> int:
    """torch's implicit dim for softmax(x) without `dim` (deprecated there, with the same warning)."""
    if dim is not None:
        return dim
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument.",
        UserWarning,
        stacklevel=4,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    x = _cast(input, dtype)
    return F.softmax(x, _softmax_dim("softmax", x.ndim, dim))


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    x = _cast(input, dtype)
    return F.log_softmax(x, _softmax_dim("log_softmax", x.ndim, dim))


def dropout(input, p=0.5, training=True, inplace=False):
    if inplace:
        raise Unsupported("inplace=True writes into the input; write x = F.dropout(x, p)")
    return nn_functional.dropout(input, p, training)
