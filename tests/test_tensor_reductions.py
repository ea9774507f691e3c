"""Reductions, cumsum and sorting as Tensor methods (ops/reduce.py, _tensor_reduce.py) against torch.autograd in
float64: prod (with zeros), amax/amin (ties), argmax/argmin, var/std (correction, unbiased, dims), norm (p, dims,
at 0), logsumexp, cumsum, sort/argsort/topk, all/any, and sum/mean/prod in another dtype."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import check_op, randn, same_as_torch, seeds, shape_and_dims, shapes


def with_ties(*shape: int, seed: int = 0) -> torch.Tensor:
    """Values from {-1, 0, 1, 2}: ties everywhere (and zeros for prod)."""
    return torch.randint(-1, 3, shape, generator=torch.Generator().manual_seed(seed)).double()


def one_dim(data, shape: tuple[int, ...]) -> int:
    return data.draw(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1), label="dim")


# ---------------------------------------------------------------- products and sums


@given(shape=shapes(min_dims=0), data=st.data(), keepdim=st.booleans(), seed=seeds, zeros=st.booleans())
def test_prod_over_one_dim_or_everything(shape, data, keepdim, seed, zeros):
    """With zeros drawn in (one or several per slice), the gradient is still the product of the others."""
    x = with_ties(*shape, seed=seed) if zeros else randn(*shape, seed=seed)
    dim = data.draw(st.none() | st.integers(-max(len(shape), 1), max(len(shape), 1) - 1), label="dim")
    if dim is None:
        check_op(lambda a: a.prod(), lambda a: a.prod(), [x])
    else:
        check_op(lambda a: a.prod(dim, keepdim), lambda a: a.prod(dim, keepdim), [x])


@pytest.mark.parametrize(
    "values",
    [[2.0, 3.0, 4.0], [2.0, 0.0, 4.0], [0.0, 3.0, 0.0], [0.0], [5.0]],
    ids=["no zero", "one zero", "two zeros", "only a zero", "one element"],
)
def test_prod_gradient_at_zeros_matches_torch(values):
    x = torch.tensor(values, dtype=torch.float64)
    check_op(lambda a: a.prod(), torch.prod, [x])
    check_op(lambda a: a.prod(0), lambda a: a.prod(0), [x])


@pytest.mark.parametrize("name", ["sum", "mean", "prod"])
def test_reductions_in_another_dtype(name):
    x = randn(3, 4).float()
    check_op(lambda a: getattr(a, name)(dtype=torch.float64), lambda a: getattr(a, name)(dtype=torch.float64), [x])
    ints = tn.Tensor(torch.arange(1, 5, dtype=torch.int32))
    assert getattr(ints, name)(dtype=torch.float64).dtype == torch.float64
    if name != "mean":
        assert getattr(ints, name)().dtype == getattr(ints.data, name)().dtype == torch.int64


@given(shape=shapes(min_dims=0), data=st.data(), seed=seeds)
def test_cumsum(shape, data, seed):
    dim = one_dim(data, shape)
    check_op(lambda a: a.cumsum(dim), lambda a: a.cumsum(dim), [randn(*shape, seed=seed)])


def test_cumsum_in_another_dtype():
    cumsum = lambda a: a.cumsum(1, dtype=torch.float64)  # noqa: E731
    check_op(cumsum, cumsum, [randn(2, 3).float()], atol=1e-6)  # float32 gradients


@given(case=shape_and_dims(min_dims=1), keepdim=st.booleans(), seed=seeds)
def test_logsumexp(case, keepdim, seed):
    shape, dim = case
    dim = -1 if dim is None else dim
    check_op(lambda a: a.logsumexp(dim, keepdim), lambda a: a.logsumexp(dim, keepdim), [randn(*shape, seed=seed)])


# ---------------------------------------------------------------- extremes


@pytest.mark.parametrize("name", ["amax", "amin"])
@given(case=shape_and_dims(min_dims=0), keepdim=st.booleans(), seed=seeds)
def test_amax_amin_split_the_gradient_among_ties(name, case, keepdim, seed):
    shape, dim = case
    x = with_ties(*shape, seed=seed)
    if dim is None:
        check_op(lambda a: getattr(a, name)(keepdim=keepdim), lambda a: getattr(a, name)(keepdim=keepdim), [x])
    else:
        check_op(lambda a: getattr(a, name)(dim, keepdim), lambda a: getattr(a, name)(dim, keepdim), [x])


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_over_a_dim_sends_a_tie_to_the_selected_index_while_amax_splits_it(name):
    x = torch.tensor([[2.0, 2.0, 1.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
    check_op(lambda a: getattr(a, name)(1).values, lambda a: getattr(a, name)(1).values, [x])
    check_op(lambda a: getattr(a, "a" + name)(1), lambda a: getattr(a, "a" + name)(1), [x])


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@given(shape=shapes(min_dims=0), data=st.data(), keepdim=st.booleans(), seed=seeds)
def test_argmax_argmin(name, shape, data, keepdim, seed):
    x = with_ties(*shape, seed=seed)
    dim = data.draw(st.none() | st.integers(-max(len(shape), 1), max(len(shape), 1) - 1), label="dim")
    result = getattr(tn.Tensor(x, requires_grad=True), name)(dim, keepdim)
    assert isinstance(result, tn.Tensor) and not result.requires_grad
    assert torch.equal(result.data, getattr(x, name)(dim, keepdim))


@pytest.mark.parametrize("name", ["amax", "amin", "argmax"])
def test_extremes_of_empty_tensors_raise_as_torch(name):
    empty = torch.zeros(0, 3)
    for call in (lambda t: getattr(t, name)(), lambda t: getattr(t, name)(0)):
        with pytest.raises(Exception) as expected:
            call(empty)
        with pytest.raises(type(expected.value), match=f"^{name}: "):
            call(tn.Tensor(empty))
    assert getattr(tn.Tensor(empty), name)(1).shape == (0,)


# ---------------------------------------------------------------- spread and norms


SPREAD_ARGUMENTS = [
    ((), {}),
    ((False,), {}),
    ((1,), {}),
    ((1, False, True), {}),
    ((), {"dim": (0, -1), "unbiased": False}),
    ((), {"dim": 0, "correction": 0}),
    ((), {"dim": -1, "correction": 2, "keepdim": True}),
    ((), {"correction": 0.5}),
    ((), {"dim": ()}),
]


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize(("args", "kwargs"), SPREAD_ARGUMENTS, ids=[str(a) + str(k) for a, k in SPREAD_ARGUMENTS])
@given(shape=shapes(min_dims=2, max_dims=3, min_side=3), seed=seeds)
def test_var_std_with_torchs_argument_forms(name, args, kwargs, shape, seed):
    x = randn(*shape, seed=seed)
    expected_kwargs = kwargs if kwargs.get("dim") != () else {}  # torch's gradient for dim=() is wrong (inf)
    check_op(lambda a: getattr(a, name)(*args, **kwargs), lambda a: getattr(a, name)(*args, **expected_kwargs), [x])


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize(("args", "kwargs"), [((), {}), ((0,), {}), ((1,), {"correction": 3})], ids=str)
@pytest.mark.parametrize("values", ["random", "constant", "0-d"])
@pytest.mark.filterwarnings("ignore:var\\(\\)|std\\(\\):UserWarning")
def test_var_std_with_no_degrees_of_freedom_or_no_spread_match_torch(name, args, kwargs, values):
    """n - correction ≤ 0 (over everything and over a dim) and a constant input (std's gradient is 0 there); a 0-d
    input has no dim 1, which raises as in torch."""
    x = {"random": randn(1, 3), "constant": torch.full((2, 3), 1.5, dtype=torch.float64), "0-d": randn()}[values]
    call = lambda a: getattr(a, name)(*args, **kwargs)  # noqa: E731
    same_as_torch(name, call, call, [x])


def test_var_refuses_both_unbiased_and_correction_as_torch():
    with pytest.raises(TypeError):
        torch.ones(3).var(0, unbiased=True, correction=1)
    with pytest.raises(TypeError, match="var: pass either unbiased or correction"):
        tn.Tensor(torch.ones(3)).var(0, unbiased=True, correction=1)


NORM_ORDERS = [2, 1, 3, 0.5, 1.5, 0, math.inf, -math.inf, "fro", None]


@pytest.mark.parametrize("p", NORM_ORDERS, ids=str)
@given(case=shape_and_dims(min_dims=0, max_dims=3), keepdim=st.booleans(), seed=seeds, ties=st.booleans())
def test_norm(p, case, keepdim, seed, ties):
    shape, dim = case
    if p == "fro" and isinstance(dim, tuple) and len(dim) > 2:
        dim = dim[:2]
    x = with_ties(*shape, seed=seed) if ties and p not in (0.5,) else randn(*shape, seed=seed)
    check_op(lambda a: a.norm(p, dim, keepdim), lambda a: a.norm(p, dim, keepdim), [x])


@pytest.mark.parametrize("p", [2, 1, 3, 1.5, math.inf, "fro"], ids=str)
def test_norm_of_zeros_has_a_zero_gradient_as_in_torch(p):
    zeros = torch.zeros(2, 3, dtype=torch.float64)
    check_op(lambda a: a.norm(p), lambda a: a.norm(p), [zeros])
    one_zero_row = torch.tensor([[0.0, 0.0], [1.0, -2.0]], dtype=torch.float64)
    check_op(lambda a: a.norm(p, 1), lambda a: a.norm(p, 1), [one_zero_row])


def test_norm_in_another_dtype_and_matrix_norms_refused():
    x = randn(2, 3).float()
    check_op(lambda a: a.norm(dtype=torch.float64), lambda a: a.norm(dtype=torch.float64), [x], atol=1e-6)
    with pytest.raises(NotImplementedError, match=r"norm: p='nuc' .*matrix norm"):
        tn.Tensor(x).norm("nuc")


# ---------------------------------------------------------------- sorting


@given(shape=shapes(min_dims=0), data=st.data(), descending=st.booleans(), seed=seeds)
def test_sort_and_argsort(shape, data, descending, seed):
    dim = one_dim(data, shape)
    x = randn(*shape, seed=seed)
    check_op(lambda a: a.sort(dim, descending).values, lambda a: a.sort(dim, descending).values, [x])
    result, expected = tn.Tensor(x).sort(dim, descending=descending), x.sort(dim, descending=descending)
    assert type(result) is torch.return_types.sort and torch.equal(result.indices.data, expected.indices)
    assert torch.equal(tn.Tensor(x).argsort(dim, descending).data, x.argsort(dim, descending))


def test_stable_sort_keeps_the_order_of_ties():
    x = with_ties(20, seed=3)
    check_op(lambda a: a.sort(stable=True).values, lambda a: a.sort(stable=True).values, [x])
    assert torch.equal(tn.Tensor(x).sort(stable=True).indices.data, x.sort(stable=True).indices)
    assert torch.equal(tn.Tensor(x).argsort(stable=True).data, x.argsort(stable=True))


@given(shape=shapes(min_dims=1), data=st.data(), largest=st.booleans(), seed=seeds)
def test_topk(shape, data, largest, seed):
    dim = one_dim(data, shape)
    k = data.draw(st.integers(0, shape[dim]), label="k")
    x = randn(*shape, seed=seed)
    check_op(lambda a: a.topk(k, dim, largest).values, lambda a: a.topk(k, dim, largest).values, [x])
    result = tn.Tensor(x).topk(k, dim, largest)
    assert type(result) is torch.return_types.topk
    assert torch.equal(result.indices.data, x.topk(k, dim, largest).indices)


def test_topk_with_k_too_large_raises_as_torch():
    with pytest.raises(RuntimeError, match="topk: selected index k out of range"):
        tn.Tensor(randn(3)).topk(4)


# ---------------------------------------------------------------- logical


@pytest.mark.parametrize("name", ["all", "any"])
@given(case=shape_and_dims(min_dims=0), keepdim=st.booleans(), seed=seeds)
def test_all_any(name, case, keepdim, seed):
    shape, dim = case
    x = with_ties(*shape, seed=seed)
    engine = tn.Tensor(x, requires_grad=True)
    result = getattr(engine, name)() if dim is None else getattr(engine, name)(dim, keepdim)
    expected = getattr(x, name)() if dim is None else getattr(x, name)(dim, keepdim)
    assert isinstance(result, tn.Tensor) and not result.requires_grad and torch.equal(result.data, expected)
