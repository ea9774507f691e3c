"""Losses (losses.py, ops/loss.py) against torch.autograd in float64: regression losses, kl_div, the binary
cross-entropies, softmax; errors, dtypes and device-cleanliness of every loss (class losses included)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import check_op, randn, seeds, shapes
from tests.test_ops_class_losses import CLASS_ERRORS, distribution
from tinygrad_n2n import functional as F
from tinygrad_n2n import nn

reductions = st.sampled_from(["mean", "sum", "none"])


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@given(shape=shapes(min_dims=0), reduction=reductions, target_grad=st.booleans(), seed=seeds)
def test_regression_losses(name, shape, reduction, target_grad, seed):
    x, target = randn(*shape, seed=seed), randn(*shape, seed=seed + 1)
    check_op(
        lambda a, t: getattr(F, name)(a, t, reduction=reduction),
        lambda a, t: getattr(torch_F, name)(a, t, reduction=reduction),
        [x, target],
        grad_inputs=[True, target_grad],
    )


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_regression_losses_default_to_mean_and_accept_torch_targets(name):
    target = randn(3, 4, seed=9)
    check_op(lambda a: getattr(F, name)(a, target), lambda a: getattr(torch_F, name)(a, target), [randn(3, 4)])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(shape=shapes(min_dims=1), data=st.data(), seed=seeds)
def test_softmax_and_log_softmax(name, shape, data, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    check_op(
        lambda a: getattr(F, name)(a, dim=dim),
        lambda a: getattr(torch_F, name)(a, dim=dim),
        [randn(*shape, seed=seed, scale=3.0)],
    )


def test_log_softmax_is_stable_for_large_logits():
    logits = torch.tensor([[1000.0, 0.0, -1000.0]], dtype=torch.float64)
    check_op(lambda a: F.log_softmax(a, 1), lambda a: torch_F.log_softmax(a, 1), [logits])
    check_op(
        lambda a: F.cross_entropy(a, torch.tensor([2])),
        lambda a: torch_F.cross_entropy(a, torch.tensor([2])),
        [logits],
    )


# ---------------------------------------------------------------- torch's full loss family (losses.py, class_losses.py)

POINTWISE = {  # name -> (engine fn, torch fn), each f(x, t, **options)
    "smooth_l1_loss": (
        lambda x, t, **o: F.smooth_l1_loss(x, t, beta=0.5, **o),
        lambda x, t, **o: torch_F.smooth_l1_loss(x, t, beta=0.5, **o),
    ),
    "smooth_l1_loss(beta=0)": (
        lambda x, t, **o: F.smooth_l1_loss(x, t, beta=0.0, **o),
        lambda x, t, **o: torch_F.smooth_l1_loss(x, t, beta=0.0, **o),
    ),
    "huber_loss": (
        lambda x, t, **o: F.huber_loss(x, t, delta=0.7, **o),
        lambda x, t, **o: torch_F.huber_loss(x, t, delta=0.7, **o),
    ),
    "huber_loss(default)": (F.huber_loss, torch_F.huber_loss),
}


@pytest.mark.parametrize("name", POINTWISE)
@given(shape=shapes(min_dims=0), reduction=reductions, target_grad=st.booleans(), seed=seeds)
def test_smooth_l1_and_huber(name, shape, reduction, target_grad, seed):
    engine_fn, torch_fn = POINTWISE[name]
    check_op(
        lambda a, t: engine_fn(a, t, reduction=reduction),
        lambda a, t: torch_fn(a, t, reduction=reduction),
        [randn(*shape, seed=seed), randn(*shape, seed=seed + 1)],
        grad_inputs=[True, target_grad],
    )


@pytest.mark.parametrize("name", ["smooth_l1_loss", "huber_loss"])
def test_smooth_l1_and_huber_at_the_switch_points(name):
    engine_fn, torch_fn = POINTWISE[name]
    x = torch.tensor([-0.7, -0.5, 0.0, 0.5, 0.7, 3.0], dtype=torch.float64)
    check_op(
        lambda a: engine_fn(a, torch.zeros(6, dtype=torch.float64), reduction="none"),
        lambda a: torch_fn(a, torch.zeros(6, dtype=torch.float64), reduction="none"),
        [x],
    )


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@given(shape=shapes(min_dims=0, max_dims=3), reduction=reductions, seed=seeds)
def test_weighted_pointwise_losses(name, shape, reduction, seed):
    """torch 2.13's weight= (x's shape): 'mean' divides by Σ weight (mse, l1) or by the count (huber); the weight
    gets a gradient too, as in torch."""
    weight = randn(*shape, seed=seed + 2).abs() + 0.1
    check_op(
        lambda a, t, w: getattr(F, name)(a, t, reduction=reduction, weight=w),
        lambda a, t, w: getattr(torch_F, name)(a, t, reduction=reduction, weight=w),
        [randn(*shape, seed=seed), randn(*shape, seed=seed + 1), weight],
    )


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_pointwise_losses_broadcast_a_target_of_another_shape_with_torchs_warning(name):
    target = randn(3, seed=1)
    with pytest.warns(UserWarning, match="different to the input size"):
        check_op(lambda a: getattr(F, name)(a, target), lambda a: getattr(torch_F, name)(a, target), [randn(2, 3)])


LEGACY = [(None, None), (True, None), (False, None), (None, True), (None, False), (True, False), (False, True)]


@pytest.mark.parametrize("size_average, reduce", LEGACY)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "kl_div", "binary_cross_entropy"])
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_deprecated_size_average_and_reduce_give_torchs_reduction(name, size_average, reduce):
    x, target = torch.rand(2, 3, dtype=torch.float64) * 0.8 + 0.1, torch.rand(2, 3, dtype=torch.float64)
    check_op(
        lambda a: getattr(F, name)(a, target, size_average=size_average, reduce=reduce),
        lambda a: getattr(torch_F, name)(a, target, size_average=size_average, reduce=reduce),
        [x],
    )


def test_a_reduction_passed_positionally_into_size_average_is_refused():
    """torch would read 'sum' there as size_average=True and silently return the mean."""
    with pytest.raises(TypeError, match=r"mse_loss: size_average must be a bool or None.*reduction='sum'"):
        F.mse_loss(randn(3), randn(3), "sum")


@given(
    shape=shapes(min_dims=1, max_dims=3),
    reduction=st.sampled_from(["mean", "sum", "none", "batchmean"]),
    log_target=st.booleans(),
    target_grad=st.booleans(),
    seed=seeds,
)
@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
def test_kl_div(shape, reduction, log_target, target_grad, seed):
    """Targets with exact zeros: t log t is 0 there (its target gradient nan, as torch's)."""
    target = distribution(*shape, seed=seed + 1, zeros=True)
    target = target.log() if log_target else target
    check_op(
        lambda a, t: F.kl_div(a, t, reduction=reduction, log_target=log_target),
        lambda a, t: torch_F.kl_div(a, t, reduction=reduction, log_target=log_target),
        [torch.log(distribution(*shape, seed=seed)), target],
        grad_inputs=[True, target_grad],
    )


def test_kl_div_warns_like_torch_for_mean():
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(randn(2, 3), distribution(2, 3, seed=1))


@given(
    shape=shapes(min_dims=0, max_dims=3),
    reduction=reductions,
    weighted=st.sampled_from(["none", "full", "last"]),
    target_grad=st.booleans(),
    seed=seeds,
)
def test_binary_cross_entropy(shape, reduction, weighted, target_grad, seed):
    probabilities = torch.sigmoid(randn(*shape, seed=seed, scale=2.0))
    weight_shape = {"none": None, "full": shape, "last": shape[-1:]}[weighted]
    weight = None if weight_shape is None else randn(*weight_shape, seed=seed + 2).abs()
    check_op(
        lambda a, t: F.binary_cross_entropy(a, t, weight, reduction=reduction),
        lambda a, t: torch_F.binary_cross_entropy(a, t, weight, reduction=reduction),
        [probabilities, torch.rand(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))],
        grad_inputs=[True, target_grad],
    )


def test_binary_cross_entropy_at_0_and_1_clamps_the_log_and_the_gradient_as_torch():
    x = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5], dtype=torch.float64)
    target = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.3], dtype=torch.float64)
    ours = tn.Tensor(x.clone(), requires_grad=True)
    theirs = x.clone().requires_grad_()
    loss, expected = (
        F.binary_cross_entropy(ours, target, reduction="sum"),
        torch_F.binary_cross_entropy(theirs, target, reduction="sum"),
    )
    loss.backward()
    expected.backward()
    torch.testing.assert_close(loss.data, expected.detach(), rtol=1e-12, atol=0)  # 200 + the finite element
    torch.testing.assert_close(ours.gradient, theirs.grad, rtol=1e-12, atol=0)  # ±1e12 where the clamp bites


@given(
    shape=shapes(min_dims=1, max_dims=3),
    reduction=reductions,
    weighted=st.booleans(),
    positive=st.booleans(),
    target_grad=st.booleans(),
    seed=seeds,
)
def test_binary_cross_entropy_with_logits(shape, reduction, weighted, positive, target_grad, seed):
    weight = randn(*shape, seed=seed + 2).abs() if weighted else None
    pos_weight = randn(shape[-1], seed=seed + 3).abs() + 0.2 if positive else None  # per class, broadcast
    options = {"weight": weight, "reduction": reduction, "pos_weight": pos_weight}
    check_op(
        lambda a, t: F.binary_cross_entropy_with_logits(a, t, **options),
        lambda a, t: torch_F.binary_cross_entropy_with_logits(a, t, **options),
        [
            randn(*shape, seed=seed, scale=3.0),
            torch.rand(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)),
        ],
        grad_inputs=[True, target_grad],
    )


def test_binary_cross_entropy_with_logits_is_stable_for_large_logits():
    logits = torch.tensor([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=torch.float64)
    target = torch.tensor([1.0, 0.0, 0.5, 1.0, 0.0], dtype=torch.float64)
    for pos_weight in (None, torch.tensor(3.0, dtype=torch.float64)):
        check_op(
            lambda a, t, p=pos_weight: F.binary_cross_entropy_with_logits(a, t, pos_weight=p),
            lambda a, t, p=pos_weight: torch_F.binary_cross_entropy_with_logits(a, t, pos_weight=p),
            [logits, target],
        )


LOSS_ERRORS = {  # id -> (call(module, x) with x: (3, 4) scores, the engine's message); torch raises the same type
    "kl_div-integral": (lambda M, x: M.kl_div(x, torch.ones(3, 4, dtype=torch.long)), "Integral inputs not supported"),
    "binary_cross_entropy-shape": (lambda M, x: M.binary_cross_entropy(x.sigmoid(), torch.rand(4)), "target size"),
    "binary_cross_entropy-range": (
        lambda M, x: M.binary_cross_entropy(x.exp() + 1, torch.rand(3, 4)),
        "between 0 and 1",
    ),
    "binary_cross_entropy_with_logits-shape": (
        lambda M, x: M.binary_cross_entropy_with_logits(x, torch.rand(4)),
        r"Target size \(\(4,\)\) must be the same as input size",
    ),
    "smooth_l1_loss-beta": (lambda M, x: M.smooth_l1_loss(x, x, beta=-1.0), "beta must not be negative"),
    "huber_loss-delta": (lambda M, x: M.huber_loss(x, x, delta=0.0), "delta must be positive"),
    "mse_loss-weight": (
        lambda M, x: M.mse_loss(x, x, weight=torch.ones(4)),
        "Weights and input must have the same size",
    ),
    "mse_loss-broadcast": (lambda M, x: M.mse_loss(x, torch.ones(5)), "do not broadcast"),
    **CLASS_ERRORS,
}


@pytest.mark.parametrize("case", LOSS_ERRORS)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_errors_name_the_function_and_have_torchs_type(case):
    call, message = LOSS_ERRORS[case]
    x = torch.randn(3, 4)
    with pytest.raises(Exception) as expected:
        call(torch_F, x)
    name = case.split("-")[0]
    with pytest.raises(type(expected.value), match=f"^{name}: .*{message}"):
        call(F, tn.Tensor(x, requires_grad=True))


@pytest.mark.parametrize(
    "name", ["cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"]
)
def test_a_class_weight_that_needs_a_gradient_is_refused_as_in_torch(name):
    x, weight = torch.rand(3, 4), torch.rand(4, requires_grad=True)
    target = (
        torch.tensor([0, 1, 2])
        if ("entropy" in name and "binary" not in name) or name == "nll_loss"
        else torch.rand(3, 4)
    )
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        getattr(torch_F, name)(x.requires_grad_(), target, weight).backward()
    with pytest.raises(RuntimeError, match=f"^{name}: .*not differentiable with respect to argument 'weight'"):
        getattr(F, name)(
            tn.Tensor(x.detach(), requires_grad=True), target, tn.Tensor(weight.detach(), requires_grad=True)
        )


LOSSES = {  # name -> call(module, x (3, 4) scores, t (3, 4) in [0, 1], indices (3,), w (4,))
    "nll_loss": lambda M, x, t, i, w: M.nll_loss(x, i, w),
    "cross_entropy": lambda M, x, t, i, w: M.cross_entropy(x, i, w, label_smoothing=0.1),
    "cross_entropy-probabilities": lambda M, x, t, i, w: M.cross_entropy(x, t, w),
    "binary_cross_entropy": lambda M, x, t, i, w: M.binary_cross_entropy(x.sigmoid(), t, w),
    "binary_cross_entropy_with_logits": lambda M, x, t, i, w: M.binary_cross_entropy_with_logits(x, t, w, pos_weight=w),
    "kl_div": lambda M, x, t, i, w: M.kl_div(x, t, reduction="batchmean"),
    "smooth_l1_loss": lambda M, x, t, i, w: M.smooth_l1_loss(x, t),
    "huber_loss": lambda M, x, t, i, w: M.huber_loss(x, t, weight=t),
    "mse_loss": lambda M, x, t, i, w: M.mse_loss(x, t, weight=t),
}


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_float32_in_float32_out_and_device_clean(name, device):
    """float32 stays float32 (values as torch's); on the meta device (no host reads possible) backward runs."""
    raw = [torch.randn(3, 4), torch.rand(3, 4), torch.tensor([0, 3, 1]), torch.rand(4) + 0.5]
    raw = [r.to(device) for r in raw]
    x = tn.Tensor(raw[0], requires_grad=True)
    out = LOSSES[name](F, x, *raw[1:])
    out.backward()
    assert out.dtype == torch.float32 and x.gradient.dtype == torch.float32 and x.gradient.device.type == device
    if device == "cpu":
        torch.testing.assert_close(out.data, LOSSES[name](torch_F, *raw))
    assert getattr(nn.functional, name.split("-")[0]) is getattr(F, name.split("-")[0])
