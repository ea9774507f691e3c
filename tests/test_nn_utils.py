"""nn.utils against torch.nn.utils on identical gradients: clip_grad_norm_ (every norm type, inf included),
clip_grad_value_, get_total_norm, clip_grads_with_norm_, parameters_to_vector and vector_to_parameters."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tinygrad_n2n import nn
from tinygrad_n2n.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
    parameters_to_vector,
    vector_to_parameters,
)

SHAPES = [(3, 2), (5,), (2, 2, 2)]


def _pair(seed: int, scale: float = 1.0, dtypes=(torch.float64,) * 3, without_grad: int | None = None):
    """Engine parameters and torch leaves with identical data and gradients (one may have no gradient)."""
    gen = torch.Generator().manual_seed(seed)
    ours, theirs = [], []
    for index, (shape, dtype) in enumerate(zip(SHAPES, dtypes)):
        data = torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype)
        grad = (scale * torch.randn(shape, generator=gen, dtype=torch.float64)).to(dtype)
        ours.append(nn.Parameter(data.clone()))
        theirs.append(data.clone().requires_grad_(True))
        if index != without_grad:
            ours[-1].gradient, theirs[-1].grad = grad.clone(), grad.clone()
    return ours, theirs


def _assert_same_grads(ours, theirs):
    for mine, reference in zip(ours, theirs):
        if reference.grad is None:
            assert mine.gradient is None
        else:
            assert mine.gradient.dtype == reference.grad.dtype
            torch.testing.assert_close(mine.gradient, reference.grad, rtol=1e-15, atol=0)


@given(
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([1e-3, 0.1, 1.0, 10.0]),
    max_norm=st.floats(0.01, 20.0),
    norm_type=st.sampled_from([1, 1.5, 2.0, 3, math.inf, -math.inf, 0.5, "inf"]),
    foreach=st.sampled_from([None, False, True]),
    without_grad=st.sampled_from([None, 1]),
)
def test_clip_grad_norm_matches_torch(seed, scale, max_norm, norm_type, foreach, without_grad):
    ours, theirs = _pair(seed, scale, without_grad=without_grad)
    norm_type = float(norm_type)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type, foreach=foreach)
    reference = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type, foreach=foreach)
    assert isinstance(total, torch.Tensor) and total.dtype == reference.dtype and total.shape == ()
    torch.testing.assert_close(total, reference, rtol=1e-15, atol=0)
    _assert_same_grads(ours, theirs)


def test_clip_grad_norm_of_mixed_dtypes_and_a_single_parameter_matches_torch():
    ours, theirs = _pair(1, 5.0, dtypes=(torch.float32, torch.float64, torch.float32))
    torch.testing.assert_close(
        clip_grad_norm_(ours, 1.0), torch.nn.utils.clip_grad_norm_(theirs, 1.0), rtol=1e-15, atol=0
    )
    _assert_same_grads(ours, theirs)
    total = clip_grad_norm_(ours[1], 0.1, norm_type="inf")
    torch.testing.assert_close(total, torch.nn.utils.clip_grad_norm_(theirs[1], 0.1, norm_type="inf"))
    _assert_same_grads(ours, theirs)


def test_clip_grad_norm_leaves_small_gradients_and_reaches_max_norm():
    ours, _ = _pair(2, 1e-3)
    before = [p.gradient.clone() for p in ours]
    clip_grad_norm_(ours, 1.0)
    assert all(torch.equal(p.gradient, b) for p, b in zip(ours, before))
    ours, _ = _pair(2, 100.0)
    clip_grad_norm_(ours, 1.0)
    assert math.isclose(float(get_total_norm([p.gradient for p in ours])), 1.0, rel_tol=1e-5)


def test_clip_grad_norm_with_nonfinite_gradients_like_torch():
    ours, theirs = _pair(3)
    ours[0].gradient[0, 0] = theirs[0].grad[0, 0] = float("nan")
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    assert clip_grad_norm_(ours, 1.0).isnan() and torch.nn.utils.clip_grad_norm_(theirs, 1.0).isnan()
    for mine, reference in zip(ours, theirs):
        torch.testing.assert_close(mine.gradient, reference.grad, equal_nan=True)


def test_clip_grad_norm_without_gradients_like_torch():
    assert torch.equal(clip_grad_norm_([nn.Parameter(torch.ones(2))], 1.0), torch.tensor(0.0))
    assert torch.equal(clip_grad_norm_([], 1.0), torch.nn.utils.clip_grad_norm_([], 1.0))
    with pytest.warns(UserWarning, match="empty generator"):
        clip_grad_norm_((p for p in []), 1.0)


def test_get_total_norm_and_clip_grads_with_norm_match_torch():
    ours, theirs = _pair(4, 3.0)
    total = get_total_norm([p.gradient for p in ours], norm_type=3.0)
    reference = torch.nn.utils.get_total_norm([p.grad for p in theirs], norm_type=3.0)
    torch.testing.assert_close(total, reference, rtol=1e-15, atol=0)
    clip_grads_with_norm_(ours, 2.0, total)
    torch.nn.utils.clip_grads_with_norm_(theirs, 2.0, reference)
    _assert_same_grads(ours, theirs)


@given(
    seed=st.integers(0, 2**16),
    clip_value=st.floats(0.0, 3.0),
    foreach=st.sampled_from([None, False, True]),
    without_grad=st.sampled_from([None, 0]),
)
def test_clip_grad_value_matches_torch(seed, clip_value, foreach, without_grad):
    ours, theirs = _pair(seed, 2.0, dtypes=(torch.float32, torch.float64, torch.float64), without_grad=without_grad)
    assert clip_grad_value_(ours, clip_value, foreach=foreach) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value, foreach=foreach)
    _assert_same_grads(ours, theirs)


def test_reachable_as_torch_names_and_record_nothing():
    assert nn.utils.clip_grad_norm_ is clip_grad_norm_ and tn.nn.utils.clip_grad_value_ is clip_grad_value_
    ours, _ = _pair(5, 10.0)
    before = tn.tape.tape_length()
    clip_grad_norm_(ours, 1.0)
    clip_grad_value_(ours, 0.1)
    assert tn.tape.tape_length() == before and all(not p.gradient.requires_grad for p in ours)


def test_parameters_to_vector_matches_torch_and_is_differentiable():
    ours, theirs = _pair(6)
    vector = parameters_to_vector(ours)
    reference = torch.nn.utils.parameters_to_vector(theirs)
    assert isinstance(vector, tn.Tensor) and vector.shape == reference.shape == (sum(p.numel() for p in ours),)
    assert torch.equal(vector.data, reference.detach())
    for mine, expected in zip(ours, theirs):
        mine.gradient = expected.grad = None
    (vector * torch.arange(vector.shape[0], dtype=torch.float64)).sum().backward()
    (reference * torch.arange(reference.shape[0], dtype=torch.float64)).sum().backward()
    for mine, expected in zip(ours, theirs):
        assert torch.equal(mine.gradient, expected.grad)


def test_vector_to_parameters_matches_torch_and_shares_memory():
    ours, theirs = _pair(7)
    values = torch.linspace(-1, 1, 20, dtype=torch.float64)
    vector_to_parameters(tn.Tensor(values), ours)
    torch.nn.utils.vector_to_parameters(values.clone(), theirs)
    for mine, expected in zip(ours, theirs):
        assert mine.shape == expected.shape and torch.equal(mine.data, expected.detach())
    values[0] = 42.0
    assert ours[0].data[0, 0] == 42.0, "as in torch, each parameter's data views the vector"
    round_trip = parameters_to_vector(ours)
    assert torch.equal(round_trip.data, values[:19])
    with pytest.raises(TypeError, match=r"expected torch\.Tensor"):
        vector_to_parameters([1.0, 2.0], ours)
    with pytest.raises(RuntimeError):
        vector_to_parameters(torch.zeros(3), ours)
