"""Normalisations (normalization.py, ops/norm.py) against torch.autograd in float64, running stats included."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import check_op, randn, seeds, shapes
from tinygrad_n2n import functional as F
from tinygrad_n2n import nn


def affine(shape: tuple[int, ...], seed: int, enabled: bool) -> list[torch.Tensor]:
    """[weight, bias] of `shape`, or [] when `enabled` is False."""
    return [randn(*shape, seed=seed + 7) + 1, randn(*shape, seed=seed + 8)] if enabled else []


def with_affine(fn):
    """fn(x, weight=None, bias=None) as a function of check_op's inputs (x, or x, weight, bias)."""
    return lambda x, *wb: fn(x, *(wb or (None, None)))


@given(shape=shapes(min_dims=1, max_dims=4), data=st.data(), affine_on=st.booleans(), seed=seeds)
def test_layer_norm(shape, data, affine_on, seed):
    normalized = shape[len(shape) - data.draw(st.integers(1, len(shape)), label="normalized dims") :]
    eps = data.draw(st.sampled_from([1e-5, 0.1]), label="eps")
    check_op(
        with_affine(lambda x, w, b: F.layer_norm(x, normalized, w, b, eps)),
        with_affine(lambda x, w, b: torch_F.layer_norm(x, normalized, w, b, eps)),
        [randn(*shape, seed=seed, scale=3.0), *affine(normalized, seed, affine_on)],
    )


@given(
    batch=st.integers(1, 3),
    groups=st.integers(1, 3),
    per_group=st.integers(1, 3),
    spatial=shapes(max_dims=2, max_side=3),
    affine_on=st.booleans(),
    seed=seeds,
)
def test_group_norm(batch, groups, per_group, spatial, affine_on, seed):
    channels = groups * per_group
    if batch * per_group * math.prod(spatial) == 1:
        return  # a single value per group: torch refuses it (tested below)
    check_op(
        with_affine(lambda x, w, b: F.group_norm(x, groups, w, b)),
        with_affine(lambda x, w, b: torch_F.group_norm(x, groups, w, b)),
        [randn(batch, channels, *spatial, seed=seed, scale=2.0), *affine((channels,), seed, affine_on)],
    )


def stats(channels: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    return randn(channels, seed=seed + 3), randn(channels, seed=seed + 4).abs() + 0.5


@given(
    batch=st.integers(2, 4),
    channels=st.integers(1, 3),
    spatial=shapes(max_dims=2, max_side=3),
    training=st.booleans(),
    tracked=st.booleans(),
    affine_on=st.booleans(),
    momentum=st.sampled_from([0.1, 0.5, 1.0]),
    seed=seeds,
)
def test_batch_norm(batch, channels, spatial, training, tracked, affine_on, momentum, seed):
    """Training and eval, with and without running stats; the running stats end up as torch's."""
    tracked = tracked or not training  # eval needs running stats
    ours = stats(channels, seed) if tracked else (None, None)
    theirs = tuple(s.clone() for s in ours) if tracked else (None, None)
    check_op(
        with_affine(lambda x, w, b: F.batch_norm(x, *ours, w, b, training, momentum)),
        with_affine(lambda x, w, b: torch_F.batch_norm(x, *theirs, w, b, training, momentum)),
        [randn(batch, channels, *spatial, seed=seed, scale=2.0), *affine((channels,), seed, affine_on)],
    )
    if tracked:
        torch.testing.assert_close(ours, theirs, atol=1e-12, rtol=0)


def test_batch_norm_momentum_none_is_a_cumulative_average_through_momentum_one_over_n():
    """torch.nn.BatchNorm(momentum=None) averages all batches; F.batch_norm takes it as momentum = 1 / n."""
    layer = torch.nn.BatchNorm1d(3, momentum=None, dtype=torch.float64)
    running = stats(3, 0)
    layer.running_mean.copy_(running[0])
    layer.running_var.copy_(running[1])
    for n in range(1, 4):
        x = randn(4, 3, 2, seed=n)
        layer(x)
        F.batch_norm(x, *running, training=True, momentum=1 / n)
    torch.testing.assert_close(running, (layer.running_mean, layer.running_var), atol=1e-12, rtol=0)


def test_batch_norm_updates_engine_buffers_in_place():
    mean, var = tn.Tensor(torch.zeros(2, dtype=torch.float64)), tn.Tensor(torch.ones(2, dtype=torch.float64))
    x = randn(5, 2, seed=1)
    F.batch_norm(x, mean, var, training=True, momentum=1.0)
    torch.testing.assert_close(mean.data, x.mean(0))
    torch.testing.assert_close(var.data, x.var(0))


@given(
    batch=st.integers(1, 3),
    channels=st.integers(1, 3),
    spatial=shapes(min_dims=1, max_dims=2, min_side=2, max_side=3),
    use_input_stats=st.booleans(),
    tracked=st.booleans(),
    affine_on=st.booleans(),
    seed=seeds,
)
def test_instance_norm(batch, channels, spatial, use_input_stats, tracked, affine_on, seed):
    tracked = tracked or not use_input_stats
    ours = stats(channels, seed) if tracked else (None, None)
    theirs = tuple(s.clone() for s in ours) if tracked else (None, None)
    check_op(
        with_affine(lambda x, w, b: F.instance_norm(x, *ours, w, b, use_input_stats, 0.3)),
        with_affine(lambda x, w, b: torch_F.instance_norm(x, *theirs, w, b, use_input_stats, 0.3)),
        [randn(batch, channels, *spatial, seed=seed, scale=2.0), *affine((channels,), seed, affine_on)],
    )
    if tracked:
        torch.testing.assert_close(ours, theirs, atol=1e-12, rtol=0)


ORDERS = [2.0, 1.0, 3.0, 1.5, 0.5, math.inf, -math.inf, 0.0]


@given(shape=shapes(min_dims=1, max_dims=3), data=st.data(), p=st.sampled_from(ORDERS), seed=seeds)
def test_normalize(shape, data, p, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    x = randn(*shape, seed=seed)
    x[..., 0] = 0  # zero entries (and, along the last dim of size 1, zero vectors)
    check_op(lambda a: F.normalize(a, p, dim), lambda a: torch_F.normalize(a, p, dim), [x])


def test_normalize_defaults_and_zero_vectors():
    x = torch.tensor([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0], [1e-13, 0.0, 0.0]], dtype=torch.float64)
    check_op(F.normalize, torch_F.normalize, [x])
    check_op(lambda a: F.normalize(a, dim=0, eps=0.5), lambda a: torch_F.normalize(a, dim=0, eps=0.5), [x])
    ties = torch.tensor([[2.0, -2.0, 1.0], [0.5, 0.5, 0.5]], dtype=torch.float64)  # ∞-norm: the gradient is split
    check_op(lambda a: F.normalize(a, math.inf), lambda a: torch_F.normalize(a, math.inf), [ties])


@given(pair=st.sampled_from([((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((5,), (5,))]), seed=seeds)
def test_cosine_similarity_broadcasts(pair, seed):
    a, b = randn(*pair[0], seed=seed), randn(*pair[1], seed=seed + 1)
    ndim = max(len(pair[0]), len(pair[1]))
    for dim in range(-ndim, ndim):
        check_op(
            lambda x, y, dim=dim: F.cosine_similarity(x, y, dim),
            lambda x, y, dim=dim: torch_F.cosine_similarity(x, y, dim),
            [a, b],
        )


def test_cosine_similarity_of_zero_and_tiny_vectors_matches_torchs_unclamped_gradient():
    a = torch.tensor([[0.0, 0.0], [1e-9, 0.0], [1.0, 2.0]], dtype=torch.float64)
    b = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.0, 0.0]], dtype=torch.float64)
    check_op(F.cosine_similarity, torch_F.cosine_similarity, [a, b], atol=1e-6)
    check_op(
        lambda x, y: F.cosine_similarity(x, y, eps=1e-12),
        lambda x, y: torch_F.cosine_similarity(x, y, eps=1e-12),
        [a, b],
        atol=1e-6,
    )


ERRORS = {  # id -> (call(module, x) with x: (2, 4, 4), the engine's message); torch raises the same type
    "layer_norm-int-shape": (lambda M, x: M.layer_norm(x, 4), "normalized_shape must be a tuple of ints"),
    "layer_norm-shape": (lambda M, x: M.layer_norm(x, (3,)), r"Given normalized_shape=\[3\], expected input"),
    "layer_norm-weight": (lambda M, x: M.layer_norm(x, (4,), torch.ones(3)), "Expected weight to be of same shape"),
    "group_norm-groups": (lambda M, x: M.group_norm(x, 3), "divisible by num_groups, but got input of shape"),
    "group_norm-zero-groups": (lambda M, x: M.group_norm(x, 0), "num_groups must be positive"),
    "group_norm-one-value": (lambda M, x: M.group_norm(x[:1, :2, 0], 2), "Expected more than 1 value per channel"),
    "group_norm-weight": (lambda M, x: M.group_norm(x, 2, torch.ones(3)), r"weight must have shape \(4,\)"),
    "batch_norm-eval-no-stats": (lambda M, x: M.batch_norm(x, None, None), "running_mean must be defined in eval"),
    "batch_norm-momentum-none": (
        lambda M, x: M.batch_norm(x, None, None, training=True, momentum=None),
        "momentum must be a float, got None; for a cumulative average",
    ),
    "batch_norm-stats-shape": (
        lambda M, x: M.batch_norm(x, torch.zeros(3), torch.ones(3)),
        r"running_mean must have shape \(4,\)",
    ),
    "batch_norm-one-value": (
        lambda M, x: M.batch_norm(x[:1, :, :1], None, None, training=True),
        "Expected more than 1 value per channel when training",
    ),
    "batch_norm-eps": (lambda M, x: M.batch_norm(x, None, None, training=True, eps=0.0), "eps must be positive"),
    "batch_norm-1d": (lambda M, x: M.batch_norm(x[0, 0], None, None, training=True), "at least 2 dims"),
    "instance_norm-half-stats": (lambda M, x: M.instance_norm(x, torch.zeros(4)), "both be None or neither"),
    "instance_norm-no-stats": (
        lambda M, x: M.instance_norm(x, use_input_stats=False),
        "Expected running_mean and running_var to be defined",
    ),
    "instance_norm-one-position": (lambda M, x: M.instance_norm(x[..., :1]), "more than 1 spatial element"),
    "normalize-dim": (lambda M, x: M.normalize(x, dim=3), r"Dimension out of range \(expected to be in range of"),
    "cosine_similarity-shapes": (lambda M, x: M.cosine_similarity(x, torch.ones(5)), "do not broadcast together"),
    "cosine_similarity-int": (
        lambda M, x: M.cosine_similarity(torch.ones(2, dtype=torch.long), torch.ones(2, dtype=torch.long), 0),
        "expected a floating-point common dtype",
    ),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_name_the_function_and_have_torchs_type(case):
    call, message = ERRORS[case]
    x = torch.randn(2, 4, 4)
    with pytest.raises(Exception) as expected:
        call(torch_F, x)
    name = case.split("-")[0]
    with pytest.raises(type(expected.value), match=f"^{name}: .*{message}"):
        call(F, tn.Tensor(x, requires_grad=True))


def test_normalize_out_is_refused_with_advice():
    with pytest.raises(TypeError, match="normalize: out= is not supported"):
        F.normalize(tn.Tensor(torch.randn(2, 3)), out=torch.empty(2, 3))


NORMS = {  # name -> call(module, x, weight, bias, running_mean, running_var) with x: (2, 4, 3)
    "layer_norm": lambda M, x, w, b, rm, rv: M.layer_norm(x, (3,), w[:3], b[:3]),
    "group_norm": lambda M, x, w, b, rm, rv: M.group_norm(x, 2, w, b),
    "batch_norm-train": lambda M, x, w, b, rm, rv: M.batch_norm(x, rm, rv, w, b, True),
    "batch_norm-eval": lambda M, x, w, b, rm, rv: M.batch_norm(x, rm, rv, w, b),
    "instance_norm": lambda M, x, w, b, rm, rv: M.instance_norm(x, rm, rv, w, b),
    "normalize": lambda M, x, w, b, rm, rv: M.normalize(x, 3.0),
    "cosine_similarity": lambda M, x, w, b, rm, rv: M.cosine_similarity(x, x * 2, -1),
}


@pytest.mark.parametrize("name", NORMS)
@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_float32_in_float32_out_and_device_clean(name, device):
    """float32 stays float32 (values as torch's); on the meta device (no host reads possible) backward runs."""
    raw = [torch.randn(2, 4, 3), torch.rand(4) + 0.5, torch.randn(4), torch.zeros(4), torch.ones(4)]
    raw = [t.to(device) for t in raw]
    x, w, b = (tn.Tensor(t, requires_grad=True) for t in raw[:3])
    out = NORMS[name](F, x, w, b, raw[3].clone(), raw[4].clone())
    out.sum().backward()
    assert out.dtype == torch.float32 and x.gradient.dtype == torch.float32 and x.gradient.device.type == device
    if device == "cpu":
        torch.testing.assert_close(out.data, NORMS[name](torch_F, *raw))
    assert getattr(nn.functional, name.split("-")[0]) is getattr(F, name.split("-")[0])
