"""Tensor's operators and methods, each a thin call into a primitive op (installed onto `Tensor`)."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import torch

from .ops import elementwise as ew
from .ops import linalg, movement, reduce
from .tensor import Tensor

MinMax = namedtuple("MinMax", ["values", "indices"])


def _operand(value: Any) -> Any:
    """Numbers stay numbers (cheapest path); torch tensors and arrays become constant engine tensors."""
    if isinstance(value, (Tensor, int, float, bool)):
        return value
    return Tensor(value)


def _shape(args: tuple) -> tuple:
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list, torch.Size)) else args


def _normalize_index(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(_normalize_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return torch.as_tensor(index)
    return index


def _compare(op: str):
    def method(self: Tensor, other: Any) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        result = getattr(self.data, op)(other)
        return result if result is NotImplemented else Tensor._make(result, False)

    method.__name__ = op
    method.__doc__ = f"Elementwise `{op}` comparison; returns a bool tensor with no gradient."
    return method


def _reduce_extreme(x: Tensor, dim: int | None, keepdim: bool, largest: bool) -> Tensor | MinMax:
    if dim is None:
        return reduce.Amax.apply(x, largest=largest)
    raw = x.data.max(dim, keepdim=True) if largest else x.data.min(dim, keepdim=True)
    values = reduce.Gather.apply(x, raw.indices, dim=dim)
    indices = raw.indices
    if not keepdim:
        values, indices = values.squeeze(dim), indices.squeeze(dim)
    return MinMax(values, Tensor._make(indices, False))


METHODS = {
    # arithmetic (broadcasting)
    "__add__": lambda self, other: ew.Add.apply(self, _operand(other)),
    "__radd__": lambda self, other: ew.Add.apply(_operand(other), self),
    "__sub__": lambda self, other: ew.Sub.apply(self, _operand(other)),
    "__rsub__": lambda self, other: ew.Sub.apply(_operand(other), self),
    "__mul__": lambda self, other: ew.Mul.apply(self, _operand(other)),
    "__rmul__": lambda self, other: ew.Mul.apply(_operand(other), self),
    "__truediv__": lambda self, other: ew.Div.apply(self, _operand(other)),
    "__rtruediv__": lambda self, other: ew.Div.apply(_operand(other), self),
    "__pow__": lambda self, other: ew.Pow.apply(self, _operand(other)),
    "__rpow__": lambda self, other: ew.Pow.apply(_operand(other), self),
    "__matmul__": lambda self, other: linalg.MatMul.apply(self, _operand(other)),
    "__rmatmul__": lambda self, other: linalg.MatMul.apply(_operand(other), self),
    "__neg__": lambda self: ew.Neg.apply(self),
    "__getitem__": lambda self, index: movement.GetItem.apply(self, index=_normalize_index(index)),
    "add": lambda self, other: ew.Add.apply(self, _operand(other)),
    "sub": lambda self, other: ew.Sub.apply(self, _operand(other)),
    "mul": lambda self, other: ew.Mul.apply(self, _operand(other)),
    "div": lambda self, other: ew.Div.apply(self, _operand(other)),
    "pow": lambda self, other: ew.Pow.apply(self, _operand(other)),
    "matmul": lambda self, other: linalg.MatMul.apply(self, _operand(other)),
    "maximum": lambda self, other: ew.Maximum.apply(self, _operand(other)),
    # unary
    "neg": lambda self: ew.Neg.apply(self),
    "exp": lambda self: ew.Exp.apply(self),
    "log": lambda self: ew.Log.apply(self),
    "sqrt": lambda self: ew.Sqrt.apply(self),
    "abs": lambda self: ew.Abs.apply(self),
    "tanh": lambda self: ew.Tanh.apply(self),
    "sigmoid": lambda self: ew.Sigmoid.apply(self),
    "relu": lambda self: ew.ReLU.apply(self),
    "clamp": lambda self, min=None, max=None: ew.Clamp.apply(self, min=min, max=max),
    # reductions
    "sum": lambda self, dim=None, keepdim=False: reduce.Sum.apply(self, dim=dim, keepdim=keepdim),
    "mean": lambda self, dim=None, keepdim=False: reduce.Mean.apply(self, dim=dim, keepdim=keepdim),
    "max": lambda self, dim=None, keepdim=False: _reduce_extreme(self, dim, keepdim, largest=True),
    "min": lambda self, dim=None, keepdim=False: _reduce_extreme(self, dim, keepdim, largest=False),
    # movement
    "reshape": lambda self, *shape: movement.Reshape.apply(self, shape=_shape(shape)),
    "view": lambda self, *shape: movement.Reshape.apply(self, shape=_shape(shape)),
    "expand": lambda self, *shape: movement.Expand.apply(self, shape=_shape(shape)),
    "permute": lambda self, *dims: movement.Permute.apply(self, dims=_shape(dims)),
    # comparisons (no gradient)
    **{op: _compare(op) for op in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__")},
}


def transpose(self: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims (a permutation)."""
    dims = list(range(self.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return movement.Permute.apply(self, dims=tuple(dims))


def flatten(self: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one."""
    shape = self.shape
    start, end = start_dim % max(self.ndim, 1), end_dim % max(self.ndim, 1)
    if self.ndim == 0:
        return movement.Reshape.apply(self, shape=(1,))
    return movement.Reshape.apply(self, shape=(*shape[:start], -1, *shape[end + 1 :]))


def squeeze(self: Tensor, dim: int | None = None) -> Tensor:
    """Drop size-1 dims (all of them, or `dim` if it has size 1)."""
    shape = (self.data.squeeze() if dim is None else self.data.squeeze(dim)).shape
    return movement.Reshape.apply(self, shape=shape)


def unsqueeze(self: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at `dim`."""
    return movement.Reshape.apply(self, shape=self.data.unsqueeze(dim).shape)


def install() -> None:
    """Attach the operators and methods to `Tensor`."""
    for name, function in {
        **METHODS,
        "transpose": transpose,
        "flatten": flatten,
        "squeeze": squeeze,
        "unsqueeze": unsqueeze,
    }.items():
        if function.__name__ == "<lambda>":
            function.__name__, function.__qualname__ = name, f"Tensor.{name}"
        setattr(Tensor, name, function)
    Tensor.t = lambda self: transpose(self, 0, 1) if self.ndim == 2 else self
