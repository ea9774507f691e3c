"""Matrix products (ops/linalg.py): matmul in 1-D, 2-D and batched-broadcast forms, F.linear and einsum."""

from __future__ import annotations

import operator

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import tinygrad_n2n as tn
from tests.helpers import check_op, randn, seeds
from tinygrad_n2n import functional as F


@st.composite
def matmul_shapes(draw) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Shapes (x, y) valid for torch.matmul: 1-D or matrices, with broadcasting batch dims."""
    m, k, n = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch_x, batch_y = draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3)).input_shapes
    x = (k,) if draw(st.booleans()) else (*batch_x, m, k)
    y = (k,) if draw(st.booleans()) else (*batch_y, k, n)
    return x, y


@given(case=matmul_shapes(), seed=seeds, grad_x=st.booleans())
def test_matmul(case, seed, grad_x):
    x, y = randn(*case[0], seed=seed), randn(*case[1], seed=seed + 1)
    check_op(operator.matmul, operator.matmul, [x, y], grad_inputs=[grad_x, True])
    check_op(lambda a, b: a.matmul(b), torch.matmul, [x, y], grad_inputs=[True, not grad_x])


def test_matmul_fixed_cases():
    for x_shape, y_shape in [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((4, 2, 3), (3,)), ((3,), (5, 3, 2))]:
        check_op(operator.matmul, operator.matmul, [randn(*x_shape, seed=1), randn(*y_shape, seed=2)])
    check_op(operator.matmul, operator.matmul, [randn(2, 1, 3, 4, seed=1), randn(5, 4, 2, seed=2)])


@given(
    batch=st.lists(st.integers(1, 3), max_size=2).map(tuple),
    features=st.integers(1, 5),
    out_features=st.integers(1, 5),
    bias=st.booleans(),
    seed=seeds,
)
def test_linear_with_1d_2d_3d_inputs(batch, features, out_features, bias, seed):
    inputs = [randn(*batch, features, seed=seed), randn(out_features, features, seed=seed + 1)]
    if bias:
        inputs.append(randn(out_features, seed=seed + 2))
    check_op(F.linear, torch.nn.functional.linear, inputs)


def test_linear_with_constant_weight_and_bias():
    weight, bias = randn(3, 4, seed=1), randn(3, seed=2)
    check_op(lambda a: F.linear(a, weight, bias), lambda a: torch.nn.functional.linear(a, weight, bias), [randn(2, 4)])


EINSUM_CASES = {  # equation -> operand shapes
    "ij,jk->ik": [(2, 3), (3, 4)],
    "bij,bjk->bik": [(2, 2, 3), (2, 3, 4)],
    "ij,jk": [(2, 3), (3, 4)],
    "i,j->ij": [(3,), (2,)],
    "i,i->": [(4,), (4,)],
    "ij->ji": [(2, 3)],
    "ij->": [(2, 3)],
    "ij->j": [(2, 3)],
    "ii->": [(3, 3)],
    "ii->i": [(3, 3)],
    "bii->bi": [(2, 3, 3)],
    "iij->ij": [(2, 2, 3)],
    "ij,ij->ij": [(3, 1), (1, 4)],
    "ij,jk,kl->il": [(2, 3), (3, 4), (4, 2)],
    "...ij,...jk->...ik": [(5, 1, 2, 3), (4, 3, 2)],
    "...ij,...jk": [(2, 3), (3, 3, 2)],
    "b...i,bi->...": [(2, 5, 3), (2, 3)],
    "i j , j k -> i k": [(2, 3), (3, 2)],
    "Ba,aB": [(2, 3), (3, 2)],
    "ijk,k->": [(2, 3, 4), (4,)],
}


@pytest.mark.parametrize("equation", EINSUM_CASES)
@given(seed=seeds)
def test_einsum(equation, seed):
    operands = [randn(*shape, seed=seed + i) for i, shape in enumerate(EINSUM_CASES[equation])]
    check_op(lambda *xs: tn.einsum(equation, *xs), lambda *xs: torch.einsum(equation, *xs), operands)


def test_einsum_takes_operands_as_one_list_and_the_same_tensor_twice():
    x = randn(3, 4)
    check_op(lambda a: tn.einsum("ij,kj->ik", [a, a]), lambda a: torch.einsum("ij,kj->ik", [a, a]), [x])


def test_einsum_takes_torchs_sublist_format():
    x, y = randn(2, 3), randn(3, 4, seed=1)
    check_op(
        lambda a, b: tn.einsum(a, [0, 1], b, [1, 2], [0, 2]),
        lambda a, b: torch.einsum(a, [0, 1], b, [1, 2], [0, 2]),
        [x, y],
    )
    check_op(lambda a: tn.einsum(a, [Ellipsis, 27]), lambda a: torch.einsum(a, [Ellipsis, 27]), [x])


def test_einsum_refuses_what_torch_refuses():
    with pytest.raises(RuntimeError, match=r"^einsum: "):
        tn.einsum("ij,jk->ik", tn.Tensor(randn(2, 3)), tn.Tensor(randn(2, 3)))
