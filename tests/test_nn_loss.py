"""Loss layers against torch.nn: every reduction, options (weights, pos_weight, ignore_index, label smoothing,
log_target, beta, delta), state-dict buffers, the deprecated size_average/reduce, and CosineSimilarity."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tinygrad_n2n import nn

ATOL = 1e-10
C = 4  # classes


def _targets(kind: str, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    if kind == "index":
        return torch.randint(0, C, shape[:1] + shape[2:], generator=generator)
    if kind == "probability":
        return torch.rand(shape, dtype=torch.float64, generator=generator)
    if kind == "log_probability":
        return torch.log_softmax(torch.randn(shape, dtype=torch.float64, generator=generator), dim=1)
    return torch.randn(shape, dtype=torch.float64, generator=generator)


LOSSES = {  # id -> (builder, input kind, target kind)
    "L1Loss": (lambda lib, r: lib.L1Loss(reduction=r), "real", "real"),
    "MSELoss": (lambda lib, r: lib.MSELoss(reduction=r), "real", "real"),
    "SmoothL1Loss": (lambda lib, r: lib.SmoothL1Loss(reduction=r, beta=0.5), "real", "real"),
    "SmoothL1Loss(beta=0)": (lambda lib, r: lib.SmoothL1Loss(reduction=r, beta=0.0), "real", "real"),
    "HuberLoss": (lambda lib, r: lib.HuberLoss(reduction=r, delta=0.7), "real", "real"),
    "KLDivLoss": (lambda lib, r: lib.KLDivLoss(reduction=r), "log_probability", "probability"),
    "KLDivLoss(log_target)": (
        lambda lib, r: lib.KLDivLoss(reduction=r, log_target=True),
        "log_probability",
        "log_probability",
    ),
    "NLLLoss": (lambda lib, r: lib.NLLLoss(reduction=r), "log_probability", "index"),
    "NLLLoss(weight, ignore)": (
        lambda lib, r: lib.NLLLoss(
            torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64), ignore_index=1, reduction=r
        ),
        "log_probability",
        "index",
    ),
    "CrossEntropyLoss": (lambda lib, r: lib.CrossEntropyLoss(reduction=r), "real", "index"),
    "CrossEntropyLoss(weight, smoothing)": (
        lambda lib, r: lib.CrossEntropyLoss(
            torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64), ignore_index=2, reduction=r, label_smoothing=0.2
        ),
        "real",
        "index",
    ),
    "CrossEntropyLoss(probabilities)": (
        lambda lib, r: lib.CrossEntropyLoss(reduction=r, label_smoothing=0.1),
        "real",
        "probability",
    ),
    "BCELoss": (lambda lib, r: lib.BCELoss(reduction=r), "probability", "probability"),
    "BCELoss(weight)": (
        lambda lib, r: lib.BCELoss(torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=torch.float64), reduction=r),
        "probability",
        "probability",
    ),
    "BCEWithLogitsLoss": (lambda lib, r: lib.BCEWithLogitsLoss(reduction=r), "real", "probability"),
    "BCEWithLogitsLoss(pos_weight)": (
        lambda lib, r: lib.BCEWithLogitsLoss(
            weight=torch.tensor(0.5, dtype=torch.float64),
            pos_weight=torch.tensor([1.0, 3.0, 0.5, 2.0], dtype=torch.float64),
            reduction=r,
        ),
        "real",
        "probability",
    ),
}


@pytest.mark.parametrize("name", LOSSES)
def test_repr_and_state_dict_are_torchs(name):
    make = LOSSES[name][0]
    ours, theirs = make(nn, "mean"), make(torch.nn, "mean")
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", LOSSES)
@settings(max_examples=4)
@given(batch=st.integers(1, 3), extra=st.lists(st.integers(1, 3), max_size=1), seed=st.integers(0, 2**16))
def test_losses_and_gradients_match_torch(name, reduction, batch, extra, seed):
    """input (N, 4, *extra) ((N, *extra, 4) for the binary losses, whose weights are per last-dim entry); targets
    of the kind each loss takes."""
    make, input_kind, target_kind = LOSSES[name]
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, *extra, C) if name.startswith("BCE") else (batch, C, *extra)
    x = _targets(input_kind, shape, generator)
    target = _targets(target_kind, shape, generator)
    ours, theirs = make(nn, reduction), make(torch.nn, reduction)
    mine, reference = tn.Tensor(x, requires_grad=True), x.clone().requires_grad_(True)
    loss, expected = ours(mine, target), theirs(reference, target)
    assert loss.shape == expected.shape
    torch.testing.assert_close(loss.data, expected.detach(), atol=ATOL, rtol=0, equal_nan=True)
    seed_grad = torch.randn(expected.shape, dtype=torch.float64, generator=generator)
    loss.backward(seed_grad)
    expected.backward(seed_grad)
    torch.testing.assert_close(mine.gradient, reference.grad, atol=ATOL, rtol=0, equal_nan=True)


def test_batchmean_divides_by_the_batch_size():
    x = torch.log_softmax(torch.randn(5, 3, dtype=torch.float64), 1)
    target = torch.softmax(torch.randn(5, 3, dtype=torch.float64), 1)
    ours = nn.KLDivLoss(reduction="batchmean")(x, target)
    torch.testing.assert_close(ours.data, torch.nn.KLDivLoss(reduction="batchmean")(x, target))


def test_deprecated_size_average_and_reduce_map_to_reduction_with_torchs_warning():
    for size_average, reduce, expected in ((False, None, "sum"), (None, False, "none"), (True, True, "mean")):
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            ours = nn.MSELoss(size_average, reduce)
        with pytest.warns(UserWarning):
            theirs = torch.nn.MSELoss(size_average, reduce)
        assert ours.reduction == theirs.reduction == expected


def test_weights_are_buffers_that_follow_the_module():
    criterion = nn.BCEWithLogitsLoss(weight=torch.ones(3), pos_weight=torch.full((3,), 2.0))
    assert [name for name, _ in criterion.named_buffers()] == ["weight", "pos_weight"]
    criterion.double()
    assert criterion.weight.dtype == criterion.pos_weight.dtype == torch.float64
    x, target = torch.randn(2, 3, dtype=torch.float64), torch.rand(2, 3, dtype=torch.float64)
    expected = torch.nn.BCEWithLogitsLoss(weight=torch.ones(3), pos_weight=torch.full((3,), 2.0)).double()(x, target)
    torch.testing.assert_close(criterion(x, target).data, expected)
    trained = torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0]))
    ours = nn.CrossEntropyLoss(weight=torch.zeros(2))
    ours.load_state_dict(trained.state_dict())
    assert torch.equal(ours.weight, trained.weight)


@pytest.mark.parametrize(("dim", "shapes"), [(1, ((4, 5), (4, 5))), (-1, ((2, 3, 4), (3, 4))), (0, ((6,), (6,)))])
def test_cosine_similarity_matches_torch(dim, shapes):
    ours, theirs = nn.CosineSimilarity(dim=dim), torch.nn.CosineSimilarity(dim=dim)
    assert repr(ours) == repr(theirs)
    a, b = (torch.randn(s, dtype=torch.float64) for s in shapes)
    mine = [tn.Tensor(a, requires_grad=True), tn.Tensor(b, requires_grad=True)]
    reference = [a.clone().requires_grad_(True), b.clone().requires_grad_(True)]
    out, expected = ours(*mine), theirs(*reference)
    torch.testing.assert_close(out.data, expected.detach(), atol=ATOL, rtol=0)
    out.sum().backward()
    expected.sum().backward()
    for got, want in zip(mine, reference):
        torch.testing.assert_close(got.gradient, want.grad, atol=ATOL, rtol=0)
