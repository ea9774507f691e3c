"""Tensor factories under `tinygrad_n2n` (tn.zeros, tn.randn, tn.arange, tn.zeros_like, ...), with torch's
signatures and defaults: each calls the torch factory of its name and returns an engine leaf.

`dtype`, `device`, `generator` and torch's other keywords (`layout`, `pin_memory`, `memory_format`, ...) go
to torch; `requires_grad` is the engine's own (torch's would ask torch.autograd for a gradient). The `*_like`
factories take an engine or a torch tensor. Random draws are torch's, so `tn.manual_seed` (torch.manual_seed)
makes them reproducible.
"""

from __future__ import annotations

from typing import Any

import torch

from ._tensor import Tensor

Size = Any  # ints as separate arguments, or one tuple, list or torch.Size


def _leaf(raw: torch.Tensor, requires_grad: bool) -> Tensor:
    return Tensor(raw, requires_grad=requires_grad)


def _raw(input: Any) -> torch.Tensor:
    return input.data if isinstance(input, Tensor) else input


def manual_seed(seed: int) -> torch.Generator:
    """Seed the random number generators that every random draw of the engine uses (torch's)."""
    return torch.manual_seed(seed)


# ---------------------------------------------------------------- from a size


def zeros(*size: Size, dtype: torch.dtype | None = None, device: Any = None, requires_grad: bool = False, **options):
    """Zeros of `size`, e.g. zeros(2, 3) or zeros((2, 3))."""
    return _leaf(torch.zeros(*size, dtype=dtype, device=device, **options), requires_grad)


def ones(*size: Size, dtype: torch.dtype | None = None, device: Any = None, requires_grad: bool = False, **options):
    """Ones of `size`."""
    return _leaf(torch.ones(*size, dtype=dtype, device=device, **options), requires_grad)


def empty(*size: Size, dtype: torch.dtype | None = None, device: Any = None, requires_grad: bool = False, **options):
    """Uninitialised values of `size` (whatever the memory held)."""
    return _leaf(torch.empty(*size, dtype=dtype, device=device, **options), requires_grad)


def full(
    size: Size,
    fill_value: Any,
    *,
    dtype: torch.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """`fill_value` everywhere in `size`; the dtype follows fill_value (bool, int64 or the default float)."""
    return _leaf(torch.full(size, fill_value, dtype=dtype, device=device, **options), requires_grad)


def eye(
    n: int,
    m: int | None = None,
    *,
    dtype: torch.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """The (n, m) identity matrix (m = n by default)."""
    return _leaf(torch.eye(n, n if m is None else m, dtype=dtype, device=device, **options), requires_grad)


def randn(
    *size: Size,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """Draws from the standard normal distribution, of `size`."""
    return _leaf(torch.randn(*size, generator=generator, dtype=dtype, device=device, **options), requires_grad)


def rand(
    *size: Size,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """Draws from the uniform distribution on [0, 1), of `size`."""
    return _leaf(torch.rand(*size, generator=generator, dtype=dtype, device=device, **options), requires_grad)


def randint(
    *bounds_and_size: Any,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """Integers drawn uniformly from [low, high): randint(high, size) or randint(low, high, size); int64."""
    raw = torch.randint(*bounds_and_size, generator=generator, dtype=dtype, device=device, **options)
    return _leaf(raw, requires_grad)


# ---------------------------------------------------------------- ranges


def arange(
    *start_end_step: Any,
    dtype: torch.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """arange(end), arange(start, end) or arange(start, end, step): [start, end) by step; int64 when all are ints."""
    return _leaf(torch.arange(*start_end_step, dtype=dtype, device=device, **options), requires_grad)


def linspace(
    start: Any,
    end: Any,
    steps: int,
    *,
    dtype: torch.dtype | None = None,
    device: Any = None,
    requires_grad: bool = False,
    **options: Any,
) -> Tensor:
    """`steps` evenly spaced values from start to end, both included."""
    return _leaf(torch.linspace(start, end, steps, dtype=dtype, device=device, **options), requires_grad)


# ---------------------------------------------------------------- like another tensor (its shape, dtype, device)


def zeros_like(input: Any, *, dtype: torch.dtype | None = None, requires_grad: bool = False, **options) -> Tensor:
    return _leaf(torch.zeros_like(_raw(input), dtype=dtype, **options), requires_grad)


def ones_like(input: Any, *, dtype: torch.dtype | None = None, requires_grad: bool = False, **options) -> Tensor:
    return _leaf(torch.ones_like(_raw(input), dtype=dtype, **options), requires_grad)


def empty_like(input: Any, *, dtype: torch.dtype | None = None, requires_grad: bool = False, **options) -> Tensor:
    return _leaf(torch.empty_like(_raw(input), dtype=dtype, **options), requires_grad)


def full_like(
    input: Any, fill_value: Any, *, dtype: torch.dtype | None = None, requires_grad: bool = False, **options: Any
) -> Tensor:
    return _leaf(torch.full_like(_raw(input), fill_value, dtype=dtype, **options), requires_grad)


def randn_like(input: Any, *, dtype: torch.dtype | None = None, requires_grad: bool = False, **options) -> Tensor:
    """Standard normal draws of input's shape (`generator=` is accepted, as in torch)."""
    return _leaf(torch.randn_like(_raw(input), dtype=dtype, **options), requires_grad)


def rand_like(input: Any, *, dtype: torch.dtype | None = None, requires_grad: bool = False, **options) -> Tensor:
    """Uniform draws on [0, 1) of input's shape (`generator=` is accepted, as in torch)."""
    return _leaf(torch.rand_like(_raw(input), dtype=dtype, **options), requires_grad)
