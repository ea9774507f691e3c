"""Pooling, resampling, padding, reshaping, dropout and embedding layers against torch.nn: reprs, forward and
gradients in float64 on generated shapes, dropout masks under a seed, train/eval switching."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.nn_twins import assert_same_state, compare, twins
from tinygrad_n2n import nn

LAYERS = {  # id -> (builder, input shape without the batch)
    "MaxPool1d": (lambda lib: lib.MaxPool1d(3, stride=2, padding=1, ceil_mode=True), (2, 9)),
    "MaxPool1d(dilation)": (lambda lib: lib.MaxPool1d(2, dilation=2), (2, 9)),
    "MaxPool2d": (lambda lib: lib.MaxPool2d(2), (2, 6, 8)),
    "MaxPool2d(options)": (lambda lib: lib.MaxPool2d((3, 2), stride=(2, 1), padding=1, dilation=(1, 2)), (2, 7, 8)),
    "AvgPool1d": (lambda lib: lib.AvgPool1d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), (2, 9)),
    "AvgPool2d": (lambda lib: lib.AvgPool2d(3, stride=2, padding=1), (2, 7, 8)),
    "AvgPool2d(no pad count)": (lambda lib: lib.AvgPool2d(2, stride=1, padding=1, count_include_pad=False), (2, 5, 5)),
    "AvgPool2d(ceil)": (lambda lib: lib.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 6, 7)),
    "AvgPool2d(divisor)": (lambda lib: lib.AvgPool2d(2, divisor_override=3), (2, 6, 7)),
    "MaxPool2d(ceil)": (lambda lib: lib.MaxPool2d(3, 2, 1, ceil_mode=True), (2, 6, 7)),
    "AdaptiveAvgPool1d": (lambda lib: lib.AdaptiveAvgPool1d(4), (3, 10)),
    "AdaptiveAvgPool2d": (lambda lib: lib.AdaptiveAvgPool2d((3, None)), (3, 7, 5)),
    "AdaptiveAvgPool2d(1)": (lambda lib: lib.AdaptiveAvgPool2d(1), (3, 7, 5)),
    "AdaptiveMaxPool1d": (lambda lib: lib.AdaptiveMaxPool1d(3), (2, 8)),
    "AdaptiveMaxPool2d": (lambda lib: lib.AdaptiveMaxPool2d((2, 3)), (2, 7, 8)),
    "Upsample(nearest)": (lambda lib: lib.Upsample(scale_factor=2), (2, 3, 4)),
    "Upsample(nearest, size)": (lambda lib: lib.Upsample(size=(5, 7)), (2, 3, 4)),
    "Upsample(bilinear)": (lambda lib: lib.Upsample(scale_factor=(1.5, 2), mode="bilinear"), (2, 3, 4)),
    "Upsample(bilinear, corners)": (lambda lib: lib.Upsample(size=7, mode="bilinear", align_corners=True), (2, 3, 4)),
    "Upsample(linear)": (lambda lib: lib.Upsample(scale_factor=3, mode="linear"), (2, 5)),
    "UpsamplingBilinear2d": (lambda lib: lib.UpsamplingBilinear2d(scale_factor=2), (1, 3, 3)),
    "UpsamplingNearest2d": (lambda lib: lib.UpsamplingNearest2d(size=(4, 5)), (1, 3, 3)),
    "PixelShuffle": (lambda lib: lib.PixelShuffle(2), (8, 3, 2)),
    "PixelUnshuffle": (lambda lib: lib.PixelUnshuffle(2), (2, 4, 6)),
    "ZeroPad2d": (lambda lib: lib.ZeroPad2d((1, 2, 0, 3)), (2, 3, 4)),
    "ZeroPad1d": (lambda lib: lib.ZeroPad1d(2), (2, 3)),
    "ConstantPad2d": (lambda lib: lib.ConstantPad2d(1, 2.5), (2, 3, 4)),
    "ReflectionPad2d": (lambda lib: lib.ReflectionPad2d((2, 1, 1, 2)), (2, 4, 4)),
    "ReflectionPad1d": (lambda lib: lib.ReflectionPad1d(2), (2, 4)),
    "ReplicationPad2d": (lambda lib: lib.ReplicationPad2d(2), (2, 3, 4)),
    "ReplicationPad1d": (lambda lib: lib.ReplicationPad1d((3, 1)), (2, 3)),
    "CircularPad2d": (lambda lib: lib.CircularPad2d(1), (2, 3, 4)),
    "Flatten": (lambda lib: lib.Flatten(), (2, 3, 4)),
    "Flatten(1, 2)": (lambda lib: lib.Flatten(1, 2), (2, 3, 4)),
    "Unflatten": (lambda lib: lib.Unflatten(1, (2, -1)), (6, 2)),
    "Identity": (lambda lib: lib.Identity(54, unused="ignored"), (2, 3)),
    "Dropout(eval)": (lambda lib: lib.Dropout(0.3).eval(), (2, 3)),
    "Dropout2d(eval)": (lambda lib: lib.Dropout2d(0.3).eval(), (2, 3, 3)),
}


@pytest.mark.parametrize("name", LAYERS)
def test_repr_matches_torch(name):
    ours, theirs = twins(LAYERS[name][0])
    assert repr(ours) == repr(theirs)
    assert_same_state(ours, theirs)


@pytest.mark.parametrize("name", LAYERS)
@settings(max_examples=5)
@given(batch=st.integers(1, 2), grow=st.integers(0, 3), seed=st.integers(0, 2**16))
def test_forward_and_gradients_match_torch(name, batch, grow, seed):
    """Input (N, C, *sizes), each size after the channels grown by `grow` (not for the pixel shuffles)."""
    make, (channels, *sizes) = LAYERS[name]
    grow = 0 if "Pixel" in name else grow
    ours, theirs = twins(make)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, channels, *(s + grow for s in sizes), dtype=torch.float64, generator=generator)
    compare(ours, theirs, x)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.MaxPool1d(2, return_indices=True),
        lambda lib: lib.AdaptiveMaxPool1d(3, return_indices=True),
        lambda lib: lib.AdaptiveMaxPool2d(2, return_indices=True),
        lambda lib: lib.MaxPool2d(3, 2, 1, return_indices=True, ceil_mode=True),
    ],
)
def test_max_pools_return_torchs_indices(make):
    ours, theirs = twins(make)
    x = torch.randn(2, 3, 6, 6) if "2d" in repr(ours) else torch.randn(2, 3, 7)
    (values, indices), (expected, expected_indices) = ours(x), theirs(x)
    assert torch.equal(values.data, expected) and torch.equal(indices.data, expected_indices)


@pytest.mark.parametrize("layer", ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d"])
def test_dropout_masks_match_torch_under_a_seed_and_eval_is_identity(layer):
    shape = {"Dropout": (4, 50), "Dropout1d": (4, 20, 3), "Dropout2d": (4, 20, 3, 3), "Dropout3d": (2, 20, 2, 2, 2)}
    x = torch.randn(shape[layer])
    ours, theirs = twins(lambda lib: getattr(lib, layer)(0.4))
    assert repr(ours) == repr(theirs) == f"{layer}(p=0.4, inplace=False)"
    torch.manual_seed(3)
    expected = theirs(x)
    torch.manual_seed(3)
    out = ours(tn.Tensor(x, requires_grad=True))
    assert torch.equal(out.data, expected) and out.requires_grad
    assert torch.equal(ours.eval()(x).data, x)
    leaf = tn.Tensor(x, requires_grad=True)
    assert ours(leaf) is leaf and theirs.eval()(x) is x, "the identity: the input itself comes back, as torch"
    for lib in (nn, torch.nn):
        with pytest.raises(ValueError, match=r"dropout probability has to be between 0 and 1, but got 1\.5"):
            getattr(lib, layer)(1.5)


def test_embedding_matches_torch_with_padding_idx():
    ours, theirs = twins(lambda lib: lib.Embedding(10, 4, padding_idx=-2))
    assert repr(ours) == repr(theirs) == "Embedding(10, 4, padding_idx=8)"
    assert_same_state(ours, theirs)
    assert not ours.weight.data[8].any()
    theirs.double()
    ours.double()
    indices = torch.tensor([[1, 8, 3], [8, 8, 0]])
    out, expected = ours(indices), theirs(indices)
    torch.testing.assert_close(out.data, expected.detach())
    seed = torch.randn(expected.shape, dtype=torch.float64)
    out.backward(seed)
    expected.backward(seed)
    torch.testing.assert_close(ours.weight.gradient, theirs.weight.grad)
    assert not ours.weight.gradient[8].any()


def test_embedding_from_pretrained_and_scale_grad_by_freq():
    table = torch.randn(5, 3, dtype=torch.float64)
    for lib in (nn, torch.nn):
        frozen = lib.Embedding.from_pretrained(table)
        assert not frozen.weight.requires_grad and torch.equal(frozen.weight.data, table)
    ours = nn.Embedding.from_pretrained(table, freeze=False, scale_grad_by_freq=True)
    theirs = torch.nn.Embedding.from_pretrained(table, freeze=False, scale_grad_by_freq=True)
    assert repr(ours) == repr(theirs)
    compare(ours, theirs, torch.tensor([0, 2, 2, 4, 2]), copy_state=False)


def test_embedding_max_norm_and_sparse_are_refused_when_built():
    with pytest.raises(NotImplementedError, match=r"Embedding: max_norm=1\.0 .* is not supported"):
        nn.Embedding(4, 2, max_norm=1.0)
    with pytest.raises(NotImplementedError, match="sparse=True is not supported"):
        nn.Embedding(4, 2, sparse=True)
    for lib in (nn, torch.nn):
        with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
            lib.Embedding(4, 2, padding_idx=4)


def test_unflatten_checks_as_torch():
    for lib in (nn, torch.nn):
        with pytest.raises(TypeError, match="unflattened_size must be tuple of ints"):
            lib.Unflatten(1, (2, 2.0))
        with pytest.raises(RuntimeError, match="don't multiply up to the size of dim 1"):
            lib.Unflatten(1, (2, 2))(torch.zeros(2, 6))


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"scale_factor": 2, "align_corners": False}, {"size": 4, "scale_factor": 2}, {"size": (4, 4, 4)}],
)
def test_upsample_argument_errors_are_torchs(kwargs):
    x = torch.randn(1, 2, 3, 3)
    with pytest.raises(ValueError):
        torch.nn.Upsample(**kwargs)(x)
    with pytest.raises(ValueError) as got:
        nn.Upsample(**kwargs)(x)
    assert str(got.value).startswith("Upsample: interpolate: "), "the layer and the op are named"


def test_upsample_bicubic_is_refused_until_interpolate_has_it():
    with pytest.raises(NotImplementedError, match="bicubic"):
        nn.Upsample(scale_factor=2, mode="bicubic")(torch.randn(1, 1, 3, 3))
