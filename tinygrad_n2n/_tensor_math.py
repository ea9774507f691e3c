"""`MathMethods`: Tensor's elementwise functions (exp, sin, erf, round, clamp, softmax, ...) and selections (where,
masked_fill, nan_to_num); `Tensor` inherits it.

Primitives where a composition would lose digits or cost passes (`ops.elementwise`, `ops.math`); the rest are
compositions whose gradients are torch's: rsqrt is x ** -0.5, reciprocal 1 / x, lerp start + w (end - start).
Selections go through `Where`, which never looks at the branch it does not take, so an inf or nan there reaches
neither the values nor the gradients (as in torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from . import _checks, _tensor  # read at call time: _tensor imports this module to define Tensor
from ._tensor_methods import TensorMethods, _operand, _raw
from .ops import elementwise as ew
from .ops import math as math_ops
from .ops import softmax as softmax_ops
from .ops.where import Where

if TYPE_CHECKING:
    from ._tensor import Tensor


class MathMethods:
    """Elementwise methods of `Tensor`; `self.data` is the raw torch.Tensor."""

    __slots__ = ()
    data: torch.Tensor

    # ------------------------------------------------------------ exponentials, logarithms, powers
    def exp(self) -> Tensor:
        return ew.Exp.apply(self)

    def log(self) -> Tensor:
        return ew.Log.apply(self)

    def log1p(self) -> Tensor:
        """ln(1 + x), exact for small x."""
        return math_ops.Log1p.apply(self)

    def sqrt(self) -> Tensor:
        return ew.Sqrt.apply(self)

    def rsqrt(self) -> Tensor:
        """1 / √x."""
        return ew.Pow.apply(self, -0.5)

    def square(self) -> Tensor:
        return ew.Pow.apply(self, 2)

    def reciprocal(self) -> Tensor:
        """1 / x."""
        return ew.Div.apply(1.0, self)

    # ------------------------------------------------------------ trigonometric, hyperbolic, special
    def sin(self) -> Tensor:
        return math_ops.Sin.apply(self)

    def cos(self) -> Tensor:
        return math_ops.Cos.apply(self)

    def tanh(self) -> Tensor:
        return ew.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return ew.Sigmoid.apply(self)

    def erf(self) -> Tensor:
        """The Gauss error function."""
        return math_ops.Erf.apply(self)

    def relu(self) -> Tensor:
        return ew.ReLU.apply(self)

    def softmax(self, dim: int, dtype: torch.dtype | None = None) -> Tensor:
        """Softmax along `dim` (computed in `dtype` when given)."""
        x = self if dtype is None else self.to(dtype)
        return softmax_ops.Softmax.apply(x, dim=_checks.canonical_dim("softmax", dim, self.data.ndim))

    def log_softmax(self, dim: int, dtype: torch.dtype | None = None) -> Tensor:
        """Log of the softmax along `dim`, computed stably (in `dtype` when given)."""
        x = self if dtype is None else self.to(dtype)
        return softmax_ops.LogSoftmax.apply(x, dim=_checks.canonical_dim("log_softmax", dim, self.data.ndim))

    # ------------------------------------------------------------ piecewise (sign, floor, round: zero gradient)
    def abs(self) -> Tensor:
        return ew.Abs.apply(self)

    def sign(self) -> Tensor:
        """-1, 0 or 1; zero gradient, as in torch."""
        return math_ops.Sign.apply(self)

    def floor(self) -> Tensor:
        """Largest integer ≤ x; zero gradient, as in torch."""
        return math_ops.Floor.apply(self)

    def round(self, *, decimals: int = 0) -> Tensor:
        """Round half to even, to `decimals` decimal places; zero gradient, as in torch."""
        return math_ops.Round.apply(self, decimals=decimals)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """Clip into [min, max] (numbers, or tensors that broadcast; either may be None).

        As in torch, the gradient goes to x where min ≤ x ≤ max, to a tensor `min` where x < min < max, and to a
        tensor `max` where x > max or max < min (the result is max there); nowhere else (min = max, nan).
        """
        if min is None and max is None:
            raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
        tensor_bounds = [isinstance(b, (TensorMethods, torch.Tensor)) for b in (min, max) if b is not None]
        if not any(tensor_bounds):
            return ew.Clamp.apply(self, min=min, max=max)
        if not all(tensor_bounds):
            raise TypeError(
                f"clamp: min and max must both be tensors or both numbers (either may be None), as in torch; got "
                f"{type(min).__name__} and {type(max).__name__}"
            )
        raw, low, high = self.data, _raw(min), _raw(max)
        out = _tensor.Tensor._make(torch.clamp(raw, low, high), False)  # the value where no input gets a gradient
        inside = torch.ones_like(raw, dtype=torch.bool)
        if high is not None:
            inside = inside & (raw <= high)
            above = raw > high if low is None else (raw > high) | (high < low)
            out = Where.apply(above, _operand(max, "clamp"), out)
        if low is not None:
            inside = inside & (raw >= low)
            below = raw < low if high is None else (raw < low) & (low < high)
            out = Where.apply(below, _operand(min, "clamp"), out)
        return Where.apply(inside, self, out)

    clip = clamp

    def clamp_min(self, min: Any) -> Tensor:
        """max(x, min); the gradient is 1 where x ≥ min."""
        return self.clamp(min=min)

    def clamp_max(self, max: Any) -> Tensor:
        """min(x, max); the gradient is 1 where x ≤ max."""
        return self.clamp(max=max)

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        """nan, +inf and -inf replaced by `nan`, `posinf`, `neginf` (None: the dtype's largest and lowest values);
        the gradient passes where x is finite and is 0 at the replaced places, as in torch."""
        replaced = torch.nan_to_num(self.data, nan, posinf, neginf)
        return Where.apply(torch.isfinite(self.data), self, replaced)

    def lerp(self, end: Any, weight: Any) -> Tensor:
        """start + weight · (end - start), with `self` as start; weight is a number or a tensor."""
        return self + _operand(weight, "lerp") * (_operand(end, "lerp") - self)

    # ------------------------------------------------------------ selection
    def where(self, condition: Any, other: Any) -> Tensor:
        """self where `condition` holds, else `other` (all three broadcast); the branch not taken is never read."""
        return Where.apply(_raw(condition), self, _operand(other, "where"))

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """`value` (a number or a 0-d tensor) where the boolean `mask` holds, else self; they broadcast together."""
        mask = _raw(mask)
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            described = mask.dtype if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise RuntimeError(
                f"masked_fill: masked_fill_ only supports boolean masks, but got mask with dtype {described}"
            )
        if isinstance(value, (TensorMethods, torch.Tensor)):
            if value.ndim:
                raise RuntimeError(
                    "masked_fill: masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                    f"{value.ndim} dimension(s)."
                )
            return Where.apply(mask, _operand(value, "masked_fill").to(self.data.dtype), self)
        return Where.apply(mask, torch.tensor(value, dtype=self.data.dtype, device=self.data.device), self)

    def isnan(self) -> Tensor:
        return _tensor.Tensor._make(torch.isnan(self.data), False)

    def isfinite(self) -> Tensor:
        return _tensor.Tensor._make(torch.isfinite(self.data), False)
