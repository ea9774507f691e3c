"""Losses and normalisations (ops/loss.py via functional) against torch in float64."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import check_op, randn, seeds, shapes
from tinygrad_n2n import functional as F

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


@given(
    batch=st.integers(1, 4),
    classes=st.integers(1, 5),
    spatial=shapes(max_dims=2, max_side=3),
    reduction=reductions,
    seed=seeds,
)
def test_cross_entropy_nc_and_nchw(batch, classes, spatial, reduction, seed):
    logits = randn(batch, classes, *spatial, seed=seed, scale=2.0)
    target = torch.randint(0, classes, (batch, *spatial), generator=torch.Generator().manual_seed(seed))
    check_op(
        lambda a: F.cross_entropy(a, target, reduction=reduction),
        lambda a: torch_F.cross_entropy(a, target, reduction=reduction),
        [logits],
    )


@given(
    batch=st.integers(1, 4),
    classes=st.integers(2, 5),
    spatial=shapes(max_dims=1, max_side=3),
    reduction=reductions,
    weighted=st.booleans(),
    seed=seeds,
)
def test_cross_entropy_class_weights_and_ignore_index(batch, classes, spatial, reduction, weighted, seed):
    generator = torch.Generator().manual_seed(seed)
    logits = randn(batch, classes, *spatial, seed=seed, scale=2.0)
    target = torch.randint(0, classes, (batch, *spatial), generator=generator)
    target[torch.rand(target.shape, generator=generator) < 0.3] = -1  # some ignored; maybe all, giving nan
    weight = torch.rand(classes, generator=generator, dtype=torch.float64) + 0.1 if weighted else None
    options = {"weight": weight, "ignore_index": -1, "reduction": reduction}
    check_op(
        lambda a: F.cross_entropy(a, target, **options), lambda a: torch_F.cross_entropy(a, target, **options), [logits]
    )


def test_cross_entropy_default_reduction_and_list_targets():
    logits = randn(3, 4, seed=2)
    check_op(
        lambda a: F.cross_entropy(a, [0, 3, 3]),
        lambda a: torch_F.cross_entropy(a, torch.tensor([0, 3, 3])),
        [logits],
    )


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
