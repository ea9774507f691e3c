"""`TensorMethods`: Tensor's operators and methods, each a thin call into a primitive op (`Tensor` inherits it).

The state of a tensor (data, gradient, tape entry) lives in `_tensor.Tensor`; this mixin holds what a user
calls on it: arithmetic, comparisons, reductions and movement, grouped as in `ops/`.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from . import _checks, _tensor  # read at call time: _tensor imports this module to define Tensor
from .ops import elementwise as ew
from .ops import linalg, movement, reduce

if TYPE_CHECKING:
    from ._tensor import Tensor

MinMax = namedtuple("MinMax", ["values", "indices"])


def _operand(value: Any, op: str) -> Any:
    """Numbers stay numbers (cheapest path); torch tensors, arrays and NumPy numbers become constant engine tensors."""
    if isinstance(value, (TensorMethods, int, float, bool)):
        return value
    if isinstance(value, (torch.Tensor, np.ndarray, np.generic)):
        return _tensor.Tensor(value)
    raise TypeError(
        f"{op}: unsupported operand {value!r} of type {type(value).__name__}; expected a Tensor, a torch.Tensor, "
        "a NumPy array or a Python number"
    )


def _matmul_operand(value: Any) -> Any:
    """A tensor operand of `@`: numbers are refused, as torch does (scale with `*` instead)."""
    if isinstance(value, (int, float, bool, np.generic)):
        raise TypeError(
            f"matmul: both operands must be tensors, got {value!r} of type {type(value).__name__}; "
            "use * to scale by a number"
        )
    return _operand(value, "matmul")


def _shape(args: tuple) -> tuple:
    """`f(2, 3)` and `f((2, 3))` both -> (2, 3)."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list, torch.Size)) else args


def _normalize_index(index: Any) -> Any:
    """An index with engine tensors and lists replaced by raw torch tensors."""
    if isinstance(index, tuple):
        return tuple(_normalize_index(i) for i in index)
    if isinstance(index, TensorMethods):
        return index.data
    if isinstance(index, list):
        return torch.as_tensor(index)
    return index


class TensorMethods:
    """Operators and methods of `Tensor`; `self.data` is the raw torch.Tensor."""

    __slots__ = ()
    data: torch.Tensor

    # ------------------------------------------------------------ arithmetic (broadcasting)
    def __add__(self, other: Any) -> Tensor:
        return ew.Add.apply(self, _operand(other, "add"))

    def __radd__(self, other: Any) -> Tensor:
        return ew.Add.apply(_operand(other, "add"), self)

    def __sub__(self, other: Any) -> Tensor:
        return ew.Sub.apply(self, _operand(other, "sub"))

    def __rsub__(self, other: Any) -> Tensor:
        return ew.Sub.apply(_operand(other, "sub"), self)

    def __mul__(self, other: Any) -> Tensor:
        return ew.Mul.apply(self, _operand(other, "mul"))

    def __rmul__(self, other: Any) -> Tensor:
        return ew.Mul.apply(_operand(other, "mul"), self)

    def __truediv__(self, other: Any) -> Tensor:
        return ew.Div.apply(self, _operand(other, "div"))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ew.Div.apply(_operand(other, "div"), self)

    def __pow__(self, other: Any) -> Tensor:
        return ew.Pow.apply(self, _operand(other, "pow"))

    def __rpow__(self, other: Any) -> Tensor:
        return ew.Pow.apply(_operand(other, "pow"), self)

    def __matmul__(self, other: Any) -> Tensor:
        return linalg.MatMul.apply(self, _matmul_operand(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return linalg.MatMul.apply(_matmul_operand(other), self)

    def __neg__(self) -> Tensor:
        return ew.Neg.apply(self)

    add = __add__
    sub = __sub__
    mul = __mul__
    div = __truediv__
    pow = __pow__
    matmul = __matmul__
    neg = __neg__

    def maximum(self, other: Any) -> Tensor:
        """Elementwise max; ties split the gradient evenly, as in torch."""
        return ew.Maximum.apply(self, _operand(other, "maximum"))

    # ------------------------------------------------------------ comparisons (bool results, no gradient)
    def _compare(self, op: str, other: Any) -> Tensor:
        other = other.data if isinstance(other, TensorMethods) else other
        result = getattr(self.data, op)(other)
        return result if result is NotImplemented else _tensor.Tensor._make(result, False)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare("__lt__", other)

    def __le__(self, other: Any) -> Tensor:
        return self._compare("__le__", other)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare("__gt__", other)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare("__ge__", other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare("__eq__", other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare("__ne__", other)

    # ------------------------------------------------------------ unary
    def exp(self) -> Tensor:
        return ew.Exp.apply(self)

    def log(self) -> Tensor:
        return ew.Log.apply(self)

    def sqrt(self) -> Tensor:
        return ew.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return ew.Abs.apply(self)

    def tanh(self) -> Tensor:
        return ew.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return ew.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ew.ReLU.apply(self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """Clip into [min, max] (either may be None); the gradient is 1 inside, 0 outside."""
        return ew.Clamp.apply(self, min=min, max=max)

    # ------------------------------------------------------------ reductions
    def sum(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Sum over `dim` (an int, a tuple, or None for all dims)."""
        return reduce.Sum.apply(self, dims=_reduced_dims("sum", dim, self.data.ndim), keepdim=keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Mean over `dim` (an int, a tuple, or None for all dims)."""
        return reduce.Mean.apply(self, dims=_reduced_dims("mean", dim, self.data.ndim), keepdim=keepdim)

    def max(self, dim: int | None = None, keepdim: bool = False) -> Tensor | MinMax:
        """The largest value, or (values, indices) along `dim`, as torch.max."""
        return self._extreme(dim, keepdim, largest=True)

    def min(self, dim: int | None = None, keepdim: bool = False) -> Tensor | MinMax:
        """The smallest value, or (values, indices) along `dim`, as torch.min."""
        return self._extreme(dim, keepdim, largest=False)

    def _extreme(self, dim: int | None, keepdim: bool, largest: bool) -> Tensor | MinMax:
        name, shape = ("max" if largest else "min"), self.data.shape
        if dim is None:
            if not self.data.numel():
                raise RuntimeError(
                    f"{name}: the input of shape {tuple(shape)} is empty, so it has no {name}imum; pass dim= to "
                    "reduce over one dim of non-zero size"
                )
            return reduce.Amax.apply(self, largest=largest)
        dim = _checks.canonical_dim(name, dim, len(shape))
        if shape and not shape[dim]:
            raise IndexError(
                f"{name}: Expected reduction dim {dim} to have non-zero size (input of shape {tuple(shape)})"
            )
        raw = self.data.max(dim, keepdim=True) if largest else self.data.min(dim, keepdim=True)
        values = reduce.Gather.apply(self, raw.indices, dim=dim)
        indices = raw.indices
        if not keepdim:
            values, indices = values.squeeze(dim), indices.squeeze(dim)
        return MinMax(values, _tensor.Tensor._make(indices, False))

    # ------------------------------------------------------------ movement
    def __getitem__(self, index: Any) -> Tensor:
        return movement.GetItem.apply(self, index=_normalize_index(index))

    def reshape(self, *shape: Any) -> Tensor:
        """The same values in a new shape (one dim may be -1)."""
        return movement.Reshape.apply(self, shape=_shape(shape))

    view = reshape

    def expand(self, *shape: Any) -> Tensor:
        """Broadcast size-1 dims to `shape` (-1 keeps a dim)."""
        return movement.Expand.apply(self, shape=_shape(shape))

    def permute(self, *dims: Any) -> Tensor:
        """Reorder the dims: one entry per dim, each dim once."""
        dims, ndim = _shape(dims), self.data.ndim
        if len(dims) != ndim:
            raise RuntimeError(
                f"permute: expected {ndim} dims, one per dim of the input of shape {tuple(self.data.shape)}, "
                f"got {len(dims)}: {dims}"
            )
        return movement.Permute.apply(self, dims=_checks.canonical_dims("permute", dims, ndim, one_at_a_time=True))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Swap two dims (a permutation)."""
        ndim = self.data.ndim
        dim0, dim1 = (
            _checks.canonical_dim("transpose", dim0, ndim, "dim0"),
            _checks.canonical_dim("transpose", dim1, ndim, "dim1"),
        )
        dims = list(range(ndim))
        if ndim:
            dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return movement.Permute.apply(self, dims=tuple(dims))

    def t(self) -> Tensor:
        """Transpose a 2-D tensor; 0-D and 1-D tensors are returned as they are."""
        if self.data.ndim > 2:
            raise RuntimeError(
                f"t: expects a tensor with at most 2 dims, got shape {tuple(self.data.shape)}; "
                "use transpose(dim0, dim1) or permute(...)"
            )
        return self.transpose(0, 1) if self.data.ndim == 2 else self

    @property
    def T(self) -> Tensor:
        """All dims reversed."""
        return self.permute(*range(self.data.ndim - 1, -1, -1))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dims start_dim..end_dim into one (a 0-d tensor becomes 1-D)."""
        shape = self.data.shape
        start = _checks.canonical_dim("flatten", start_dim, len(shape), "start_dim")
        end = _checks.canonical_dim("flatten", end_dim, len(shape), "end_dim")
        if start > end:
            raise RuntimeError(
                f"flatten: invalid args: start_dim cannot come after end_dim, got start_dim={start_dim} (dim {start}) "
                f"and end_dim={end_dim} (dim {end}) for a {len(shape)}-D input"
            )
        merged = math.prod(shape[start : end + 1])  # not -1: a dim of size 0 would make -1 ambiguous
        return movement.Reshape.apply(self, shape=(*shape[:start], merged, *shape[end + 1 :]))

    def squeeze(self, dim: Any = None) -> Tensor:
        """Drop size-1 dims: all of them, or those of `dim` (an int or a tuple) that have size 1."""
        shape = self.data.shape
        if dim is None:
            return movement.Reshape.apply(self, shape=tuple(s for s in shape if s != 1))
        dims = _checks.canonical_dims("squeeze", dim, len(shape), one_at_a_time=True)
        return movement.Reshape.apply(self, shape=tuple(s for i, s in enumerate(shape) if s != 1 or i not in dims))

    def unsqueeze(self, dim: int) -> Tensor:
        """Insert a size-1 dim at `dim` (in [-ndim - 1, ndim])."""
        shape = self.data.shape
        dim = _checks.canonical_dim("unsqueeze", dim, len(shape) + 1)
        return movement.Reshape.apply(self, shape=(*shape[:dim], 1, *shape[dim:]))


def _reduced_dims(name: str, dim: Any, ndim: int) -> tuple[int, ...]:
    """The dims a reduction runs over: None or () means all of them (as in torch); a 0-d tensor has none."""
    if dim is None:
        return tuple(range(ndim))
    dims = _checks.canonical_dims(name, dim, ndim)
    return dims if dims and ndim else tuple(range(ndim))
