"""`TensorMethods`: Tensor's operators, comparisons, matrix products, dtype conversions and `new_*` factories,
each a thin call into a primitive op, and the helpers its sibling mixins share (`Tensor` inherits them all).

The state of a tensor (data, gradient, tape entry) lives in `_tensor.Tensor`; what a user calls on it lives in
mixins grouped as in `ops/`: this one, `MathMethods` (`_tensor_math.py`: elementwise functions and selection),
`ReduceMethods` (`_tensor_reduce.py`: reductions, sorting) and `ShapeMethods` (`_tensor_shape.py`: movement and
indexing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from . import _tensor  # read at call time: _tensor imports this module to define Tensor
from .ops import elementwise as ew
from .ops import linalg

if TYPE_CHECKING:
    from ._tensor import Tensor


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


def _raw(value: Any) -> Any:
    """An engine tensor's raw torch tensor (indices, masks, bounds); anything else as it is."""
    return value.data if isinstance(value, TensorMethods) else value


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

    def minimum(self, other: Any) -> Tensor:
        """Elementwise min, as -max(-x, -y): exact, and ties split the gradient evenly, as in torch."""
        return -ew.Maximum.apply(-self, -_operand(other, "minimum"))

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

    def eq(self, other: Any) -> Tensor:
        return self._compare("eq", other)

    def ne(self, other: Any) -> Tensor:
        return self._compare("ne", other)

    def lt(self, other: Any) -> Tensor:
        return self._compare("lt", other)

    def le(self, other: Any) -> Tensor:
        return self._compare("le", other)

    def gt(self, other: Any) -> Tensor:
        return self._compare("gt", other)

    def ge(self, other: Any) -> Tensor:
        return self._compare("ge", other)

    # ------------------------------------------------------------ matrix products
    def mm(self, mat2: Any) -> Tensor:
        """Matrix product of two 2-D tensors: (n, m) @ (m, p) -> (n, p)."""
        _check_ndims("mm", "a matrix", 2, self=self, mat2=mat2)
        return self @ mat2

    def bmm(self, mat2: Any) -> Tensor:
        """Batched matrix product of two 3-D tensors, without broadcasting: (b, n, m) @ (b, m, p) -> (b, n, p)."""
        _check_ndims("bmm", "a 3D tensor", 3, batch1=self, batch2=mat2)
        if self.data.shape[0] != mat2.shape[0]:
            raise RuntimeError(
                f"bmm: batch1 and batch2 must have the same batch size, got shapes {tuple(self.data.shape)} and "
                f"{tuple(mat2.shape)}"
            )
        return self @ mat2

    def dot(self, tensor: Any) -> Tensor:
        """Inner product of two 1-D tensors of the same size."""
        if self.data.ndim != 1 or tensor.ndim != 1:
            raise RuntimeError(f"dot: 1D tensors expected, but got {self.data.ndim}D and {tensor.ndim}D tensors")
        if self.data.shape[0] != tensor.shape[0]:
            raise RuntimeError(
                f"dot: inconsistent tensor size, expected tensor [{self.data.shape[0]}] and src [{tensor.shape[0]}] "
                f"to have the same number of elements, but got {self.data.shape[0]} and {tensor.shape[0]} elements "
                "respectively"
            )
        return self @ tensor

    # ------------------------------------------------------------ new tensors like this one (leaves)
    # each takes torch's keywords: dtype= and device= (this tensor's by default), requires_grad=, ...
    def new_zeros(self, *size: Any, requires_grad: bool = False, **options: Any) -> Tensor:
        """Zeros of `size`."""
        return _tensor.Tensor(self.data.new_zeros(_shape(size), **options), requires_grad=requires_grad)

    def new_ones(self, *size: Any, requires_grad: bool = False, **options: Any) -> Tensor:
        """Ones of `size`."""
        return _tensor.Tensor(self.data.new_ones(_shape(size), **options), requires_grad=requires_grad)

    def new_empty(self, *size: Any, requires_grad: bool = False, **options: Any) -> Tensor:
        """Uninitialised values of `size`."""
        return _tensor.Tensor(self.data.new_empty(_shape(size), **options), requires_grad=requires_grad)

    def new_full(self, size: Any, fill_value: Any, *, requires_grad: bool = False, **options: Any) -> Tensor:
        """`fill_value` everywhere in `size`."""
        return _tensor.Tensor(self.data.new_full(size, fill_value, **options), requires_grad=requires_grad)

    def new_tensor(self, data: Any, *, requires_grad: bool = False, **options: Any) -> Tensor:
        """A copy of `data` (numbers, lists, arrays, tensors)."""
        raw = data.data if isinstance(data, TensorMethods) else data
        return _tensor.Tensor(self.data.new_tensor(raw, **options), requires_grad=requires_grad)

    # ------------------------------------------------------------ dtype conversions (differentiable to float dtypes)
    def half(self) -> Tensor:
        return self.to(torch.float16)

    def bfloat16(self) -> Tensor:
        return self.to(torch.bfloat16)

    def long(self) -> Tensor:
        return self.to(torch.int64)

    def int(self) -> Tensor:
        return self.to(torch.int32)

    def bool(self) -> Tensor:
        return self.to(torch.bool)

    def type_as(self, other: Any) -> Tensor:
        """This tensor with `other`'s dtype, on `other`'s device."""
        return self.to(device=other.device, dtype=other.dtype)


def _check_ndims(op: str, what: str, ndim: int, **tensors: Any) -> None:
    """torch's error for a matrix product whose operand (named as in torch) does not have `ndim` dims."""
    for name, tensor in tensors.items():
        if tensor.ndim != ndim:
            raise RuntimeError(f"{op}: {name} must be {what}, got shape {tuple(tensor.shape)}")
