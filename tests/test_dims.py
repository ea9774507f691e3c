"""Dims against torch: for every op that takes dims and every dim in a range around the valid one, the engine
raises iff torch raises (same exception type; an out-of-range dim gets torch's exact message after the op's
name), and otherwise gives torch's values and gradients in float64.

The dims are checked in one place, `_checks.canonical_dim` / `canonical_dims`.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import check_op, randn, same_as_torch, seeds, shapes
from tinygrad_n2n import _checks
from tinygrad_n2n import functional as F

# the op tables run one hypothesis test per op: half the profile's examples each keeps the file fast
PER_OP = settings(max_examples=max(10, settings().max_examples // 2))


def dims_around(ndim: int, extra: int = 0) -> st.SearchStrategy:
    """A dim from two below the valid range to two above it (the range is [-n, n-1], n = max(ndim + extra, 1))."""
    n = max(ndim + extra, 1)
    return st.integers(-n - 2, n + 1)


def dim_lists(ndim: int) -> st.SearchStrategy:
    """0 to ndim + 1 dims around the valid range, repeats allowed, as a tuple or a list."""
    return st.lists(dims_around(ndim), max_size=ndim + 1).flatmap(lambda d: st.sampled_from([tuple(d), d]))


ONE_DIM = {  # op name -> (engine, torch) taking (x, dim); dims in range [-ndim, ndim - 1]
    "sum": (lambda x, d: x.sum(d), None),
    "mean": (lambda x, d: x.mean(d, keepdim=True), None),
    "max": (lambda x, d: x.max(d).values, None),
    "min": (lambda x, d: x.min(d, keepdim=True).values, None),
    "squeeze": (lambda x, d: x.squeeze(d), None),
    "softmax": (lambda x, d: F.softmax(x, d), lambda x, d: torch.softmax(x, d)),
    "log_softmax": (lambda x, d: F.log_softmax(x, d), lambda x, d: torch.log_softmax(x, d)),
    "cat": (lambda x, d: tn.cat([x, 2 * x], d), lambda x, d: torch.cat([x, 2 * x], d)),
    "prod": (lambda x, d: x.prod(d), None),
    "amax": (lambda x, d: x.amax(d), None),
    "amin": (lambda x, d: x.amin(d, keepdim=True), None),
    "argmax": (lambda x, d: x.argmax(d), None),
    "argmin": (lambda x, d: x.argmin(d, keepdim=True), None),
    "var": (lambda x, d: x.var(d), None),
    "std": (lambda x, d: x.std(d, correction=0), None),
    "norm": (lambda x, d: x.norm(2, d), None),
    "logsumexp": (lambda x, d: x.logsumexp(d), None),
    "cumsum": (lambda x, d: x.cumsum(d), None),
    "sort": (lambda x, d: x.sort(d).values, None),
    "argsort": (lambda x, d: x.argsort(d), None),
    "topk": (lambda x, d: x.topk(1, d).values, None),
    "flip": (lambda x, d: x.flip(d), None),
    "roll": (lambda x, d: x.roll(1, d), None),
    "gather": (lambda x, d: x.gather(d, torch.zeros(x.shape, dtype=torch.int64)), None),
    "scatter": (lambda x, d: x.scatter(d, torch.zeros(x.shape, dtype=torch.int64), 2.0), None),
    "index_select": (lambda x, d: x.index_select(d, torch.tensor([0, 0])), None),
    "split": (lambda x, d: x.split(1, d)[0], None),
    "chunk": (lambda x, d: x.chunk(2, d)[-1], None),
    "unbind": (lambda x, d: x.unbind(d)[0], None),
    "unflatten": (lambda x, d: x.unflatten(d, (1, -1)), None),
    "all": (lambda x, d: x.all(d), None),
    "any": (lambda x, d: x.any(d, keepdim=True), None),
}
NEW_DIM = {  # ops whose dim may also be ndim (a new dim): range [-ndim - 1, ndim]
    "unsqueeze": (lambda x, d: x.unsqueeze(d), None),
    "stack": (lambda x, d: tn.stack([x, 2 * x], d), lambda x, d: torch.stack([x, 2 * x], d)),
}
TWO_DIMS = {  # (x, d0, d1)
    "transpose": (lambda x, a, b: x.transpose(a, b), None),
    "flatten": (lambda x, a, b: x.flatten(a, b), None),
}
DIM_LISTS = {  # (x, dims): a tuple or list of dims
    "sum": (lambda x, d: x.sum(d), None),
    "mean": (lambda x, d: x.mean(d), None),
    "squeeze": (lambda x, d: x.squeeze(d), None),
    "permute": (lambda x, d: x.permute(d), None),
    "amax": (lambda x, d: x.amax(d), None),
    "amin": (lambda x, d: x.amin(d, keepdim=True), None),
    # torch's var/std gradient over dim=() is inf (it divides by n - 1 with n = 1); the engine's is var()'s
    "var": (lambda x, d: x.var(d), lambda x, d: x.var(d or None)),
    "std": (lambda x, d: x.std(d, keepdim=True), lambda x, d: x.std(d or None, keepdim=True)),
    "norm": (lambda x, d: x.norm(1, d), None),
    "logsumexp": (lambda x, d: x.logsumexp(d), None),
    "flip": (lambda x, d: x.flip(d), None),
    "all": (lambda x, d: x.all(d), None),
}


def table_ids(table: dict) -> list[str]:
    return list(table)


@pytest.mark.parametrize("op", table_ids(ONE_DIM))
@PER_OP
@given(shape=shapes(min_dims=0, max_dims=4, max_side=3), data=st.data(), seed=seeds)
def test_one_dim_raises_iff_torch_raises(op, shape, data, seed):
    engine_fn, torch_fn = ONE_DIM[op]
    torch_fn = torch_fn or engine_fn
    dim = data.draw(dims_around(len(shape)), label="dim")
    same_as_torch(op, lambda x: engine_fn(x, dim), lambda x: torch_fn(x, dim), [randn(*shape, seed=seed)])


@pytest.mark.parametrize("op", table_ids(NEW_DIM))
@PER_OP
@given(shape=shapes(min_dims=0, max_dims=4, max_side=3), data=st.data(), seed=seeds)
def test_new_dim_raises_iff_torch_raises(op, shape, data, seed):
    engine_fn, torch_fn = NEW_DIM[op]
    torch_fn = torch_fn or engine_fn
    dim = data.draw(dims_around(len(shape), extra=1), label="dim")
    same_as_torch(op, lambda x: engine_fn(x, dim), lambda x: torch_fn(x, dim), [randn(*shape, seed=seed)])


@pytest.mark.parametrize("op", table_ids(TWO_DIMS))
@PER_OP
@given(shape=shapes(min_dims=0, max_dims=4, max_side=3), data=st.data(), seed=seeds)
def test_two_dims_raise_iff_torch_raises(op, shape, data, seed):
    engine_fn, torch_fn = TWO_DIMS[op]
    torch_fn = torch_fn or engine_fn
    first, second = data.draw(dims_around(len(shape)), label="first"), data.draw(dims_around(len(shape)))
    same_as_torch(
        op, lambda x: engine_fn(x, first, second), lambda x: torch_fn(x, first, second), [randn(*shape, seed=seed)]
    )


@pytest.mark.parametrize("op", table_ids(DIM_LISTS))
@PER_OP
@given(shape=shapes(min_dims=0, max_dims=4, max_side=3), data=st.data(), seed=seeds)
def test_dim_lists_raise_iff_torch_raises(op, shape, data, seed):
    """Out-of-range entries, repeated dims (-1 and ndim - 1 are one dim) and, for permute, the wrong count."""
    engine_fn, torch_fn = DIM_LISTS[op]
    torch_fn = torch_fn or engine_fn
    dims = data.draw(dim_lists(len(shape)), label="dims")
    same_as_torch(op, lambda x: engine_fn(x, dims), lambda x: torch_fn(x, dims), [randn(*shape, seed=seed)])


@given(shape=shapes(min_dims=0, max_dims=3, max_side=3), count=st.integers(0, 5), seed=seeds)
def test_too_many_indices_raise_like_torch(shape, count, seed):
    """x[0, 0, ...] with more ints than dims: torch's IndexError, named by the engine's getitem op."""
    index = (0,) * count
    same_as_torch("get_item", lambda x: x[index], lambda x: x[index], [randn(*shape, seed=seed)])


@pytest.mark.parametrize("ndim", [0, 1, 2, 3])
def test_t_raises_iff_torch_raises(ndim):
    same_as_torch("t", lambda x: x.t(), lambda x: x.t(), [randn(*(2,) * ndim)])


NOT_INTS = {  # each call works on a torch tensor and on an engine tensor
    "sum-bool": lambda x: x.sum(True),
    "sum-float": lambda x: x.sum(1.0),
    "mean-str": lambda x: x.mean("a"),
    "max-bool": lambda x: x.max(True),
    "transpose": lambda x: x.transpose(0, 1.0),
    "flatten": lambda x: x.flatten(True),
    "unsqueeze": lambda x: x.unsqueeze(1.5),
    "squeeze": lambda x: x.squeeze(True),
    "softmax": lambda x: F.softmax(x, 1.0) if isinstance(x, tn.Tensor) else torch.softmax(x, 1.0),
    "cat": lambda x: tn.cat([x, x], True) if isinstance(x, tn.Tensor) else torch.cat([x, x], True),
    "stack": lambda x: tn.stack([x, x], 0.0) if isinstance(x, tn.Tensor) else torch.stack([x, x], 0.0),
}


@pytest.mark.parametrize("call", list(NOT_INTS.values()), ids=list(NOT_INTS))
def test_a_dim_that_is_not_an_int_is_a_type_error_as_in_torch(call):
    with pytest.raises(TypeError):
        call(randn(2, 3))
    with pytest.raises(TypeError, match=r"^\w+: \w+ must be an int, got"):
        call(tn.Tensor(randn(2, 3)))


def test_int_like_dims_are_accepted_as_in_torch():
    """NumPy integers and one-element integer tensors index dims in torch; so they do here."""
    import numpy as np

    x = randn(2, 3)
    for dim in (np.int64(1), torch.tensor(-1)):
        check_op(lambda a, d=dim: a.sum(d), lambda a, d=dim: a.sum(d), [x])
        check_op(lambda a, d=dim: a.transpose(0, d), lambda a, d=dim: a.transpose(0, d), [x])


# the cases the issue names: each used to wrap silently or give a nonsense shape
ISSUE = {
    "sum": (
        lambda x: x.sum(5),
        IndexError,
        "sum: Dimension out of range (expected to be in range of [-2, 1], but got 5)",
    ),
    "mean": (lambda x: x.mean(-3), IndexError, "mean: Dimension out of range (expected to be in range of [-2, 1]"),
    "permute": (lambda x: x.permute(2, 1), IndexError, "permute: Dimension out of range"),
    "flatten": (lambda x: x.flatten(5), IndexError, "flatten: Dimension out of range"),
    "flatten-order": (lambda x: x.flatten(1, 0), RuntimeError, "flatten: invalid args: start_dim cannot come after"),
    "sum-repeated": (lambda x: x.sum((1, -1)), RuntimeError, "sum: dim 1 appears multiple times in the list of dims"),
    "permute-repeated": (lambda x: x.permute(0, 0), RuntimeError, "permute: dim 0 appears multiple times"),
    "permute-count": (lambda x: x.permute(1, 0, 2), RuntimeError, "permute: expected 2 dims, one per dim of the"),
}


@pytest.mark.parametrize("call, kind, message", list(ISSUE.values()), ids=list(ISSUE))
def test_the_dims_the_issue_names_raise_instead_of_wrapping(call, kind, message):
    with pytest.raises(kind) as info:
        call(tn.Tensor(randn(2, 3)))
    assert str(info.value).startswith(message)


def test_zero_dim_tensors_take_dims_minus_one_and_zero_as_in_torch():
    s = randn()
    for op in ("sum", "mean"):
        for dim in (0, -1, (0,), [-1], ()):
            check_op(lambda a, op=op, d=dim: getattr(a, op)(d), lambda a, op=op, d=dim: getattr(a, op)(d), [s])
    check_op(lambda a: a.max(-1).values, lambda a: a.max(-1).values, [s])
    check_op(lambda a: a.transpose(0, -1), lambda a: a.transpose(0, -1), [s])
    check_op(lambda a: a.flatten(-1, 0), lambda a: a.flatten(-1, 0), [s])
    check_op(lambda a: F.softmax(a, -1), lambda a: torch.softmax(a, -1), [s])
    check_op(lambda a: tn.stack([a, a], -1), lambda a: torch.stack([a, a], -1), [s])
    with pytest.raises(RuntimeError, match="sum: dim 0 appears multiple times"):
        tn.Tensor(s).sum((0, -1))


def test_canonical_dim_is_plain_int_work():
    """The shared helper: negative dims count from the end; 0-d tensors act as 1-D; nothing else is accepted."""
    assert [_checks.canonical_dim("op", d, 3) for d in (-3, -1, 0, 2)] == [0, 2, 0, 2]
    assert [_checks.canonical_dim("op", d, 0) for d in (-1, 0)] == [0, 0]
    assert _checks.canonical_dims("op", (-1, 0), 2) == (1, 0)
    with pytest.raises(IndexError, match=r"^op: Dimension out of range \(expected to be in range of \[-3, 2\]"):
        _checks.canonical_dim("op", 3, 3)
