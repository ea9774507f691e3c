"""`ShapeMethods`: Tensor's movement and indexing methods (reshape, permute, repeat, flip, split, gather, scatter,
...); `Tensor` inherits it.

Each is a primitive from `ops.movement` / `ops.index` or a composition of them: split, chunk and unbind are
slices (`GetItem`), tril and triu a `Where` selection (so an inf in the part they zero reaches nothing). Every dim
goes through `_checks.canonical_dim(s)`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from . import _checks
from ._tensor_methods import _normalize_index, _operand, _raw, _shape
from .ops import index as index_ops
from .ops import movement, reduce
from .ops.where import Where

if TYPE_CHECKING:
    from ._tensor import Tensor


class ShapeMethods:
    """Movement and indexing methods of `Tensor`; `self.data` is the raw torch.Tensor."""

    __slots__ = ()
    data: torch.Tensor

    # ------------------------------------------------------------ indexing
    def __getitem__(self, index: Any) -> Tensor:
        return movement.GetItem.apply(self, index=_normalize_index(index))

    def gather(self, dim: int, index: Any, *, sparse_grad: bool = False) -> Tensor:
        """out[i][j] = self[index[i][j]][j] (dim 0; likewise for any dim); index: an int64 tensor."""
        if sparse_grad:
            raise NotImplementedError("gather: sparse_grad=True (a sparse gradient) is not supported; drop it")
        return reduce.Gather.apply(self, _raw(index), dim=_checks.canonical_dim("gather", dim, self.data.ndim))

    def scatter(self, dim: int, index: Any, src: Any) -> Tensor:
        """A copy of self with `src` (a tensor read in index's shape, or a number) written at `index` along dim."""
        dim = _checks.canonical_dim("scatter", dim, self.data.ndim)
        return index_ops.Scatter.apply(self, _raw(index), _operand(src, "scatter"), dim=dim)

    def index_select(self, dim: int, index: Any) -> Tensor:
        """The slices at `index` (a 1-D int tensor, repeats allowed) along dim."""
        dim = _checks.canonical_dim("index_select", dim, self.data.ndim)
        return index_ops.IndexSelect.apply(self, _raw(index), dim=dim)

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two dims (on and below `diagonal`); zeros above."""
        return self._triangle("tril", diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two dims (on and above `diagonal`); zeros below."""
        return self._triangle("triu", diagonal)

    def _triangle(self, name: str, diagonal: int) -> Tensor:
        raw = self.data
        if raw.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions, got shape {tuple(raw.shape)}")
        keep = getattr(torch.ones(raw.shape[-2:], dtype=torch.bool, device=raw.device), name)(diagonal)
        return Where.apply(keep, self, raw.new_zeros(()))

    # ------------------------------------------------------------ views and copies
    def reshape(self, *shape: Any) -> Tensor:
        """The same values in a new shape (one dim may be -1)."""
        return movement.Reshape.apply(self, shape=_shape(shape))

    view = reshape

    def view_as(self, other: Any) -> Tensor:
        return self.reshape(other.shape)

    def reshape_as(self, other: Any) -> Tensor:
        return self.reshape(other.shape)

    def clone(self, *, memory_format: torch.memory_format = torch.preserve_format) -> Tensor:
        """A copy that shares no memory with self; the gradient passes unchanged."""
        return movement.Clone.apply(self, memory_format=memory_format)

    def expand(self, *shape: Any) -> Tensor:
        """Broadcast size-1 dims to `shape` (-1 keeps a dim)."""
        return movement.Expand.apply(self, shape=_shape(shape))

    def expand_as(self, other: Any) -> Tensor:
        return self.expand(other.shape)

    def repeat(self, *repeats: Any) -> Tensor:
        """Tile `repeats[i]` times along dim i; extra leading repeats add dims."""
        if not repeats:
            raise TypeError('repeat: repeat() missing 1 required positional arguments: "repeats"')
        repeats = _shape(repeats)
        if len(repeats) < self.data.ndim:
            raise RuntimeError(
                f"repeat: Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor "
                f"(repeats {tuple(repeats)} for shape {tuple(self.data.shape)})"
            )
        return movement.Repeat.apply(self, repeats=tuple(repeats))

    def flip(self, *dims: Any) -> Tensor:
        """Reverse the order of the elements along `dims`."""
        dims = _checks.canonical_dims("flip", _shape(dims), self.data.ndim, one_at_a_time=True)
        return movement.Flip.apply(self, dims=dims)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        """Shift cyclically by `shifts` along `dims` (one shift per dim), or over the flattened tensor (dims None)."""
        if dims is None:
            shift_count = len(shifts) if isinstance(shifts, (tuple, list)) else 1
            if shift_count != 1:
                raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {shift_count}, dims:0")
            return movement.Roll.apply(self, shifts=shifts[0] if isinstance(shifts, (tuple, list)) else shifts)
        shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
        dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        if len(shifts) != len(dims):
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
        dims = tuple(_checks.canonical_dim("roll", d, self.data.ndim) for d in dims)  # repeats roll twice, as torch
        if not self.data.ndim:
            raise IndexError(f"roll: Dimension specified as {dims[0]} but tensor has no dimensions")
        return movement.Roll.apply(self, shifts=shifts, dims=dims)

    # ------------------------------------------------------------ dims
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

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped (a batch of matrices transposed)."""
        if self.data.ndim < 2:
            raise RuntimeError(
                f"mT: tensor.mT is only supported on matrices or batches of matrices. Got {self.data.ndim}-D tensor."
            )
        return self.transpose(-2, -1)

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

    def unflatten(self, dim: int, sizes: Any) -> Tensor:
        """Split dim `dim` into `sizes` (one of them may be -1)."""
        shape = self.data.shape
        dim, sizes = _checks.canonical_dim("unflatten", dim, len(shape)), tuple(sizes)
        if not shape:
            raise RuntimeError(f"unflatten: Dimension specified as {dim} but tensor has no dimensions")
        known = math.prod(size for size in sizes if size != -1)
        if sizes.count(-1) > 1 or (-1 in sizes and not known):
            raise RuntimeError(f"unflatten: only one size may be -1, and only beside sizes that are not 0, got {sizes}")
        resolved = tuple(shape[dim] // known if size == -1 else size for size in sizes)  # as -1 is ambiguous at 0
        if math.prod(resolved) != shape[dim]:
            raise RuntimeError(
                f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} ({shape[dim]}) "
                "in the input tensor"
            )
        return movement.Reshape.apply(self, shape=(*shape[:dim], *resolved, *shape[dim + 1 :]))

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

    # ------------------------------------------------------------ pieces (slices of self, each differentiable)
    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces along `dim`: of `split_size` each (the last may be smaller), or of the given section sizes."""
        size = self._pieces_dim("split", dim)
        dim = _checks.canonical_dim("split", dim, self.data.ndim)
        if isinstance(split_size_or_sections, (tuple, list)):
            sections = list(split_size_or_sections)
            if sum(sections) != size or any(s < 0 for s in sections):
                raise RuntimeError(
                    f"split: split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's size at "
                    f"dimension {dim}), but got split_sizes={sections}"
                )
            return self._pieces(dim, sections)
        step = split_size_or_sections
        if step < 0 or (step == 0 and size):
            raise RuntimeError(
                f"split: split_size can only be 0 if dimension size is 0, but got dimension size of {size}"
                if step == 0
                else f"split: split expects split_size be non-negative, but got split_size={step}"
            )
        count = max(-(-size // step), 1) if step else 1
        return self._pieces(dim, [step] * (count - 1) + [size - step * (count - 1)])

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """At most `chunks` pieces of ⌈size / chunks⌉ along `dim` (the last may be smaller)."""
        size = self._pieces_dim("chunk", dim)
        if chunks <= 0:
            raise RuntimeError(f"chunk: chunk expects `chunks` to be greater than 0, got: {chunks}")
        step = -(-size // chunks)
        if not size:
            return self._pieces(_checks.canonical_dim("chunk", dim, self.data.ndim), [0] * chunks)
        return self.split(step, dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        """The slices along `dim`, each without that dim."""
        dim = _checks.canonical_dim("unbind", dim, self.data.ndim)
        if not self.data.ndim:
            raise IndexError(f"unbind: Dimension specified as {dim} but tensor has no dimensions")
        before = (slice(None),) * dim
        return tuple(self[(*before, i)] for i in range(self.data.shape[dim]))

    def _pieces_dim(self, name: str, dim: int) -> int:
        if not self.data.ndim:
            raise RuntimeError(f"{name}: {name} expects at least a 1-dimensional tensor")
        return self.data.shape[_checks.canonical_dim(name, dim, self.data.ndim)]

    def _pieces(self, dim: int, sizes: list[int]) -> tuple[Tensor, ...]:
        before, start, pieces = (slice(None),) * dim, 0, []
        for size in sizes:
            pieces.append(self[(*before, slice(start, start + size))])
            start += size
        return tuple(pieces)
