"""Elementwise Tensor methods (ops/math.py and the compositions in _tensor_math.py) against torch.autograd in
float64: log1p, sin, cos, erf, rsqrt, reciprocal, square, sign/floor/round (zero gradient), softmax methods,
clamp with tensor bounds, nan_to_num, lerp, where, masked_fill, minimum, isnan/isfinite."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import away_from_zero, broadcastable_pairs, check_op, positive, randn, seeds, shapes

INF, NAN = math.inf, math.nan


def around_minus_one(*shape: int, seed: int = 0) -> torch.Tensor:
    """Values in (-0.9, 1.5): log1p's domain, with small |x| where log(1 + x) would lose digits."""
    return positive(*shape, seed=seed, low=-0.9) * 0.6


UNARY = {  # name -> (engine and torch method name, input maker)
    "log1p": around_minus_one,
    "sin": randn,
    "cos": randn,
    "erf": randn,
    "rsqrt": positive,
    "reciprocal": away_from_zero,
    "square": randn,
    "exp": randn,
    "sigmoid": randn,
    "sign": randn,
    "floor": lambda *shape, seed: randn(*shape, seed=seed, scale=3.0),
    "round": lambda *shape, seed: randn(*shape, seed=seed, scale=3.0),
}


@pytest.mark.parametrize("name", UNARY)
@given(shape=shapes(), seed=seeds)
def test_unary_methods(name, shape, seed):
    check_op(lambda a: getattr(a, name)(), lambda a: getattr(a, name)(), [UNARY[name](*shape, seed=seed)])


@pytest.mark.parametrize("name", ["sign", "floor", "round"])
def test_step_functions_have_a_zero_gradient_everywhere_as_in_torch(name):
    """Their output stays in the graph (requires_grad) and the gradient is 0, at the jumps too."""
    x = torch.tensor([-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.5], dtype=torch.float64)
    check_op(lambda a: getattr(a, name)() * a, lambda a: getattr(a, name)() * a, [x])
    leaf = tn.Tensor(x, requires_grad=True)
    out = getattr(leaf, name)()
    out.sum().backward()
    assert out.requires_grad and torch.equal(leaf.gradient, torch.zeros_like(x))


@given(shape=shapes(), seed=seeds, decimals=st.integers(-1, 3))
def test_round_to_decimals(shape, seed, decimals):
    check_op(lambda a: a.round(decimals=decimals), lambda a: a.round(decimals=decimals), [randn(*shape, seed=seed)])


def test_log1p_keeps_the_digits_of_tiny_values():
    x = torch.tensor([1e-18, -1e-17, 3e-12], dtype=torch.float64)
    check_op(lambda a: a.log1p(), torch.log1p, [x], atol=0)
    assert tn.Tensor(x).log1p().data[0] == 1e-18  # log(1 + x) would give 0


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(shape=shapes(min_dims=1), data=st.data(), seed=seeds)
def test_softmax_methods(name, shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    check_op(lambda a: getattr(a, name)(dim), lambda a: getattr(a, name)(dim), [randn(*shape, seed=seed)])


def test_softmax_in_another_dtype():
    x = randn(2, 3).float()
    check_op(lambda a: a.softmax(1, dtype=torch.float64), lambda a: a.softmax(1, dtype=torch.float64), [x])


# ---------------------------------------------------------------- clamp family


BOUND_CASES = {
    "min and max tensors": lambda x, lo, hi: x.clamp(lo, hi),
    "min tensor": lambda x, lo, hi: x.clamp(min=lo),
    "max tensor": lambda x, lo, hi: x.clamp(max=hi),
    "clip": lambda x, lo, hi: x.clip(lo, hi),
    "clamp_min": lambda x, lo, hi: x.clamp_min(lo),
    "clamp_max": lambda x, lo, hi: x.clamp_max(hi),
}


@pytest.mark.parametrize("case", BOUND_CASES)
@given(shapes_=broadcastable_pairs(max_dims=3), seed=seeds)
def test_clamp_with_tensor_bounds(case, shapes_, seed):
    """Bounds that cross (min > max: the result is max) and ties with x included, through all three gradients."""
    x = randn(*shapes_[0], seed=seed).round(decimals=1)
    low = randn(*shapes_[1], seed=seed + 1).round(decimals=1) - 0.3
    high = randn(*shapes_[1], seed=seed + 2).round(decimals=1) + 0.3
    check_op(BOUND_CASES[case], BOUND_CASES[case], [x, low, high])


def test_clamp_with_equal_or_crossed_tensor_bounds_and_nan_matches_torch():
    x = torch.tensor([-2.0, 0.0, 0.5, 1.0, 3.0, NAN, 1.0], dtype=torch.float64)
    low = torch.tensor([0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 2.0], dtype=torch.float64)
    high = torch.tensor([0.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.0], dtype=torch.float64)
    check_op(lambda a, lo, hi: a.clamp(lo, hi), lambda a, lo, hi: a.clamp(lo, hi), [x, low, high])


@pytest.mark.parametrize("bounds", [(-0.5, None), (None, 0.7), (0.2, 0.2)])
def test_clamp_min_max_with_numbers(bounds):
    low, high = bounds
    x = randn(3, 4)
    if low is not None:
        check_op(lambda a: a.clamp_min(low), lambda a: a.clamp_min(low), [x])
    if high is not None:
        check_op(lambda a: a.clamp_max(high), lambda a: a.clamp_max(high), [x])


def test_clamp_without_bounds_or_with_a_tensor_and_a_number_raises_as_torch():
    x = tn.Tensor(randn(3))
    with pytest.raises(RuntimeError, match="clamp: At least one of 'min' or 'max' must not be None"):
        x.clamp()
    with pytest.raises(TypeError, match="clamp: min and max must both be tensors or both numbers"):
        x.clamp(torch.zeros(3), 0.5)


# ---------------------------------------------------------------- selection


@given(seed=seeds)
def test_nan_to_num_passes_the_gradient_only_where_finite(seed):
    x = randn(8, seed=seed)
    x[1], x[4], x[6] = NAN, INF, -INF
    check_op(lambda a: a.nan_to_num(), lambda a: a.nan_to_num(), [x])
    check_op(lambda a: a.nan_to_num(1.5, 2.0, -3.0), lambda a: a.nan_to_num(1.5, 2.0, -3.0), [x])
    check_op(lambda a: a.nan_to_num(neginf=0.0), lambda a: a.nan_to_num(neginf=0.0), [x])


@given(pair=broadcastable_pairs(max_dims=3), seed=seeds, weight_kind=st.sampled_from(["number", "tensor"]))
def test_lerp(pair, seed, weight_kind):
    start, end = randn(*pair[0], seed=seed), randn(*pair[1], seed=seed + 1)
    if weight_kind == "number":
        check_op(lambda a, b: a.lerp(b, 0.3), lambda a, b: a.lerp(b, 0.3), [start, end])
    else:
        weight = randn(*pair[1], seed=seed + 2)
        check_op(lambda a, b, w: a.lerp(b, w), lambda a, b, w: a.lerp(b, w), [start, end, weight])


@given(shapes_=broadcastable_pairs(max_dims=3), seed=seeds)
def test_where_method(shapes_, seed):
    x, y = randn(*shapes_[0], seed=seed), randn(*shapes_[1], seed=seed + 1)
    condition = randn(*shapes_[1], seed=seed + 2) > 0
    check_op(lambda a, b: a.where(condition, b), lambda a, b: a.where(condition, b), [x, y])
    check_op(lambda a: a.where(condition, 2.5), lambda a: a.where(condition, 2.5), [x])


@given(shapes_=broadcastable_pairs(max_dims=3), seed=seeds)
def test_masked_fill_with_a_number_or_a_0d_tensor(shapes_, seed):
    x = randn(*shapes_[0], seed=seed)
    mask = randn(*shapes_[1], seed=seed + 1) > 0
    check_op(lambda a: a.masked_fill(mask, -1.5), lambda a: a.masked_fill(mask, -1.5), [x])
    check_op(lambda a, v: a.masked_fill(mask, v), lambda a, v: a.masked_fill(mask, v), [x, randn(seed=seed)])


def test_where_and_masked_fill_ignore_inf_and_nan_in_the_branch_not_taken():
    x = torch.tensor([1.0, INF, NAN, -INF], dtype=torch.float64)
    keep = torch.tensor([True, False, False, False])
    check_op(lambda a: a.where(keep, 0.0) * 2, lambda a: a.where(keep, 0.0) * 2, [x])
    check_op(lambda a: a.masked_fill(~keep, 3.0).exp(), lambda a: a.masked_fill(~keep, 3.0).exp(), [x])
    check_op(lambda a: a.nan_to_num().sum(), lambda a: a.nan_to_num().sum(), [x])


def test_masked_fill_refuses_what_torch_refuses():
    x = tn.Tensor(randn(2, 3))
    with pytest.raises(RuntimeError, match="masked_fill: masked_fill_ only supports boolean masks"):
        x.masked_fill(torch.ones(2, 3, dtype=torch.int64), 1.0)
    with pytest.raises(RuntimeError, match=r"masked_fill: .*0-dimensional value tensor"):
        x.masked_fill(torch.ones(2, 3, dtype=torch.bool), torch.ones(1))
    ints = tn.Tensor(torch.arange(3)).masked_fill(torch.tensor([True, False, True]), 2.7)
    assert ints.tolist() == torch.arange(3).masked_fill(torch.tensor([True, False, True]), 2.7).tolist()


@given(pair=broadcastable_pairs(), seed=seeds)
def test_minimum_and_max_of_two_tensors_split_ties_like_torch(pair, seed):
    x, y = randn(*pair[0], seed=seed).round(), randn(*pair[1], seed=seed + 1).round()
    check_op(lambda a, b: a.minimum(b), lambda a, b: a.minimum(b), [x, y])
    check_op(lambda a, b: a.max(b) + a.min(b), lambda a, b: a.max(b) + a.min(b), [x, y])


def test_isnan_isfinite_give_bool_tensors_without_gradient():
    x = torch.tensor([1.0, NAN, INF, -INF], dtype=torch.float64)
    engine = tn.Tensor(x, requires_grad=True)
    for name in ("isnan", "isfinite"):
        result = getattr(engine, name)()
        assert isinstance(result, tn.Tensor) and not result.requires_grad
        assert torch.equal(result.data, getattr(x, name)())
