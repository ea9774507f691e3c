"""Movement ops (ops/movement.py): reshape, permute, expand, indexing, cat, stack, pad, to."""

from __future__ import annotations

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import integer_array_indices

import tinygrad_n2n as tn
from tests.helpers import basic_indices, check_op, randn, seeds, shapes
from tinygrad_n2n import functional as F


@given(shape=shapes(min_dims=0), data=st.data(), seed=seeds)
def test_reshape_and_view(shape, data, seed):
    numel = int(torch.tensor(shape).prod()) if shape else 1
    divisors = [d for d in range(1, numel + 1) if numel % d == 0]
    first = data.draw(st.sampled_from(divisors), label="first")
    target = data.draw(st.sampled_from([(first, -1), (-1,), (first, numel // first, 1)]), label="target")
    check_op(lambda a: a.reshape(target), lambda a: a.reshape(target), [randn(*shape, seed=seed)])
    check_op(lambda a: a.view(*target), lambda a: a.view(*target), [randn(*shape, seed=seed)])


@given(shape=shapes(min_dims=1), data=st.data(), seed=seeds)
def test_flatten_transpose_permute(shape, data, seed):
    ndim = len(shape)
    start = data.draw(st.integers(-ndim, ndim - 1), label="start")
    end = data.draw(st.integers(start % ndim, ndim - 1), label="end")
    dim0, dim1 = data.draw(st.integers(-ndim, ndim - 1)), data.draw(st.integers(-ndim, ndim - 1))
    order = data.draw(st.permutations(range(ndim)), label="order")
    x = randn(*shape, seed=seed)
    check_op(lambda a: a.flatten(start, end), lambda a: a.flatten(start, end), [x])
    check_op(lambda a: a.flatten(), lambda a: a.flatten(), [x])
    check_op(lambda a: a.transpose(dim0, dim1), lambda a: a.transpose(dim0, dim1), [x])
    check_op(lambda a: a.permute(*order), lambda a: a.permute(*order), [x])
    check_op(lambda a: a.permute(order), lambda a: a.permute(order), [x])
    check_op(lambda a: a.T, lambda a: a.permute(*range(ndim - 1, -1, -1)), [x])


@given(shape=shapes(min_dims=0, min_side=1, max_side=2), data=st.data(), seed=seeds)
def test_squeeze_unsqueeze(shape, data, seed):
    ndim = len(shape)
    x = randn(*shape, seed=seed)
    check_op(lambda a: a.squeeze(), lambda a: a.squeeze(), [x])
    new_dim = data.draw(st.integers(-ndim - 1, ndim), label="new_dim")
    check_op(lambda a: a.unsqueeze(new_dim), lambda a: a.unsqueeze(new_dim), [x])
    if ndim:
        dim = data.draw(st.integers(-ndim, ndim - 1), label="dim")
        check_op(lambda a: a.squeeze(dim), lambda a: a.squeeze(dim), [x])


@given(shape=shapes(min_dims=0, max_dims=3, max_side=3), data=st.data(), seed=seeds)
def test_expand(shape, data, seed):
    extra = data.draw(shapes(max_dims=2), label="extra")
    target = tuple(extra) + tuple(data.draw(st.sampled_from([s, -1] if s > 1 else [1, 3, -1])) for s in shape)
    check_op(lambda a: a.expand(target), lambda a: a.expand(target), [randn(*shape, seed=seed)])
    if target:
        check_op(lambda a: a.expand(*target), lambda a: a.expand(*target), [randn(*shape, seed=seed)])


# ---------------------------------------------------------------- indexing


@given(shape=shapes(min_dims=1), data=st.data(), seed=seeds)
def test_getitem_basic(shape, data, seed):
    index = data.draw(basic_indices(shape), label="index")
    assume(randn(*shape)[index].numel() > 0)
    check_op(lambda a: a[index], lambda a: a[index], [randn(*shape, seed=seed)])


@given(shape=shapes(min_dims=1), data=st.data(), seed=seeds)
def test_getitem_integer_arrays_accumulate_repeats(shape, data, seed):
    arrays = data.draw(integer_array_indices(shape, result_shape=shapes(1, 2, 1, 5)), label="arrays")
    index = tuple(torch.as_tensor(a) for a in arrays)
    check_op(lambda a: a[index], lambda a: a[index], [randn(*shape, seed=seed)])
    engine_index = tuple(tn.Tensor(i) for i in index)  # engine tensors as indices
    check_op(lambda a: a[engine_index], lambda a: a[index], [randn(*shape, seed=seed)])


@given(shape=shapes(min_dims=1), data=st.data(), seed=seeds)
def test_getitem_boolean_mask(shape, data, seed):
    prefix = data.draw(st.integers(1, len(shape)), label="prefix")
    mask = torch.rand(shape[:prefix], generator=torch.Generator().manual_seed(seed)) > 0.4
    check_op(lambda a: a[mask], lambda a: a[mask], [randn(*shape, seed=seed)])
    check_op(lambda a: a[tn.Tensor(mask)], lambda a: a[mask], [randn(*shape, seed=seed)])


def test_getitem_mixed_and_list_indices():
    x = randn(4, 5, 3)
    rows = torch.tensor([0, 2, 2, 3])
    cases = [
        (lambda a: a[[1, 1, 0]], lambda a: a[[1, 1, 0]]),
        (lambda a: a[rows, 1:4], lambda a: a[rows, 1:4]),
        (lambda a: a[..., rows[:3]], lambda a: a[..., rows[:3]]),
        (lambda a: a[None, 1, ..., ::2], lambda a: a[None, 1, ..., ::2]),
        (lambda a: a[1:3, [0, 0, 4], None], lambda a: a[1:3, [0, 0, 4], None]),
        (lambda a: a[-1, -2, -3], lambda a: a[-1, -2, -3]),
        (lambda a: a[x[:, :, 0] > 0], lambda a: a[x[:, :, 0] > 0]),
    ]
    for engine_fn, torch_fn in cases:
        check_op(engine_fn, torch_fn, [x])


# ---------------------------------------------------------------- joining and padding


@given(shape=shapes(min_dims=1, max_dims=3), data=st.data(), seed=seeds)
def test_cat(shape, data, seed):
    ndim = len(shape)
    dim = data.draw(st.integers(-ndim, ndim - 1), label="dim")
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3), label="sizes")
    parts = []
    for i, size in enumerate(sizes):
        part_shape = list(shape)
        part_shape[dim] = size
        parts.append(randn(*part_shape, seed=seed + i))
    grads = data.draw(st.lists(st.booleans(), min_size=len(parts), max_size=len(parts)), label="grads")
    assume(any(grads))
    check_op(lambda *xs: tn.cat(list(xs), dim=dim), lambda *xs: torch.cat(xs, dim), parts, grad_inputs=grads)


@given(shape=shapes(min_dims=0, max_dims=3), data=st.data(), count=st.integers(1, 3), seed=seeds)
def test_stack(shape, data, count, seed):
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)), label="dim")
    parts = [randn(*shape, seed=seed + i) for i in range(count)]
    check_op(lambda *xs: tn.stack(list(xs), dim=dim), lambda *xs: torch.stack(xs, dim), parts)


def test_cat_and_stack_accept_torch_tensors_as_constants():
    constant = randn(2, 3, seed=5)
    check_op(lambda a: tn.cat([a, constant], dim=1), lambda a: torch.cat([a, constant], 1), [randn(2, 2)])
    check_op(lambda a: tn.stack((constant, a)), lambda a: torch.stack((constant, a)), [randn(2, 3)])


@given(shape=shapes(min_dims=1, max_dims=4, max_side=4), data=st.data(), seed=seeds)
def test_pad_constant_including_negative_crops(shape, data, seed):
    dims = data.draw(st.integers(1, len(shape)), label="dims")
    pad = []
    for size in reversed(shape[-dims:]):
        before, after = data.draw(st.integers(-1, 2)), data.draw(st.integers(-1, 2))
        assume(size + before + after >= 1)
        pad += [before, after]
    value = data.draw(st.sampled_from([0.0, -1.5]), label="value")
    pad = tuple(pad)
    check_op(
        lambda a: F.pad(a, pad, value=value),
        lambda a: torch.nn.functional.pad(a, pad, value=value),
        [randn(*shape, seed=seed)],
    )


# ---------------------------------------------------------------- dtype and device moves


@pytest.mark.parametrize("source", [torch.float32, torch.float64])
@pytest.mark.parametrize("target", [torch.float16, torch.float32, torch.float64])
def test_to_dtype_is_differentiable(source, target):
    x = tn.Tensor(torch.randn(3, 4, dtype=source), requires_grad=True)
    y = x.to(target)
    assert y.dtype == target and y.requires_grad
    (y * y).sum().backward(retain_graph=True)
    assert x.gradient.dtype == source
    assert torch.equal(x.gradient, 2 * x.data.to(target).to(source))  # doubling is exact in every float dtype
    for converted in (x.double(), x.float(), x.to(dtype=target), x.cpu()):
        assert converted.requires_grad


def test_to_integer_dtype_carries_no_gradient_like_torch():
    x = tn.Tensor(torch.tensor([1.5, -2.5]), requires_grad=True)
    as_int = x.to(torch.int64)
    assert as_int.dtype == torch.int64 and not as_int.requires_grad
    assert torch.equal(as_int.data, torch.tensor([1, -2]))
