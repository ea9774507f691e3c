"""The `tn` namespace as torch's (creation.py, tensor_functions.py): factories with torch's signatures, defaults,
dtype/device/requires_grad/generator keywords; torch's functions of tensors recording like the Tensor methods."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import check_op, positive, randn, seeds

FACTORIES = {  # name -> argument lists, each run by torch and by tn
    "zeros": [(2, 3), ((2, 3),), ([4],)],
    "ones": [(3,), (torch.Size([2, 1]),)],
    "empty": [(2, 2)],
    "full": [((2,), 1.5), ((2, 2), 3), ((1,), True)],
    "eye": [(3,), (2, 4)],
    "arange": [(5,), (1, 4), (0.0, 1.0, 0.25), (-3, 3, 2)],
    "linspace": [(0, 1, 5), (-2.0, 2.0, 1)],
    "randn": [(2, 3)],
    "rand": [((3,),)],
    "randint": [(5, (3,)), (2, 6, (2, 2))],
}
SEEDED = {"randn", "rand", "randint"}


@pytest.mark.parametrize(("name", "args"), [(n, a) for n, cases in FACTORIES.items() for a in cases], ids=str)
def test_factories_give_torchs_values_dtype_and_shape(name, args):
    torch.manual_seed(0)
    expected = getattr(torch, name)(*args)
    tn.manual_seed(0)
    result = getattr(tn, name)(*args)
    assert type(result) is tn.Tensor and result.is_leaf and not result.requires_grad
    assert result.shape == expected.shape and result.dtype == expected.dtype and result.device == expected.device
    if name != "empty":
        assert torch.equal(result.data, expected)


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "randn", "rand"])
def test_factories_take_dtype_device_and_requires_grad(name):
    result = getattr(tn, name)(2, 3, dtype=torch.float64, device="cpu", requires_grad=True)
    assert result.dtype == torch.float64 and result.device.type == "cpu" and result.requires_grad and result.is_leaf
    (result * 2).sum().backward()
    assert torch.equal(result.gradient, torch.full((2, 3), 2.0, dtype=torch.float64))
    meta = getattr(tn, name)(4, device="meta")
    assert meta.device.type == "meta" and meta.shape == (4,)


@pytest.mark.parametrize(
    "call",
    [
        lambda m, **k: m.full((2,), 2.0, **k),
        lambda m, **k: m.eye(2, **k),
        lambda m, **k: m.arange(0.0, 3.0, **k),
        lambda m, **k: m.linspace(0, 1, 3, **k),
    ],
    ids=["full", "eye", "arange", "linspace"],
)
def test_factories_with_positional_sizes_take_the_keywords_too(call):
    result, expected = call(tn, dtype=torch.float64, requires_grad=True), call(torch, dtype=torch.float64)
    assert result.requires_grad and result.dtype == torch.float64 and torch.equal(result.data, expected)


@pytest.mark.parametrize("name", ["randn", "rand", "randint"])
def test_random_factories_take_a_generator(name):
    args = (10, (3,)) if name == "randint" else (3,)
    first = getattr(tn, name)(*args, generator=torch.Generator().manual_seed(7))
    second = getattr(tn, name)(*args, generator=torch.Generator().manual_seed(7))
    expected = getattr(torch, name)(*args, generator=torch.Generator().manual_seed(7))
    assert torch.equal(first.data, second.data) and torch.equal(first.data, expected)


def test_integer_factories_cannot_require_a_gradient_as_in_torch():
    with pytest.raises(RuntimeError):
        torch.arange(3, requires_grad=True)
    with pytest.raises((TypeError, RuntimeError), match="only floating-point tensors can require a gradient"):
        tn.arange(3, requires_grad=True)


LIKE = {  # name -> (call, whether its values are defined)
    "zeros_like": (lambda m, x: m.zeros_like(x), True),
    "ones_like int32": (lambda m, x: m.ones_like(x, dtype=torch.int32), True),
    "full_like": (lambda m, x: m.full_like(x, 2.5), True),
    "empty_like": (lambda m, x: m.empty_like(x), False),
    "randn_like": (lambda m, x: m.randn_like(x), True),
    "rand_like float32": (lambda m, x: m.rand_like(x, dtype=torch.float32), True),
}


@pytest.mark.parametrize("name", LIKE)
def test_like_factories_take_the_shape_dtype_and_device_of_engine_or_torch_tensors(name):
    call, defined = LIKE[name]
    x = randn(2, 3)
    torch.manual_seed(1)
    expected = call(torch, x)
    for source in (tn.Tensor(x, requires_grad=True), x):
        torch.manual_seed(1)
        result = call(tn, source)
        assert type(result) is tn.Tensor and result.is_leaf and not result.requires_grad
        assert result.shape == expected.shape and result.dtype == expected.dtype
        assert torch.equal(result.data, expected) or not defined
    assert tn.zeros_like(x, requires_grad=True).requires_grad


def test_manual_seed_makes_draws_reproducible_and_returns_torchs_generator():
    assert isinstance(tn.manual_seed(3), torch.Generator)
    first = tn.randn(4)
    tn.manual_seed(3)
    assert torch.equal(tn.randn(4).data, first.data)


# ---------------------------------------------------------------- functions of tensors


ELEMENTWISE = {
    "exp": randn,
    "log": positive,
    "sqrt": positive,
    "sigmoid": randn,
    "tanh": randn,
}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_functions(name):
    check_op(getattr(tn, name), getattr(torch, name), [ELEMENTWISE[name](3, 4)])


@given(seed=seeds)
def test_functions_of_two_tensors(seed):
    x, y = randn(3, 4, seed=seed).round(), randn(3, 4, seed=seed + 1).round()
    check_op(tn.maximum, torch.maximum, [x, y])
    check_op(tn.minimum, torch.minimum, [x, y])
    check_op(tn.matmul, torch.matmul, [x, y.T])
    check_op(tn.bmm, torch.bmm, [x[None], y.T[None]])
    check_op(tn.outer, torch.outer, [x[0], y[1]])
    check_op(lambda a: tn.clamp(a, -0.5, 0.5), lambda a: torch.clamp(a, -0.5, 0.5), [x])
    check_op(lambda a, b: tn.clamp(a, b - 1, b + 1), lambda a, b: torch.clamp(a, b - 1, b + 1), [x, y])
    check_op(lambda a: tn.softmax(a, 1), lambda a: torch.softmax(a, 1), [x])


def test_where_selects_and_with_a_condition_alone_gives_indices():
    x, y = randn(3, 4), randn(4, seed=1)
    check_op(lambda a, b: tn.where(a > 0, a, b), lambda a, b: torch.where(a > 0, a, b), [x, y])
    check_op(lambda a: tn.where(a > 0, a, 0.0), lambda a: torch.where(a > 0, a, 0.0), [x])
    check_op(lambda a: tn.where(a > 0, 1.0, a), lambda a: torch.where(a > 0, 1.0, a), [x])
    rows, columns = tn.where(tn.Tensor(x) > 0)
    expected = torch.where(x > 0)
    assert torch.equal(rows.data, expected[0]) and torch.equal(columns.data, expected[1])


def test_pieces_flatten_and_triangles():
    x = randn(4, 6)
    check_op(lambda a: tn.split(a, 4, 1)[1] * 2, lambda a: torch.split(a, 4, 1)[1] * 2, [x])
    check_op(lambda a: tn.split(a, [1, 3])[1], lambda a: torch.split(a, [1, 3])[1], [x])
    check_op(lambda a: tn.chunk(a, 3, 1)[2], lambda a: torch.chunk(a, 3, 1)[2], [x])
    check_op(lambda a: tn.flatten(a[None], 1), lambda a: torch.flatten(a[None], 1), [x])
    check_op(lambda a: tn.tril(a, 1) + tn.triu(a, -1), lambda a: torch.tril(a, 1) + torch.triu(a, -1), [x])
    check_op(lambda a, b: tn.cat([a, b], 1), lambda a, b: torch.cat([a, b], 1), [x, randn(4, 1, seed=1)])
    check_op(lambda a: tn.stack([a, a * 2], -1), lambda a: torch.stack([a, a * 2], -1), [x])


@pytest.mark.parametrize("indexing", ["ij", "xy"])
@given(sizes=st.lists(st.integers(1, 4), min_size=1, max_size=3), seed=seeds)
def test_meshgrid(indexing, sizes, seed):
    vectors = [randn(size, seed=seed + i) for i, size in enumerate(sizes)]

    def weighted_sum(module, *xs):
        grids = module.meshgrid(*xs, indexing=indexing)
        return sum((i + 1) * grid for i, grid in enumerate(grids))

    check_op(lambda *xs: weighted_sum(tn, *xs), lambda *xs: weighted_sum(torch, *xs), vectors)
    as_list = tn.meshgrid([tn.Tensor(v) for v in vectors], indexing=indexing)
    assert [g.shape for g in as_list] == [g.shape for g in torch.meshgrid(vectors, indexing=indexing)]


def test_meshgrid_without_indexing_warns_and_uses_ij_as_torch():
    x, y = randn(2), randn(3, seed=1)
    with pytest.warns(UserWarning, match="pass the indexing argument"):
        grids = tn.meshgrid(tn.Tensor(x), tn.Tensor(y))
    assert grids[0].shape == (2, 3) and torch.equal(grids[1].data, torch.meshgrid(x, y, indexing="ij")[1])


def test_outer_refuses_matrices_as_torch():
    with pytest.raises(RuntimeError, match=r"outer: Expected 1-D argument self, but got 2-D"):
        tn.outer(tn.Tensor(randn(2, 2)), tn.Tensor(randn(2)))


def test_namespace_functions_take_torch_tensors_and_numpy_arrays():
    raw = randn(2, 3)
    for result in (tn.exp(raw), tn.sigmoid(raw.numpy()), tn.einsum("ij->j", raw)):
        assert type(result) is tn.Tensor and not result.requires_grad
    assert math.isclose(tn.einsum("ij->", raw).item(), raw.sum().item())
