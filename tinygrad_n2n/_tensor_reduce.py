"""`ReduceMethods`: Tensor's reductions (sum, prod, max, amax, var, norm, logsumexp, all, ...), cumsum and sorting
(sort, topk, argsort); `Tensor` inherits it.

Every dim goes through `_checks.canonical_dim(s)`. Values that select elements (max over a dim, sort, topk) are
gathered through `Gather` at indices torch computes, so the gradient reaches exactly the selected elements; amax
and amin split it evenly among ties, as torch does. Index and boolean results carry no gradient.
"""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING, Any

import torch

from . import _checks, _tensor  # read at call time: _tensor imports this module to define Tensor
from ._tensor_methods import TensorMethods
from .ops import reduce
from .ops.norm import VectorNorm
from .ops.softmax import Logsumexp

if TYPE_CHECKING:
    from ._tensor import Tensor

MinMax = namedtuple("MinMax", ["values", "indices"])


def _constant(raw: torch.Tensor) -> Tensor:
    return _tensor.Tensor._make(raw, False)


def _named(op: str, run: Any) -> Any:
    """`run()`, with torch's RuntimeError or IndexError renamed after the op (same type, torch's words after it)."""
    try:
        return run()
    except (RuntimeError, IndexError) as error:
        raise type(error)(f"{op}: {error}") from error


class ReduceMethods:
    """Reductions and sorting methods of `Tensor`; `self.data` is the raw torch.Tensor."""

    __slots__ = ()
    data: torch.Tensor

    def _cast(self, dtype: torch.dtype | None) -> Tensor:
        return self if dtype is None else self.to(dtype)

    # ------------------------------------------------------------ sums and products
    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: torch.dtype | None = None) -> Tensor:
        """Sum over `dim` (an int, a tuple, or None for all dims), in `dtype` when given."""
        return reduce.Sum.apply(self._cast(dtype), dims=_reduced_dims("sum", dim, self.data.ndim), keepdim=keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False, *, dtype: torch.dtype | None = None) -> Tensor:
        """Mean over `dim` (an int, a tuple, or None for all dims), in `dtype` when given."""
        return reduce.Mean.apply(self._cast(dtype), dims=_reduced_dims("mean", dim, self.data.ndim), keepdim=keepdim)

    def prod(self, dim: int | None = None, keepdim: bool = False, *, dtype: torch.dtype | None = None) -> Tensor:
        """Product over one dim (or everything); its gradient is exact where x has zeros."""
        if dim is not None:
            dim = _checks.canonical_dim("prod", dim, self.data.ndim)
        return reduce.Prod.apply(self._cast(dtype), dim=dim, keepdim=keepdim)

    def cumsum(self, dim: int, *, dtype: torch.dtype | None = None) -> Tensor:
        """Running sums along `dim`, in `dtype` when given."""
        return reduce.Cumsum.apply(self._cast(dtype), dim=_checks.canonical_dim("cumsum", dim, self.data.ndim))

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        """log Σ eˣ over `dim` (an int or a tuple of dims), computed stably."""
        dims = _checks.canonical_dims("logsumexp", dim, self.data.ndim)
        if not dims and self.data.ndim:
            raise RuntimeError(
                f"logsumexp: dim=() reduces nothing (input of shape {tuple(self.data.shape)}); name the dims"
            )
        return Logsumexp.apply(self, dims=dims, keepdim=keepdim)

    # ------------------------------------------------------------ extremes
    def max(self, dim: Any = None, keepdim: bool = False) -> Tensor | MinMax:
        """The largest value; (values, indices) along `dim`; or, given a tensor, the elementwise maximum."""
        if isinstance(dim, (TensorMethods, torch.Tensor)):
            return self.maximum(dim)
        return self._extreme(dim, keepdim, largest=True)

    def min(self, dim: Any = None, keepdim: bool = False) -> Tensor | MinMax:
        """The smallest value; (values, indices) along `dim`; or, given a tensor, the elementwise minimum."""
        if isinstance(dim, (TensorMethods, torch.Tensor)):
            return self.minimum(dim)
        return self._extreme(dim, keepdim, largest=False)

    def _extreme(self, dim: int | None, keepdim: bool, largest: bool) -> Tensor | MinMax:
        name, shape = ("max" if largest else "min"), self.data.shape
        if dim is None:
            if not self.data.numel():
                raise RuntimeError(
                    f"{name}: the input of shape {tuple(shape)} is empty, so it has no {name}imum; pass dim= to "
                    "reduce over one dim of non-zero size"
                )
            return reduce.Amax.apply(self, dims=tuple(range(len(shape))), largest=largest)
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
        return MinMax(values, _constant(indices))

    def amax(self, dim: Any = (), keepdim: bool = False) -> Tensor:
        """The largest values over `dim` (an int or a tuple; () for all dims); ties share the gradient evenly."""
        return self._amax("amax", dim, keepdim, largest=True)

    def amin(self, dim: Any = (), keepdim: bool = False) -> Tensor:
        """The smallest values over `dim` (an int or a tuple; () for all dims); ties share the gradient evenly."""
        return self._amax("amin", dim, keepdim, largest=False)

    def _amax(self, name: str, dim: Any, keepdim: bool, largest: bool) -> Tensor:
        shape = self.data.shape
        dims = _reduced_dims(name, dim, len(shape))
        if not self.data.numel() and (dim is None or (isinstance(dim, (tuple, list)) and not dim)):
            raise RuntimeError(
                f"{name}: {name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                "reduction dim with the 'dim' argument."
            )
        for d in dims:
            if not shape[d]:
                raise IndexError(f"{name}: {name}(): Expected reduction dim {d} to have non-zero size.")
        return reduce.Amax.apply(self, dims=dims, keepdim=keepdim, largest=largest)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """The index of the largest value (in the flattened tensor, or along `dim`); no gradient."""
        if dim is not None:
            dim = _checks.canonical_dim("argmax", dim, self.data.ndim)
        return _constant(_named("argmax", lambda: torch.argmax(self.data, dim, keepdim)))

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """The index of the smallest value (in the flattened tensor, or along `dim`); no gradient."""
        if dim is not None:
            dim = _checks.canonical_dim("argmin", dim, self.data.ndim)
        return _constant(_named("argmin", lambda: torch.argmin(self.data, dim, keepdim)))

    # ------------------------------------------------------------ spread and size
    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *, correction: Any = None):
        """Variance over `dim` (an int, a tuple, or None for all dims), divided by n - correction.

        As torch: `correction=1` by default, `unbiased=False` is `correction=0`, and `x.var(False)` reads the
        bool as `unbiased`.
        """
        dims, correction = _spread_arguments("var", self.data.ndim, dim, unbiased, correction)
        return reduce.Var.apply(self, dims=dims, correction=correction, keepdim=keepdim)

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *, correction: Any = None):
        """Standard deviation √var over `dim` (arguments as `var`); its gradient is 0 where it is 0, as torch's."""
        dims, correction = _spread_arguments("std", self.data.ndim, dim, unbiased, correction)
        return reduce.Std.apply(self, dims=dims, correction=correction, keepdim=keepdim)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: torch.dtype | None = None) -> Tensor:
        """The vector p-norm over `dim` (None: all dims): p a number (inf, -inf and 0 included) or 'fro' (p = 2 over
        at most two dims). Its gradient is 0 where the norm is 0, as torch's."""
        if p is None or (p == "fro" and (dim is None or isinstance(dim, int) or len(dim) <= 2)):
            p = 2
        if isinstance(p, str):
            raise NotImplementedError(
                f"norm: p={p!r} over dim={dim!r} is a matrix norm (torch.linalg.matrix_norm), which the engine does "
                "not have; use p=2 (or 'fro' over at most two dims) or a number"
            )
        dims = _reduced_dims("norm", dim, self.data.ndim, one_at_a_time=True)
        return VectorNorm.apply(self._cast(dtype), ord=p, dims=dims, keepdim=keepdim)

    # ------------------------------------------------------------ sorting
    def sort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Any:
        """(values, indices) sorted along `dim`, as torch.return_types.sort; the values carry the gradient."""
        dim = _checks.canonical_dim("sort", dim, self.data.ndim)
        raw = _named("sort", lambda: torch.sort(self.data, dim=dim, descending=descending, stable=stable))
        return torch.return_types.sort((reduce.Gather.apply(self, raw.indices, dim=dim), _constant(raw.indices)))

    def argsort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
        """The indices that sort the values along `dim`; no gradient."""
        dim = _checks.canonical_dim("argsort", dim, self.data.ndim)
        return _constant(torch.argsort(self.data, dim=dim, descending=descending, stable=stable))

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        """The k largest (or smallest) values along `dim` and their indices, as torch.return_types.topk."""
        dim = _checks.canonical_dim("topk", dim, self.data.ndim)
        raw = _named("topk", lambda: torch.topk(self.data, k, dim, largest, sorted))
        return torch.return_types.topk((reduce.Gather.apply(self, raw.indices, dim=dim), _constant(raw.indices)))

    # ------------------------------------------------------------ logical (bool results, no gradient)
    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Whether every element (over `dim`: an int or a tuple) is non-zero."""
        if dim is None:
            return _constant(torch.all(self.data))
        return _constant(torch.all(self.data, _checks.canonical_dims("all", dim, self.data.ndim), keepdim))

    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Whether some element (over `dim`: an int or a tuple) is non-zero."""
        if dim is None:
            return _constant(torch.any(self.data))
        return _constant(torch.any(self.data, _checks.canonical_dims("any", dim, self.data.ndim), keepdim))


def _reduced_dims(name: str, dim: Any, ndim: int, one_at_a_time: bool = False) -> tuple[int, ...]:
    """The dims a reduction runs over: None or () means all of them (as in torch); a 0-d tensor has none.
    `one_at_a_time`: torch checks each dim's range and repeats in order (norm), see `_checks.canonical_dims`."""
    if dim is None:
        return tuple(range(ndim))
    dims = _checks.canonical_dims(name, dim, ndim, one_at_a_time)
    return dims if dims and ndim else tuple(range(ndim))


def _spread_arguments(name: str, ndim: int, dim: Any, unbiased: Any, correction: Any) -> tuple[Any, Any]:
    """var/std's (dims, correction): dims None for all dims (dim None or ()), correction from either spelling."""
    if isinstance(dim, bool):  # x.var(False): torch's overload var(unbiased)
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}: pass either unbiased or correction, not both (unbiased=False is correction=0)")
    if correction is None:
        correction = 1 if unbiased is None else int(unbiased)
    dims = None if dim is None else _checks.canonical_dims(name, dim, ndim, one_at_a_time=True)
    return dims or None, correction
