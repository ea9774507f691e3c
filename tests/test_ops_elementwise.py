"""Elementwise ops (ops/elementwise.py): forward and gradients against torch.autograd in float64."""

from __future__ import annotations

import operator

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import away_from_zero, broadcastable_pairs, check_op, positive, randn, seeds, shapes
from tinygrad_n2n import functional as F

BINARY = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "maximum": lambda a, b: a.maximum(b),
}


@pytest.mark.parametrize("name", BINARY)
@given(pair=broadcastable_pairs(), seed=seeds)
def test_binary_broadcasting(name, pair, seed):
    fn = BINARY[name]
    x = randn(*pair[0], seed=seed)
    y = away_from_zero(*pair[1], seed=seed + 1) if name == "div" else randn(*pair[1], seed=seed + 1)
    check_op(fn, fn, [x, y])


@given(pair=broadcastable_pairs(), seed=seeds)
def test_pow_tensor_exponent_broadcasting(pair, seed):
    check_op(operator.pow, operator.pow, [positive(*pair[0], seed=seed), randn(*pair[1], seed=seed + 1)])


@given(shape=shapes(), seed=seeds, exponent=st.sampled_from([-1.5, -1, 0, 0.5, 1, 2, 3]))
def test_pow_scalar_exponent(shape, seed, exponent):
    check_op(lambda a: a**exponent, lambda a: a**exponent, [positive(*shape, seed=seed)])


def test_pow_at_zero_base_matches_torch():
    """x = 0: d/dy is 0 for y ≥ 0 (not 0·log 0 = nan) and d/dx is 0 for y = 0 (not 0·0⁻¹), as in torch."""
    x = torch.tensor([0.0, 0.0, 0.0, 2.0], dtype=torch.float64)
    y = torch.tensor([0.0, 1.0, 2.5, 0.0], dtype=torch.float64)
    check_op(operator.pow, operator.pow, [x, y])
    check_op(lambda a: a**0, lambda a: a**0, [x])
    check_op(lambda b: 0.0**b, lambda b: 0.0**b, [y])


@pytest.mark.parametrize(
    "fn",
    [
        lambda a: a + 2.5,
        lambda a: 2.5 + a,
        lambda a: a - 2.5,
        lambda a: 2.5 - a,
        lambda a: a * -3,
        lambda a: -3 * a,
        lambda a: a / 4,
        lambda a: 4 / a,
        lambda a: 2.0**a,
        lambda a: -a,
    ],
    ids=["add", "radd", "sub", "rsub", "mul", "rmul", "div", "rdiv", "rpow", "neg"],
)
@given(shape=shapes(), seed=seeds)
def test_scalar_operands(fn, shape, seed):
    check_op(fn, fn, [away_from_zero(*shape, seed=seed)])


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "matmul"])
def test_raw_torch_tensor_on_the_left_still_differentiates(name):
    """`raw <op> engine_tensor` runs the engine's reflected operator instead of dropping the gradient."""
    fn = {**BINARY, "pow": operator.pow, "matmul": operator.matmul}[name]
    raw = positive(3, 3, seed=1)
    check_op(lambda y: fn(raw, y), lambda y: fn(raw, y), [randn(3, 3, seed=2)])


UNARY = {
    "exp": (lambda a: a.exp(), torch.exp, randn),
    "log": (lambda a: a.log(), torch.log, positive),
    "sqrt": (lambda a: a.sqrt(), torch.sqrt, positive),
    "abs": (lambda a: a.abs(), torch.abs, away_from_zero),
    "tanh": (lambda a: a.tanh(), torch.tanh, randn),
    "sigmoid": (lambda a: a.sigmoid(), torch.sigmoid, randn),
    "relu": (lambda a: a.relu(), torch.relu, away_from_zero),
    "neg": (lambda a: a.neg(), torch.neg, randn),
    "F.relu": (F.relu, torch.relu, away_from_zero),
    "F.sigmoid": (F.sigmoid, torch.sigmoid, randn),
    "F.tanh": (F.tanh, torch.tanh, randn),
    "F.leaky_relu": (F.leaky_relu, torch.nn.functional.leaky_relu, away_from_zero),
    "F.leaky_relu(0.2)": (
        lambda a: F.leaky_relu(a, 0.2),
        lambda a: torch.nn.functional.leaky_relu(a, 0.2),
        away_from_zero,
    ),
}


@pytest.mark.parametrize("name", UNARY)
@given(shape=shapes(), seed=seeds)
def test_unary(name, shape, seed):
    engine_fn, torch_fn, data = UNARY[name]
    check_op(engine_fn, torch_fn, [data(*shape, seed=seed)])


@given(
    shape=shapes(),
    seed=seeds,
    bounds=st.sampled_from([(-0.5, None), (None, 0.7), (-0.3, 0.4), (0.2, 0.2)]),
)
def test_clamp(shape, seed, bounds):
    low, high = bounds
    check_op(lambda a: a.clamp(low, high), lambda a: a.clamp(low, high), [randn(*shape, seed=seed)])


def test_abs_and_relu_gradients_at_zero_match_torch():
    x = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64)
    check_op(lambda a: a.abs(), torch.abs, [x])
    check_op(lambda a: a.relu(), torch.relu, [x])
    check_op(lambda a: a.clamp(0.0, 2.0), lambda a: a.clamp(0.0, 2.0), [x])


def test_maximum_splits_ties_like_torch():
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    y = torch.tensor([1.0, 5.0, 0.0], dtype=torch.float64)
    check_op(lambda a, b: a.maximum(b), torch.maximum, [x, y])


@pytest.mark.parametrize("op", ["__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"])
@given(pair=broadcastable_pairs(), seed=seeds)
def test_comparisons_give_bool_tensors_without_gradient(op, pair, seed):
    x, y = randn(*pair[0], seed=seed).round(), randn(*pair[1], seed=seed + 1).round()
    a, b = tn.Tensor(x, requires_grad=True), tn.Tensor(y, requires_grad=True)
    for result, expected in [
        (getattr(a, op)(b), getattr(x, op)(y)),
        (getattr(a, op)(0.0), getattr(x, op)(0.0)),
        (getattr(a, op)(y), getattr(x, op)(y)),
    ]:
        assert isinstance(result, tn.Tensor)
        assert result.dtype == torch.bool and not result.requires_grad
        assert torch.equal(result.data, expected)


def test_chained_expression_matches_torch():
    def fn(a, b, c):
        return ((a * b + c).sigmoid() - (a / (b.abs() + 1)).tanh()) ** 2 + (c.exp() + 1).log() * a.relu()

    check_op(fn, fn, [randn(3, 4, seed=1), randn(4, seed=2), randn(3, 1, seed=3)])
