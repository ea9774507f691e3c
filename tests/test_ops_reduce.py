"""Reductions (ops/reduce.py): sum, mean, max, min with dim/keepdim against torch.autograd in float64."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import check_op, randn, seeds, shape_and_dims, shapes


@pytest.mark.parametrize("name", ["sum", "mean"])
@given(case=shape_and_dims(min_dims=0), keepdim=st.booleans(), seed=seeds)
def test_sum_mean(name, case, keepdim, seed):
    shape, dim = case
    check_op(
        lambda a: getattr(a, name)(dim=dim, keepdim=keepdim),
        lambda a: getattr(a, name)(dim=dim, keepdim=keepdim),
        [randn(*shape, seed=seed)],
    )


@pytest.mark.parametrize("name", ["sum", "mean"])
def test_sum_mean_edge_dims_match_torch(name):
    """dim=() reduces everything (as in torch); dim=0 on a 0-d tensor is the identity."""
    check_op(lambda a: getattr(a, name)(dim=()), lambda a: getattr(a, name)(dim=()), [randn(2, 3)])
    check_op(lambda a: getattr(a, name)(0), lambda a: getattr(a, name)(0), [randn()])
    check_op(lambda a: getattr(a, name)(), lambda a: getattr(a, name)(), [randn()])


@pytest.mark.parametrize("name", ["max", "min"])
@given(shape=shapes(min_dims=1), data=st.data(), keepdim=st.booleans(), seed=seeds)
def test_max_min_over_dim_routes_gradient_to_selected_element(name, shape, data, keepdim, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    check_op(
        lambda a: getattr(a, name)(dim, keepdim=keepdim).values,
        lambda a: getattr(a, name)(dim, keepdim=keepdim).values,
        [randn(*shape, seed=seed)],
    )
    x = randn(*shape, seed=seed)
    result, expected = getattr(tn.Tensor(x), name)(dim=dim, keepdim=keepdim), getattr(x, name)(dim, keepdim)
    assert torch.equal(result.indices.data, expected.indices)


@pytest.mark.parametrize("name", ["max", "min"])
@given(shape=shapes(min_dims=0), seed=seeds)
def test_whole_tensor_max_min(name, shape, seed):
    check_op(lambda a: getattr(a, name)(), lambda a: getattr(a, name)(), [randn(*shape, seed=seed)])


@pytest.mark.parametrize("name", ["max", "min"])
def test_whole_tensor_max_min_split_ties_evenly_like_torch(name):
    x = torch.tensor([[1.0, 3.0, -2.0], [3.0, -2.0, 3.0]], dtype=torch.float64)
    check_op(lambda a: getattr(a, name)(), lambda a: getattr(a, name)(), [x])
    engine = tn.Tensor(x, requires_grad=True)
    getattr(engine, name)().backward()
    expected = torch.tensor([[0, 1, 0], [1, 0, 1]] if name == "max" else [[0, 0, 1], [0, 1, 0]], dtype=x.dtype)
    assert torch.equal(engine.gradient, expected / expected.sum())


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_with_dim_return_values_indices_namedtuple_like_torch(name):
    x = torch.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 4.0]])
    result = getattr(tn.Tensor(x, requires_grad=True), name)(dim=1)
    expected = getattr(x, name)(dim=1)
    values, indices = result  # unpacks like torch.return_types.max
    assert result._fields == ("values", "indices")
    assert result.values is values and result.indices is indices
    assert isinstance(values, tn.Tensor) and values.requires_grad
    assert isinstance(indices, tn.Tensor) and not indices.requires_grad and indices.dtype == torch.int64
    assert torch.equal(values.data, expected.values) and torch.equal(indices.data, expected.indices)
    kept = getattr(tn.Tensor(x), name)(1, keepdim=True)
    assert kept.values.shape == (2, 1) and kept.indices.shape == (2, 1)


def test_max_over_dim_gives_tied_gradient_to_the_selected_index_only():
    x = torch.tensor([[2.0, 2.0, 1.0]], dtype=torch.float64)
    engine = tn.Tensor(x, requires_grad=True)
    result = engine.max(dim=1)
    result.values.sum().backward()
    expected = torch.zeros_like(x)
    expected[0, result.indices.item()] = 1
    assert torch.equal(engine.gradient, expected)


def test_reductions_compose_with_broadcasting():
    def fn(a):
        return (a - a.mean(dim=1, keepdim=True)) / (a.max(dim=1, keepdim=True).values - a.min(1, True).values)

    check_op(fn, fn, [randn(4, 5)])
