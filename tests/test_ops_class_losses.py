"""Classification losses (class_losses.py: nll_loss, cross_entropy; ops/loss.py's SoftmaxCrossEntropy) against
torch.autograd in float64: class-index targets (weights, ignore_index, label smoothing) and class probabilities."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import check_op, randn, seeds, shapes
from tinygrad_n2n import functional as F

reductions = st.sampled_from(["mean", "sum", "none"])


def distribution(*shape: int, seed: int, zeros: bool = False) -> torch.Tensor:
    """Rows that sum to 1 along dim 1 (or the only dim), with some exact zeros when `zeros`."""
    p = torch.softmax(randn(*shape, seed=seed, scale=2.0), dim=min(1, len(shape) - 1))
    if zeros:
        p[torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < 0.3] = 0.0
    return p


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


def class_targets(batch: int, classes: int, spatial: tuple, seed: int, ignore: float) -> torch.Tensor:
    """Class indices (batch, *spatial), a fraction `ignore` of them set to -1."""
    generator = torch.Generator().manual_seed(seed)
    target = torch.randint(0, classes, (batch, *spatial), generator=generator)
    target[torch.rand(target.shape, generator=generator) < ignore] = -1
    return target


@given(
    batch=st.integers(1, 4),
    classes=st.integers(1, 4),
    spatial=shapes(max_dims=2, max_side=3),
    reduction=reductions,
    weighted=st.booleans(),
    ignore=st.sampled_from([0.0, 0.3, 1.0]),
    seed=seeds,
)
def test_nll_loss(batch, classes, spatial, reduction, weighted, ignore, seed):
    target = class_targets(batch, classes, spatial, seed, ignore)
    weight = (
        torch.rand(classes, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) if weighted else None
    )
    options = {"weight": weight, "ignore_index": -1, "reduction": reduction}
    check_op(
        lambda a: F.nll_loss(a, target, **options),
        lambda a: torch_F.nll_loss(a, target, **options),
        [randn(batch, classes, *spatial, seed=seed)],
    )


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("target", [torch.tensor(2), torch.tensor(2, dtype=torch.uint8)], ids=["int64", "uint8"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_unbatched_input_and_byte_targets(name, target, reduction):
    check_op(
        lambda a: getattr(F, name)(a, target, reduction=reduction),
        lambda a: getattr(torch_F, name)(a, target, reduction=reduction),
        [randn(4, seed=3)],
    )


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
def test_unbatched_input_with_a_one_element_target(name):
    """torch computes the loss but its backward raises ("size mismatch"); the engine's gradient is the 0-d
    target's."""
    x = randn(4, seed=3)
    loss = getattr(F, name)(tn.Tensor(x, requires_grad=True), torch.tensor([2]))
    torch.testing.assert_close(loss.data, getattr(torch_F, name)(x, torch.tensor([2])))
    check_op(
        lambda a: getattr(F, name)(a, torch.tensor([2])), lambda a: getattr(torch_F, name)(a, torch.tensor(2)), [x]
    )


@given(
    batch=st.integers(1, 4),
    classes=st.integers(1, 4),
    spatial=shapes(max_dims=2, max_side=3),
    reduction=reductions,
    weighted=st.booleans(),
    ignore=st.sampled_from([0.0, 0.3, 1.0]),
    smoothing=st.sampled_from([0.1, 0.5, 1.0]),
    seed=seeds,
)
def test_cross_entropy_label_smoothing(batch, classes, spatial, reduction, weighted, ignore, smoothing, seed):
    target = class_targets(batch, classes, spatial, seed, ignore)
    weight = (
        torch.rand(classes, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) if weighted else None
    )
    options = {"weight": weight, "ignore_index": -1, "reduction": reduction, "label_smoothing": smoothing}
    check_op(
        lambda a: F.cross_entropy(a, target, **options),
        lambda a: torch_F.cross_entropy(a, target, **options),
        [randn(batch, classes, *spatial, seed=seed, scale=2.0)],
    )


@given(
    shape=st.sampled_from([(4,), (3, 4), (2, 3, 2), (2, 3, 2, 2), (1, 1)]),
    reduction=reductions,
    weighted=st.booleans(),
    smoothing=st.sampled_from([0.0, 0.2]),
    target_grad=st.booleans(),
    seed=seeds,
)
def test_cross_entropy_probability_targets(shape, reduction, weighted, smoothing, target_grad, seed):
    """Float targets of the logits' shape; the target and the weight get gradients too, as in torch."""
    classes = shape[1] if len(shape) > 1 else shape[0]
    inputs = [randn(*shape, seed=seed, scale=2.0), distribution(*shape, seed=seed + 1)]
    if weighted:
        inputs.append(torch.rand(classes, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)))
    options = {"reduction": reduction, "label_smoothing": smoothing}
    check_op(
        lambda a, t, *w: F.cross_entropy(a, t, *w, **options),
        lambda a, t, *w: torch_F.cross_entropy(a, t, *w, **options),
        inputs,
        grad_inputs=[True, target_grad, True][: len(inputs)],
    )


def test_cross_entropy_masked_logits_keep_the_gather_path():
    """A -inf logit of a class that is not the target leaves the loss finite (no 0·-inf), as in torch."""
    logits = torch.tensor([[0.0, -float("inf"), 1.0], [2.0, 0.5, -float("inf")]], dtype=torch.float64)
    target = torch.tensor([2, 0])
    check_op(lambda a: F.cross_entropy(a, target), lambda a: torch_F.cross_entropy(a, target), [logits])


CLASS_ERRORS = {  # id -> (call(module, x) with x: (3, 4) scores, the engine's message); torch raises the same type
    "cross_entropy-smoothing": (
        lambda M, x: M.cross_entropy(x, torch.tensor([0, 1, 2]), label_smoothing=1.5),
        "label_smoothing must be between 0.0 and 1.0. Got: 1.5",
    ),
    "cross_entropy-out-of-bounds": (
        lambda M, x: M.cross_entropy(x, torch.tensor([0, 1, 5])),
        "Target 5 is out of bounds",
    ),
    "cross_entropy-negative": (lambda M, x: M.cross_entropy(x, torch.tensor([0, -2, 1])), "Target -2 is out of bounds"),
    "cross_entropy-batch": (lambda M, x: M.cross_entropy(x, torch.tensor([0, 1])), r"Expected input batch_size \(3\)"),
    "cross_entropy-int32": (
        lambda M, x: M.cross_entropy(x, torch.tensor([0, 1, 2], dtype=torch.int32)),
        "expected target dtype to be Long or Byte",
    ),
    "cross_entropy-float-shape": (
        lambda M, x: M.cross_entropy(x, torch.tensor([0.0, 1.0, 2.0])),
        "expected target dtype to be Long or Byte",
    ),
    "cross_entropy-long-probabilities": (
        lambda M, x: M.cross_entropy(x, torch.zeros(3, 4, dtype=torch.long)),
        "Expected floating point type for target with class probabilities",
    ),
    "cross_entropy-probabilities-ignore": (
        lambda M, x: M.cross_entropy(x, torch.rand(3, 4), ignore_index=1),
        "ignore_index is not supported for floating point target",
    ),
    "cross_entropy-weight": (
        lambda M, x: M.cross_entropy(x, torch.tensor([0, 1, 2]), torch.ones(3)),
        "weight tensor should be defined either for all 4 classes",
    ),
    "nll_loss-spatial": (lambda M, x: M.nll_loss(x[..., None], torch.tensor([[0], [1]])), r"Expected input batch_size"),
    "nll_loss-target-size": (
        lambda M, x: M.nll_loss(x.reshape(3, 2, 2), torch.tensor([0, 1, 0])),
        r"Expected target size \(3, 2\), got \(3,\)",
    ),
    "nll_loss-unbatched": (
        lambda M, x: M.nll_loss(x[0], torch.tensor([0, 1])),
        "For 1D input, 1D target must have size 1",
    ),
    "nll_loss-scalar": (lambda M, x: M.nll_loss(x[0, 0], torch.tensor(0)), r"Expected 1 or more dimensions \(got 0\)"),
    "nll_loss-reduction": (lambda M, x: M.nll_loss(x, torch.tensor([0, 1, 2]), reduction="avg"), "reduction must be"),
}
