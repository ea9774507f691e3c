"""Shared test helpers: run an op in the engine and in torch.autograd (float64) and compare; shape strategies."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
import torch
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import tinygrad_n2n as tn

ATOL = 1e-10


def check_op(
    engine_fn: Callable,
    torch_fn: Callable | None,
    inputs: Sequence[torch.Tensor],
    atol: float = ATOL,
    grad_inputs: Sequence[bool] | None = None,
) -> None:
    """Compare forward values and input gradients of `engine_fn` (engine) and `torch_fn` (torch.autograd).

    NaN must appear exactly where torch has NaN (e.g. a mean over nothing).

    inputs: raw float64 tensors; each becomes a leaf requiring a gradient on both sides (unless
    grad_inputs says otherwise). The same random upstream gradient is used on both sides.
    """
    torch_fn = torch_fn or engine_fn
    grad_inputs = grad_inputs or [x.is_floating_point() for x in inputs]
    ours = [tn.Tensor(x.clone(), requires_grad=g) for x, g in zip(inputs, grad_inputs)]
    theirs = [x.clone().requires_grad_(g) for x, g in zip(inputs, grad_inputs)]
    out = engine_fn(*ours)
    ref = torch_fn(*theirs)
    assert isinstance(out, tn.Tensor), f"engine returned {type(out)}"
    assert out.shape == ref.shape, f"forward shape {tuple(out.shape)} != torch {tuple(ref.shape)}"
    assert out.dtype == ref.dtype, f"forward dtype {out.dtype} != torch {ref.dtype}"
    assert out.requires_grad == ref.requires_grad, f"requires_grad {out.requires_grad} != torch {ref.requires_grad}"
    torch.testing.assert_close(out.data, ref.detach(), atol=atol, rtol=0, equal_nan=True)
    if not ref.requires_grad:
        return
    seed = torch.randn(ref.shape, dtype=ref.dtype, generator=torch.Generator().manual_seed(0))
    out.backward(seed)
    ref.backward(seed)
    for i, (mine, reference) in enumerate(zip(ours, theirs)):
        if not reference.requires_grad:
            continue
        expected = reference.grad if reference.grad is not None else torch.zeros_like(reference)
        got = mine.gradient if mine.gradient is not None else torch.zeros_like(mine.data)
        assert got.shape == mine.shape, f"input {i}: gradient shape {tuple(got.shape)} != input {tuple(mine.shape)}"
        torch.testing.assert_close(
            got, expected, atol=atol, rtol=0, equal_nan=True, msg=lambda m, i=i: f"input {i}: {m}"
        )


def same_as_torch(op: str, engine_fn: Callable, torch_fn: Callable | None, inputs: Sequence[torch.Tensor]) -> None:
    """torch raises -> the engine raises the same exception type, its message starting with `op: ` (an
    out-of-range dim: torch's exact message after it); otherwise `check_op` (values and gradients match)."""
    torch_fn = torch_fn or engine_fn
    try:
        torch_fn(*[x.clone().requires_grad_(x.is_floating_point()) for x in inputs])
    except Exception as expected:  # whatever torch raises is the spec
        with pytest.raises(Exception) as info:
            engine_fn(*[tn.Tensor(x.clone(), requires_grad=x.is_floating_point()) for x in inputs])
        assert type(info.value) is type(expected), f"engine raised {info.value!r}, torch {expected!r}"
        assert str(info.value).startswith(f"{op}: "), f"the message does not name {op}: {info.value}"
        if "Dimension out of range" in str(expected):
            assert str(info.value) == f"{op}: {expected}"
        return
    check_op(engine_fn, torch_fn, inputs)


# ---------------------------------------------------------------- data


def randn(*shape: int, seed: int = 0, scale: float = 1.0) -> torch.Tensor:
    """Standard-normal float64 values, reproducible from `seed`."""
    return scale * torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def positive(*shape: int, seed: int = 0, low: float = 0.5) -> torch.Tensor:
    """Float64 values in [low, low + 2), away from 0 (for log, sqrt, pow bases, divisors)."""
    return low + 2 * torch.rand(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def away_from_zero(*shape: int, seed: int = 0) -> torch.Tensor:
    """Float64 values with |v| in [0.5, 2.5) and random signs (divisors, kinks of abs/relu)."""
    sign = torch.randint(0, 2, shape, generator=torch.Generator().manual_seed(seed + 1)).double() * 2 - 1
    return sign * positive(*shape, seed=seed)


# ---------------------------------------------------------------- hypothesis strategies

seeds = st.integers(0, 2**16)


def shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 4) -> st.SearchStrategy:
    """Tensor shapes as tuples of ints."""
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


def broadcastable_pairs(max_dims: int = 4, max_side: int = 4) -> st.SearchStrategy:
    """Pairs of shapes that broadcast together (including size-1 and missing leading dims)."""
    return mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=max_dims, max_side=max_side).map(
        lambda b: b.input_shapes
    )


@st.composite
def shape_and_dims(draw, min_dims: int = 1, max_dims: int = 4) -> tuple[tuple[int, ...], int | tuple[int, ...] | None]:
    """A shape and the dims to reduce: None, one (maybe negative) int, or a tuple of distinct dims."""
    shape = draw(shapes(min_dims=min_dims, max_dims=max_dims))
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"])) if ndim else "none"
    if kind == "none":
        return shape, None
    if kind == "int":
        return shape, draw(st.integers(-ndim, ndim - 1))
    dims = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return shape, tuple(d - ndim if draw(st.booleans()) else d for d in dims)


def _dim_index(draw, size: int):
    if draw(st.booleans()):
        return draw(st.integers(-size, size - 1))
    start = draw(st.none() | st.integers(-size - 1, size + 1))
    stop = draw(st.none() | st.integers(-size - 1, size + 1))
    return slice(start, stop, draw(st.none() | st.integers(1, 3)))


@st.composite
def basic_indices(draw, shape: tuple[int, ...]) -> tuple:
    """An index of ints, positive-step slices and None, maybe with an Ellipsis, valid for `shape`."""
    ndim = len(shape)
    leading = draw(st.integers(0, ndim))
    trailing = draw(st.integers(0, ndim - leading)) if draw(st.booleans()) else None
    index: list = []
    for size in shape[:leading]:
        index += [None] * draw(st.integers(0, 1)) + [_dim_index(draw, size)]
    if trailing is not None:  # an Ellipsis, then indices for the last `trailing` dims
        index.append(Ellipsis)
        for size in shape[ndim - trailing :]:
            index += [_dim_index(draw, size)] + [None] * draw(st.integers(0, 1))
    return tuple(index)
