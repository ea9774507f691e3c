"""Movement and indexing Tensor methods (ops/movement.py, ops/index.py, _tensor_shape.py) against torch.autograd
in float64: repeat, flip, roll, split/chunk/unbind, unflatten, view_as/reshape_as/expand_as, mT, clone, gather,
scatter, index_select, tril/triu."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import check_op, randn, same_as_torch, seeds, shapes


def dims_of(data, shape: tuple[int, ...], label: str = "dim") -> int:
    return data.draw(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1), label=label)


def indices(shape: tuple[int, ...], high: int, seed: int) -> torch.Tensor:
    return torch.randint(0, max(high, 1), shape, generator=torch.Generator().manual_seed(seed))


def cat_pieces(pieces) -> object:
    """The pieces weighted by their position and joined (so each piece's gradient differs)."""
    weighted = [piece * (i + 1) for i, piece in enumerate(pieces)]
    return [w.reshape(-1) for w in weighted]


def joined(pieces):
    flat = cat_pieces(pieces)
    return tn.cat(flat) if isinstance(flat[0], tn.Tensor) else torch.cat(flat)


# ---------------------------------------------------------------- tiling, reversing, rolling


@given(shape=shapes(min_dims=0, max_dims=3), data=st.data(), seed=seeds)
def test_repeat(shape, data, seed):
    extra = data.draw(st.integers(0, 2), label="extra dims")
    repeats = tuple(data.draw(st.lists(st.integers(0, 3), min_size=len(shape) + extra, max_size=len(shape) + extra)))
    check_op(lambda a: a.repeat(repeats), lambda a: a.repeat(repeats), [randn(*shape, seed=seed)])
    if repeats:
        check_op(lambda a: a.repeat(*repeats), lambda a: a.repeat(*repeats), [randn(*shape, seed=seed)])


def test_repeat_with_fewer_repeats_than_dims_raises_as_torch():
    with pytest.raises(RuntimeError, match="repeat: Number of dimensions of repeat dims can not be smaller"):
        tn.Tensor(randn(2, 3)).repeat(2)


@given(shape=shapes(min_dims=0), data=st.data(), seed=seeds)
def test_flip(shape, data, seed):
    ndim = max(len(shape), 1)
    dims = tuple(data.draw(st.lists(st.integers(-ndim, ndim - 1), max_size=ndim, unique_by=lambda d: d % ndim)))
    check_op(lambda a: a.flip(dims), lambda a: a.flip(dims), [randn(*shape, seed=seed)])
    if dims:
        check_op(lambda a: a.flip(*dims), lambda a: a.flip(*dims), [randn(*shape, seed=seed)])


@given(shape=shapes(min_dims=1), data=st.data(), seed=seeds)
def test_roll(shape, data, seed):
    x = randn(*shape, seed=seed)
    shift = data.draw(st.integers(-5, 5), label="shift")
    check_op(lambda a: a.roll(shift), lambda a: a.roll(shift), [x])
    dims = tuple(data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1, max_size=3)))
    shifts = tuple(data.draw(st.lists(st.integers(-5, 5), min_size=len(dims), max_size=len(dims))))
    check_op(lambda a: a.roll(shifts, dims), lambda a: a.roll(shifts, dims), [x])
    check_op(lambda a: a.roll(shift, dims[0]), lambda a: a.roll(shift, dims[0]), [x])


def test_roll_with_misaligned_shifts_raises_as_torch():
    with pytest.raises(RuntimeError, match=r"roll: shifts and dimensions must align. shifts: 2, dims:0"):
        tn.Tensor(randn(4)).roll((1, 2))
    with pytest.raises(RuntimeError, match=r"roll: shifts and dimensions must align. shifts: 2, dims:1"):
        tn.Tensor(randn(4)).roll((1, 2), 0)


# ---------------------------------------------------------------- pieces


@given(shape=shapes(min_dims=1, min_side=0, max_side=6), data=st.data(), seed=seeds)
def test_split_by_size_and_by_sections(shape, data, seed):
    dim = dims_of(data, shape)
    size = shape[dim]
    step = data.draw(st.integers(1 if size else 0, size + 1), label="split_size")
    x = randn(*shape, seed=seed)
    check_op(lambda a: joined(a.split(step, dim)), lambda a: joined(a.split(step, dim)), [x])
    cuts = sorted(data.draw(st.lists(st.integers(0, size), max_size=3), label="cuts"))
    sections = [b - a for a, b in zip([0, *cuts], [*cuts, size])]
    check_op(lambda a: joined(a.split(sections, dim)), lambda a: joined(a.split(sections, dim)), [x])
    assert len(tn.Tensor(x).split(step, dim)) == len(x.split(step, dim))


@given(shape=shapes(min_dims=1, min_side=0, max_side=7), data=st.data(), seed=seeds)
def test_chunk(shape, data, seed):
    dim = dims_of(data, shape)
    chunks = data.draw(st.integers(1, 5), label="chunks")
    x = randn(*shape, seed=seed)
    check_op(lambda a: joined(a.chunk(chunks, dim)), lambda a: joined(a.chunk(chunks, dim)), [x])
    assert [p.shape for p in tn.Tensor(x).chunk(chunks, dim)] == [p.shape for p in x.chunk(chunks, dim)]


@given(shape=shapes(min_dims=1), data=st.data(), seed=seeds)
def test_unbind(shape, data, seed):
    dim = dims_of(data, shape)
    check_op(lambda a: joined(a.unbind(dim)), lambda a: joined(a.unbind(dim)), [randn(*shape, seed=seed)])


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.split(0),
        lambda t: t.split(-1),
        lambda t: t.split([2, 2]),
        lambda t: t.chunk(0),
        lambda t: t[0].split(1),
        lambda t: t[0].chunk(1),
        lambda t: t[0].unbind(),
        lambda t: t.unflatten(0, (4, 2)),
        lambda t: t.mT,
        lambda t: t.tril(),
    ],
    ids=[
        "split 0",
        "split -1",
        "bad sections",
        "chunk 0",
        "split 0-d",
        "chunk 0-d",
        "unbind 0-d",
        "unflatten",
        "mT",
        "tril",
    ],
)
def test_bad_pieces_and_views_raise_as_torch(call):
    x = randn(6)
    with pytest.raises(Exception) as expected:
        call(x)
    with pytest.raises(type(expected.value)):
        call(tn.Tensor(x))


# ---------------------------------------------------------------- views and copies


@given(shape=shapes(min_dims=1, max_dims=3), data=st.data(), seed=seeds)
def test_unflatten(shape, data, seed):
    dim = dims_of(data, shape)
    size = shape[dim]
    first = data.draw(st.sampled_from([d for d in range(1, size + 1) if size % d == 0]), label="first")
    x = randn(*shape, seed=seed)
    for sizes in [(first, size // first), (first, -1), (-1, 1)]:
        check_op(lambda a: a.unflatten(dim, sizes), lambda a: a.unflatten(dim, sizes), [x])  # noqa: B023


@pytest.mark.parametrize(
    ("shape", "sizes"), [((0, 3), (1, -1)), ((2, 0), (-1, 3)), ((2, 3), (2, -1)), ((2, 6), (-1, -1)), ((2, 0), (0, -1))]
)
def test_unflatten_of_empty_tensors_and_bad_sizes_as_torch(shape, sizes):
    same_as_torch("unflatten", lambda a: a.unflatten(1, sizes), None, [randn(*shape)])


def test_as_methods_take_the_other_tensors_shape_and_type():
    x, other = randn(2, 3), randn(3, 2, seed=1)
    check_op(lambda a, b: a.view_as(b) * b, lambda a, b: a.view_as(b) * b, [x, other])
    check_op(lambda a, b: a.reshape_as(b) + b, lambda a, b: a.reshape_as(b) + b, [x, other])
    check_op(lambda a, b: a.expand_as(b) * b, lambda a, b: a.expand_as(b) * b, [randn(1, 3), x])
    check_op(lambda a, b: a.type_as(b) * b, lambda a, b: a.type_as(b) * b, [randn(2, 3).float(), x], atol=1e-6)


@given(shape=shapes(min_dims=2, max_dims=4), seed=seeds)
def test_mT_swaps_the_last_two_dims(shape, seed):
    check_op(lambda a: a.mT, lambda a: a.mT, [randn(*shape, seed=seed)])


def test_clone_copies_and_passes_the_gradient():
    check_op(lambda a: a.clone() * a, lambda a: a.clone() * a, [randn(2, 3)])
    x = tn.Tensor(randn(2, 3), requires_grad=True)
    copy = x.clone()
    assert copy.data.data_ptr() != x.data.data_ptr() and torch.equal(copy.data, x.data) and not copy.is_leaf
    channels_last = tn.Tensor(randn(1, 2, 3, 3)).clone(memory_format=torch.channels_last)
    assert channels_last.data.is_contiguous(memory_format=torch.channels_last)


# ---------------------------------------------------------------- gather, scatter, index_select


@given(shape=shapes(min_dims=1, max_dims=3), data=st.data(), seed=seeds)
def test_gather_accumulates_repeated_indices(shape, data, seed):
    dim = dims_of(data, shape)
    index_shape = tuple(data.draw(st.integers(1, s)) if d != dim % len(shape) else 5 for d, s in enumerate(shape))
    index = indices(index_shape, shape[dim], seed)
    check_op(lambda a: a.gather(dim, index), lambda a: a.gather(dim, index), [randn(*shape, seed=seed)])


@given(shape=shapes(min_dims=1, max_dims=3), data=st.data(), seed=seeds)
def test_scatter_a_tensor_or_a_number(shape, data, seed):
    """Unique indices along dim (torch leaves which duplicate wins undefined)."""
    dim = dims_of(data, shape) % len(shape)
    index_shape = tuple(data.draw(st.integers(1, s), label=f"index size {d}") for d, s in enumerate(shape))
    permutations = torch.rand((*index_shape[:dim], shape[dim], *index_shape[dim + 1 :])).argsort(dim)
    index = permutations.narrow(dim, 0, index_shape[dim])
    x, src = randn(*shape, seed=seed), randn(*index_shape, seed=seed + 1)
    check_op(lambda a, s: a.scatter(dim, index, s), lambda a, s: a.scatter(dim, index, s), [x, src])
    check_op(lambda a: a.scatter(dim, index, 2.5), lambda a: a.scatter(dim, index, 2.5), [x])


def test_scatter_from_a_larger_src_gives_zero_gradient_where_src_is_not_read():
    """torch's backward raises here (its src gradient has index's shape); the engine pads it with zeros."""
    x, src, index = randn(3, 3), randn(3, 3, seed=1), torch.tensor([[0, 1], [2, 0]])
    engine_x, engine_src = tn.Tensor(x, requires_grad=True), tn.Tensor(src, requires_grad=True)
    out = engine_x.scatter(0, index, engine_src)
    torch.testing.assert_close(out.data, x.scatter(0, index, src))
    out.backward(torch.ones(3, 3, dtype=torch.float64))
    expected = torch.zeros(3, 3, dtype=torch.float64)
    expected[:2, :2] = 1
    assert torch.equal(engine_src.gradient, expected)


@given(shape=shapes(min_dims=1, max_dims=3), data=st.data(), seed=seeds)
def test_index_select_accumulates_repeated_indices(shape, data, seed):
    dim = dims_of(data, shape)
    index = indices((data.draw(st.integers(0, 6), label="count"),), shape[dim], seed)
    x = randn(*shape, seed=seed)
    check_op(lambda a: a.index_select(dim, index), lambda a: a.index_select(dim, index), [x])
    check_op(lambda a: a.index_select(dim, index[:1]), lambda a: a.index_select(dim, index[:1]), [x])


@pytest.mark.parametrize("name", ["tril", "triu"])
@given(shape=shapes(min_dims=2, max_dims=4), diagonal=st.integers(-3, 3), seed=seeds)
def test_tril_triu(name, shape, diagonal, seed):
    check_op(lambda a: getattr(a, name)(diagonal), lambda a: getattr(a, name)(diagonal), [randn(*shape, seed=seed)])


def test_tril_ignores_inf_in_the_part_it_zeroes():
    x = torch.tensor([[1.0, math.inf], [2.0, 3.0]], dtype=torch.float64)
    check_op(lambda a: a.tril() * 2, lambda a: a.tril() * 2, [x])
