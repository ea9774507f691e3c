"""Tensor methods with torch's names (_tensor_methods.py): every method of torch's common API is there, and the
ones this file covers (dtype conversions, new_* factories, comparison methods, mm/bmm/dot) behave as torch's.
The other families have their own files: test_ops_math.py, test_tensor_reductions.py, test_ops_shape.py."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import broadcastable_pairs, check_op, randn, seeds

TORCH_API = """backward retain_grad detach clone item tolist numpy to cpu cuda float double half bfloat16 long int bool
type_as size dim numel view reshape view_as reshape_as expand expand_as repeat permute transpose t T mT flatten
unflatten squeeze unsqueeze contiguous chunk split unbind flip roll sum mean prod max min amax amin argmax argmin var
std norm logsumexp cumsum topk sort argsort abs exp log log1p sqrt rsqrt pow sin cos tanh sigmoid relu softmax
log_softmax clamp clamp_min clamp_max clip sign floor round where masked_fill gather scatter index_select matmul mm
bmm dot new_zeros new_ones new_full new_tensor eq ne lt le gt ge all any isnan isfinite nan_to_num square reciprocal
minimum maximum erf lerp""".split()  # noqa: SIM905  (the list as the issue wrote it)


@pytest.mark.parametrize("name", TORCH_API)
def test_the_method_exists_as_on_torch_tensors(name):
    assert hasattr(torch.Tensor, name) and hasattr(tn.Tensor, name)


# ---------------------------------------------------------------- dtype conversions


@pytest.mark.parametrize(
    ("method", "dtype"),
    [
        ("half", torch.float16),
        ("bfloat16", torch.bfloat16),
        ("long", torch.int64),
        ("int", torch.int32),
        ("bool", torch.bool),
    ],
)
def test_dtype_conversions(method, dtype):
    x = tn.Tensor(randn(2, 3), requires_grad=True)
    converted = getattr(x, method)()
    assert converted.dtype == dtype and torch.equal(converted.data, getattr(x.data, method)())
    assert converted.requires_grad == dtype.is_floating_point
    if dtype.is_floating_point:
        converted.sum().backward()
        assert x.gradient.dtype == torch.float64 and torch.equal(x.gradient, torch.ones(2, 3, dtype=torch.float64))


def test_type_as_takes_the_other_tensors_dtype():
    x = tn.Tensor(randn(3), requires_grad=True)
    for other in (torch.zeros(1, dtype=torch.float32), tn.Tensor(torch.zeros(1, dtype=torch.int64))):
        assert x.type_as(other).dtype == other.dtype
    check_op(lambda a: a.type_as(torch.zeros(1)) * 2, lambda a: a.type_as(torch.zeros(1)) * 2, [randn(3)], atol=1e-6)


# ---------------------------------------------------------------- new_* factories


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.new_zeros(2, 3),
        lambda t: t.new_zeros((2, 3), dtype=torch.int32),
        lambda t: t.new_ones([4]),
        lambda t: t.new_full((2,), 7.5),
        lambda t: t.new_full((2, 2), 3, dtype=torch.int64),
        lambda t: t.new_tensor([1, 2, 3]),
        lambda t: t.new_tensor([[1.5]], dtype=torch.float32),
    ],
    ids=["zeros", "zeros int32", "ones", "full", "full int64", "tensor", "tensor float32"],
)
def test_new_factories_take_this_tensors_dtype_and_device_unless_told(call):
    x = randn(2)
    result, expected = call(tn.Tensor(x)), call(x)
    assert isinstance(result, tn.Tensor) and result.is_leaf and not result.requires_grad
    assert result.dtype == expected.dtype and result.device == expected.device and torch.equal(result.data, expected)


def test_new_empty_has_the_size_and_dtype_asked_for():
    empty = tn.Tensor(randn(2)).new_empty(3, 1, dtype=torch.int32)
    assert empty.shape == (3, 1) and empty.dtype == torch.int32 and empty.is_leaf


def test_new_factories_make_leaves_that_require_a_gradient_when_asked():
    x = tn.Tensor(randn(2))
    made = [
        x.new_zeros(2, requires_grad=True),
        x.new_ones(2, requires_grad=True),
        x.new_full((2,), 1.0, requires_grad=True),
    ]
    made.append(x.new_tensor(tn.Tensor(randn(2, seed=1)), requires_grad=True))
    for leaf in made:
        assert leaf.requires_grad and leaf.is_leaf
        (leaf * 3).sum().backward()
        assert torch.equal(leaf.gradient, torch.full((2,), 3.0, dtype=torch.float64))
    with pytest.raises(RuntimeError):
        torch.zeros(2).new_zeros(2, dtype=torch.int64, requires_grad=True)
    with pytest.raises((TypeError, RuntimeError), match="only floating-point tensors can require a gradient"):
        x.new_zeros(2, dtype=torch.int64, requires_grad=True)


# ---------------------------------------------------------------- comparison methods


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge"])
@given(pair=broadcastable_pairs(), seed=seeds)
def test_comparison_methods(name, pair, seed):
    x, y = randn(*pair[0], seed=seed).round(), randn(*pair[1], seed=seed + 1).round()
    a = tn.Tensor(x, requires_grad=True)
    for other, raw in ((tn.Tensor(y), y), (y, y), (0.0, 0.0)):
        result = getattr(a, name)(other)
        assert isinstance(result, tn.Tensor) and not result.requires_grad
        assert torch.equal(result.data, getattr(x, name)(raw))


def test_comparison_methods_refuse_what_torch_refuses():
    with pytest.raises(TypeError):
        tn.Tensor(randn(2)).eq(None)


# ---------------------------------------------------------------- matrix products


@given(n=st.integers(1, 4), m=st.integers(1, 4), p=st.integers(1, 4), batch=st.integers(1, 3), seed=seeds)
def test_mm_bmm_dot(n, m, p, batch, seed):
    check_op(lambda a, b: a.mm(b), torch.mm, [randn(n, m, seed=seed), randn(m, p, seed=seed + 1)])
    check_op(lambda a, b: a.bmm(b), torch.bmm, [randn(batch, n, m, seed=seed), randn(batch, m, p, seed=seed + 1)])
    check_op(lambda a, b: a.dot(b), torch.dot, [randn(m, seed=seed), randn(m, seed=seed + 1)])


@pytest.mark.parametrize(
    ("name", "shapes"),
    [
        ("mm", [(3,), (3, 2)]),
        ("mm", [(2, 3), (3,)]),
        ("bmm", [(2, 3), (3, 2)]),
        ("bmm", [(2, 2, 3), (3, 3, 2)]),
        ("dot", [(2, 2), (2, 2)]),
        ("dot", [(3,), (2,)]),
    ],
)
def test_matrix_products_refuse_shapes_as_torch(name, shapes):
    x, y = randn(*shapes[0]), randn(*shapes[1], seed=1)
    with pytest.raises(RuntimeError):
        getattr(x, name)(y)
    with pytest.raises(RuntimeError, match=f"^{name}: "):
        getattr(tn.Tensor(x), name)(tn.Tensor(y))
