"""embedding, one_hot (spatial/embedding.py, ops/embedding.py) and channel dropout (spatial/dropout.py) against
torch: values and gradients in float64, the same random masks from the same seed, torch's errors."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import check_op, randn, same_as_torch, seeds
from tinygrad_n2n.nn import functional as F


@st.composite
def embedding_cases(draw):
    """A table (rows, D), indices of any shape (repeats likely), padding_idx maybe negative, scale_grad_by_freq."""
    rows, width = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    shape = draw(st.lists(st.integers(0, 3), min_size=0, max_size=3))
    indices = torch.randint(0, rows, shape, generator=torch.Generator().manual_seed(draw(seeds)))
    if draw(st.booleans()):
        indices = indices.int()
    padding_idx = draw(st.none() | st.integers(-rows, rows - 1))
    return indices, randn(rows, width, seed=draw(seeds)), padding_idx, draw(st.booleans())


@given(case=embedding_cases())
def test_embedding(case):
    """No gradient reaches the padding row; scale_grad_by_freq divides each row's by its count in the batch."""
    indices, weight, padding_idx, scale = case
    check_op(
        lambda w: F.embedding(tn.Tensor(indices), w, padding_idx, scale_grad_by_freq=scale),
        lambda w: torch_F.embedding(indices, w, padding_idx, scale_grad_by_freq=scale),
        [weight],
    )


def test_embedding_padding_row_gets_no_gradient_but_is_looked_up():
    weight = tn.Tensor(randn(3, 2), requires_grad=True)
    out = F.embedding(tn.Tensor([[0, 1], [1, 1]]), weight, padding_idx=1)
    assert torch.equal(out.data[0, 1], weight.data[1])
    out.sum().backward()
    assert weight.gradient[1].tolist() == [0.0, 0.0] and weight.gradient[0].tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    "indices, weight, kwargs",
    [
        (torch.tensor([1]), randn(4, 3), {"padding_idx": 4}),
        (torch.tensor([1]), randn(4, 3), {"padding_idx": -5}),
        (torch.tensor([1.0]), randn(4, 3), {}),
        (torch.tensor([1]), randn(4), {}),
        (torch.tensor([4]), randn(4, 3), {}),
        (torch.tensor([-1]), randn(4, 3), {}),
    ],
    ids=["padding-idx", "negative-padding-idx", "float-indices", "1-d-weight", "index-too-big", "negative-index"],
)
def test_embedding_bad_arguments_raise_torchs_errors(indices, weight, kwargs):
    same_as_torch(
        "embedding",
        lambda w: F.embedding(tn.Tensor(indices), w, **kwargs),
        lambda w: torch_F.embedding(indices, w, **kwargs),
        [weight],
    )


@pytest.mark.parametrize("kwargs", [{"max_norm": 1.0}, {"sparse": True}], ids=["max_norm", "sparse"])
def test_embedding_unsupported_options_say_so(kwargs):
    with pytest.raises(NotImplementedError, match=r"^embedding: (max_norm=1.0|sparse=True) .*not supported"):
        F.embedding(tn.Tensor([0]), tn.Tensor(randn(2, 2)), **kwargs)


@given(shape=st.lists(st.integers(0, 3), max_size=3), classes=st.integers(-1, 6), seed=seeds)
def test_one_hot(shape, classes, seed):
    """int64 results as torch's, including its errors for too few classes."""
    indices = torch.randint(0, 5, shape, generator=torch.Generator().manual_seed(seed))
    try:
        expected = torch_F.one_hot(indices, classes)
    except RuntimeError:
        with pytest.raises(RuntimeError, match=r"^one_hot: "):
            F.one_hot(tn.Tensor(indices), classes)
        return
    out = F.one_hot(tn.Tensor(indices), classes)
    assert out.dtype == torch.int64 and not out.requires_grad and torch.equal(out.data, expected)


# ---------------------------------------------------------------- channel dropout


DROPOUTS = [  # inputs, each with the dim where its feature maps start (dropout2d takes a 3-D input as (N, C, L))
    (F.dropout1d, torch_F.dropout1d, [((2, 3, 4), 2), ((3, 5), 1)]),
    (F.dropout2d, torch_F.dropout2d, [((2, 3, 4, 5), 2), ((2, 3, 4), 2)]),
    (F.dropout3d, torch_F.dropout3d, [((2, 3, 2, 2, 2), 2), ((3, 2, 2, 2), 1)]),
]


@pytest.mark.parametrize("fn, torch_fn, shapes", DROPOUTS, ids=["1d", "2d", "3d"])
@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
def test_channel_dropout_draws_torchs_mask_and_its_gradient(fn, torch_fn, shapes, p):
    """Same seed, same zeroed channels and scale as torch, batched and not; the gradient is the mask."""
    for shape, maps_start in shapes:
        x = randn(*shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dropout2d's 3-D input warning, checked below
            torch.manual_seed(7)
            ours = tn.Tensor(x, requires_grad=True)
            out = fn(ours, p)
            torch.manual_seed(7)
            theirs = x.clone().requires_grad_()
            expected = torch_fn(theirs, p)
        torch.testing.assert_close(out.data, expected.detach(), atol=0, rtol=0)
        out.backward(torch.ones_like(x))
        expected.backward(torch.ones_like(x))
        torch.testing.assert_close(ours.gradient, theirs.grad, atol=0, rtol=0)
        zeroed = out.data.flatten(maps_start) == 0
        assert torch.equal(zeroed.all(-1), zeroed.any(-1)), "whole channels are zeroed"


@pytest.mark.parametrize("fn", [F.dropout1d, F.dropout2d, F.dropout3d])
def test_channel_dropout_is_the_identity_when_not_training(fn):
    x = tn.Tensor(randn(2, 3, 4, 4, 4)[..., : 1 + fn.__name__.count("3d")].squeeze(-1), requires_grad=True)
    x = x if fn is not F.dropout1d else tn.Tensor(randn(2, 3, 4), requires_grad=True)
    assert fn(x, 0.5, training=False) is x


def test_dropout2d_warns_as_torch_for_3d_and_other_inputs():
    with pytest.warns(UserWarning, match="dropout2d: Received a 3D input to dropout2d"):
        F.dropout2d(tn.Tensor(randn(2, 3, 4)))
    with pytest.warns(UserWarning, match="dropout2d: Received a 2-D input to dropout2d, which is deprecated"):
        F.dropout2d(tn.Tensor(randn(2, 3)))


@pytest.mark.parametrize(
    "fn, torch_fn, shape, p",
    [
        (F.dropout2d, torch_F.dropout2d, (2, 3, 4, 4), 1.5),
        (F.dropout1d, torch_F.dropout1d, (2, 3, 4, 4), 0.5),
        (F.dropout2d, torch_F.dropout2d, (3,), 0.5),
    ],
    ids=["p-out-of-range", "dropout1d-4d", "dropout2d-1d"],
)
def test_channel_dropout_bad_arguments_raise_torchs_errors(fn, torch_fn, shape, p):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_as_torch(fn.__name__, lambda a: fn(a, p), lambda a: torch_fn(a, p), [randn(*shape)])


def test_embedding_and_dropout_run_on_the_meta_device():
    weight = tn.Tensor(torch.empty(5, 3, device="meta"), requires_grad=True)
    indices = tn.Tensor(torch.empty(2, 4, dtype=torch.int64, device="meta"))
    out = F.embedding(indices, weight, padding_idx=0, scale_grad_by_freq=True)
    out = F.dropout2d(out.unsqueeze(-1), 0.5)
    out.sum().backward()
    assert weight.gradient.device.type == "meta" and weight.gradient.shape == (5, 3)
