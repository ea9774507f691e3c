"""Activation functions of the functional API (re-exported by `tinygrad_n2n.functional`), torch's signatures.

x: any shape -> the same shape, elementwise (logsumexp reduces). softplus, logsigmoid, gelu and the ELU family
are primitives (`ops.activation`); the rest are short compositions of engine ops whose gradients match torch's
everywhere, kinks included: torch's hardtanh, relu6, hardsigmoid and hardswish take the gradient of the flat
side at their corners (a `Where` selection inside hardtanh, not a clamp, whose corners pass it). `inplace=True`
is accepted for compatibility; the result is always a new tensor.
"""

from __future__ import annotations

from typing import Any

from ._checks import as_tensor, canonical_dims
from ._tensor import Tensor
from .ops import activation as act
from .ops.softmax import Logsumexp
from .ops.where import Where

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clipped into [min_val, max_val]; the gradient is 1 strictly inside, 0 elsewhere (corners too), as torch's."""
    x = as_tensor(input)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val={min_val}, max_val={max_val}")
    raw = x.data
    inside = (raw > min_val) & (raw < max_val)
    return Where.apply(inside, x, raw.clamp(min_val, max_val))


def relu6(input: Any, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) (hardtanh(x, 0, 6)); the gradient is 0 at 0 and 6, as in torch."""
    return hardtanh(input, 0.0, 6.0)


def hardsigmoid(input: Any, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6; the gradient is 1/6 for -3 < x < 3, else 0."""
    return relu6(as_tensor(input) + 3) / 6


def hardswish(input: Any, inplace: bool = False) -> Tensor:
    """x · hardsigmoid(x); the gradient is 0 up to x = -3, x/3 + 1/2 between, 1 from x = 3 on, as torch's."""
    x = as_tensor(input)
    return x * hardsigmoid(x)


def silu(input: Any, inplace: bool = False) -> Tensor:
    """x · σ(x) (swish)."""
    x = as_tensor(input)
    return x * x.sigmoid()


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(βx)) / β, and x itself where βx > threshold (for stability)."""
    return act.Softplus.apply(as_tensor(input), beta=beta, threshold=threshold)


def mish(input: Any, inplace: bool = False) -> Tensor:
    """x · tanh(softplus(x))."""
    x = as_tensor(input)
    return x * softplus(x).tanh()


def logsigmoid(input: Any) -> Tensor:
    """log σ(x) = -softplus(-x), stable for large |x|."""
    return act.LogSigmoid.apply(as_tensor(input))


def gelu(input: Any, approximate: str = "none") -> Tensor:
    """x Φ(x) with Φ the standard normal CDF ('none'), or its tanh approximation ('tanh')."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return act.GELU.apply(as_tensor(input), approximate=approximate)


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else α (eˣ - 1)."""
    return act.ELU.apply(as_tensor(input), alpha=alpha, scale=1.0, input_scale=1.0)


def selu(input: Any, inplace: bool = False) -> Tensor:
    """scale · elu(x, α) with torch's constants α ≈ 1.6733, scale ≈ 1.0507 (self-normalising)."""
    return act.ELU.apply(as_tensor(input), alpha=SELU_ALPHA, scale=SELU_SCALE, input_scale=1.0)


def celu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else α (e^(x/α) - 1); alpha must not be 0."""
    if alpha == 0:
        raise RuntimeError("celu: alpha cannot be 0 (it divides x); torch raises ZeroDivisionError for it too")
    return act.ELU.apply(as_tensor(input), alpha=alpha, scale=1.0, input_scale=1.0 / alpha)


def logsumexp(input: Any, dim: int | tuple[int, ...] | list[int], keepdim: bool = False) -> Tensor:
    """log Σ eˣ over `dim` (an int or a tuple of dims), computed stably. x: (..) -> x's shape without `dim`
    (those dims kept as size 1 when `keepdim`)."""
    x = as_tensor(input)
    dims = canonical_dims("logsumexp", dim, x.ndim)
    if not dims and x.ndim:
        raise RuntimeError(f"logsumexp: dim=() reduces nothing (input of shape {tuple(x.shape)}); name the dims")
    return Logsumexp.apply(x, dims=dims, keepdim=keepdim)
