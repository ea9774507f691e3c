"""torch's functions of tensors under `tinygrad_n2n` (tn.cat, tn.where, tn.einsum, tn.sigmoid, tn.meshgrid, ...),
with torch's signatures: each calls the Tensor method or primitive of its name, so it records like one.

Inputs may be engine tensors, torch tensors or NumPy arrays (made constant engine tensors) and, where torch
takes them, numbers.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from ._checks import as_tensor
from ._tensor import Tensor
from .ops.linalg import Einsum
from .ops.movement import Cat, Stack
from .ops.where import Where


def _operand(value: Any) -> Any:
    """Numbers stay numbers; anything else becomes an engine tensor."""
    return value if isinstance(value, (Tensor, int, float, bool)) else Tensor(value)


# ---------------------------------------------------------------- joining and selecting


def cat(tensors: list[Any], dim: int = 0) -> Tensor:
    """Concatenate along `dim`; tensors agree in every other dim."""
    return Cat.apply(*[as_tensor(t) for t in tensors], dim=dim)


def stack(tensors: list[Any], dim: int = 0) -> Tensor:
    """Stack equally-shaped tensors along a new dim `dim`."""
    return Stack.apply(*[as_tensor(t) for t in tensors], dim=dim)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """`input` where the boolean `condition` holds, else `other` (all three broadcast; numbers allowed); the
    branch not taken is never read. where(condition) alone gives the indices of the True elements per dim."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    if input is None and other is None:
        return tuple(Tensor._make(index, False) for index in torch.where(condition))
    return Where.apply(condition, _operand(input), _operand(other))


def split(tensor: Any, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces along `dim` of `split_size` each (the last may be smaller), or of the given section sizes."""
    return as_tensor(tensor).split(split_size_or_sections, dim)


def chunk(input: Any, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most `chunks` pieces of ⌈size / chunks⌉ along `dim`."""
    return as_tensor(input).chunk(chunks, dim)


def flatten(input: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one."""
    return as_tensor(input).flatten(start_dim, end_dim)


def tril(input: Any, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (on and below `diagonal`); zeros above."""
    return as_tensor(input).tril(diagonal)


def triu(input: Any, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (on and above `diagonal`); zeros below."""
    return as_tensor(input).triu(diagonal)


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids of 1-D tensors x₁ (n₁,), .., x_k (n_k,): k tensors of shape (n₁, .., n_k) ('ij'), or
    with the first two dims swapped ('xy'); each grid is its input broadcast, so gradients sum back to it.

    Without `indexing`, 'ij' with torch's warning.
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be one of 'xy' or 'ij', got {indexing!r}")
    vectors = [as_tensor(t) for t in tensors]
    for position, vector in enumerate(vectors):
        if vector.ndim > 1:
            raise RuntimeError(
                f"meshgrid: Expected 0D or 1D tensor in the tensor list but got shape {tuple(vector.shape)} at "
                f"position {position}"
            )
    order = list(range(len(vectors)))  # order[d]: the input whose values run along output dim d
    if indexing == "xy" and len(vectors) > 1:
        order[0], order[1] = 1, 0
    shape = [vectors[k].numel() for k in order]
    grids = []
    for k, vector in enumerate(vectors):
        along = [1] * len(vectors)
        along[order.index(k)] = shape[order.index(k)]
        grids.append(vector.reshape(along).expand(shape))
    return tuple(grids)


# ---------------------------------------------------------------- products


def matmul(input: Any, other: Any) -> Tensor:
    """Matrix product with torch.matmul's broadcasting (1-D, 2-D and batched operands)."""
    return as_tensor(input) @ as_tensor(other)


def bmm(input: Any, mat2: Any) -> Tensor:
    """Batched matrix product of two 3-D tensors: (b, n, m) @ (b, m, p) -> (b, n, p)."""
    return as_tensor(input).bmm(as_tensor(mat2))


def outer(input: Any, vec2: Any) -> Tensor:
    """The outer product of two 1-D tensors: (n,) and (m,) -> (n, m)."""
    input, vec2 = as_tensor(input), as_tensor(vec2)
    for name, vector in (("self", input), ("vec2", vec2)):
        if vector.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {vector.ndim}-D")
    return input.unsqueeze(1) * vec2.unsqueeze(0)


def einsum(*args: Any) -> Tensor:
    """Sums of products over the subscripts of an equation, as torch.einsum: einsum('ij,jk->ik', a, b) ('bii->bi',
    '...ij,...jk', implicit outputs too), the operands as one list, or torch's sublist format
    einsum(a, [0, 1], b, [1, 2], [0, 2])."""
    if not args:
        raise ValueError("einsum(): must specify the equation string and at least one operand")
    if isinstance(args[0], str):
        equation, operands = args[0], args[1:]
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = tuple(operands[0])
    else:
        equation, operands = _sublist_equation(args)
    return Einsum.apply(*[as_tensor(x) for x in operands], equation=equation)


def _sublist_equation(args: tuple) -> tuple[str, tuple]:
    """torch's sublist format (operand, subscripts, operand, subscripts, ..., [output subscripts]) as an equation
    string and the operands; subscripts 0-25 are A-Z, 26-51 a-z, Ellipsis is '...'."""

    def letters(subscripts: Any) -> str:
        return "".join(
            "..." if s is Ellipsis else chr(ord("A") + s if s < 26 else ord("a") + s - 26) for s in subscripts
        )

    equation = ",".join(letters(subscripts) for subscripts in args[1::2])
    if len(args) % 2:
        return equation + "->" + letters(args[-1]), args[:-1:2]
    return equation, args[::2]


# ---------------------------------------------------------------- elementwise


def exp(input: Any) -> Tensor:
    return as_tensor(input).exp()


def log(input: Any) -> Tensor:
    return as_tensor(input).log()


def sqrt(input: Any) -> Tensor:
    return as_tensor(input).sqrt()


def sigmoid(input: Any) -> Tensor:
    return as_tensor(input).sigmoid()


def tanh(input: Any) -> Tensor:
    return as_tensor(input).tanh()


def clamp(input: Any, min: Any = None, max: Any = None) -> Tensor:
    """Clip into [min, max] (numbers or tensors; either may be None)."""
    return as_tensor(input).clamp(min, max)


def maximum(input: Any, other: Any) -> Tensor:
    """Elementwise max; ties split the gradient evenly, as in torch."""
    return as_tensor(input).maximum(as_tensor(other))


def minimum(input: Any, other: Any) -> Tensor:
    """Elementwise min; ties split the gradient evenly, as in torch."""
    return as_tensor(input).minimum(as_tensor(other))


def softmax(input: Any, dim: int, dtype: torch.dtype | None = None) -> Tensor:
    """Softmax along `dim` (computed in `dtype` when given)."""
    return as_tensor(input).softmax(dim, dtype)
