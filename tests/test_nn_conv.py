"""Convolution layers against torch.nn: initialisation under a seed, reprs, padding modes, padding='same' with
even kernels, output_size, forward and gradients in float64 on generated shapes, torch's construction errors."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.nn_twins import assert_same_state, compare, twins
from tinygrad_n2n import nn

LAYERS = {  # id -> (builder, input shape without the batch)
    "Conv1d": (lambda lib: lib.Conv1d(3, 4, 3), (3, 9)),
    "Conv1d(stride, dilation, groups)": (
        lambda lib: lib.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2, bias=False),
        (4, 11),
    ),
    "Conv1d(same, even)": (lambda lib: lib.Conv1d(2, 3, 4, padding="same"), (2, 7)),
    "Conv1d(valid, circular)": (lambda lib: lib.Conv1d(2, 3, 3, padding="valid", padding_mode="circular"), (2, 7)),
    "Conv1d(reflect)": (lambda lib: lib.Conv1d(2, 3, 3, padding=2, padding_mode="reflect"), (2, 7)),
    "Conv2d": (lambda lib: lib.Conv2d(3, 4, 3), (3, 6, 7)),
    "Conv2d(options)": (
        lambda lib: lib.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2, bias=False),
        (4, 7, 8),
    ),
    "Conv2d(same, even)": (lambda lib: lib.Conv2d(3, 2, (2, 4), padding="same", dilation=(1, 3)), (3, 6, 9)),
    "Conv2d(same, reflect)": (lambda lib: lib.Conv2d(3, 2, 4, padding="same", padding_mode="reflect"), (3, 6, 7)),
    "Conv2d(replicate)": (lambda lib: lib.Conv2d(2, 2, 3, padding=(1, 2), padding_mode="replicate"), (2, 5, 5)),
    "Conv2d(circular)": (lambda lib: lib.Conv2d(2, 3, 3, stride=2, padding=1, padding_mode="circular"), (2, 6, 5)),
    "ConvTranspose1d": (lambda lib: lib.ConvTranspose1d(3, 4, 3, stride=2, padding=1, output_padding=1), (3, 5)),
    "ConvTranspose1d(groups)": (lambda lib: lib.ConvTranspose1d(4, 2, 2, groups=2, dilation=2, bias=False), (4, 5)),
    "ConvTranspose2d": (lambda lib: lib.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), (3, 4, 5)),
    "ConvTranspose2d(options)": (
        lambda lib: lib.ConvTranspose2d(4, 6, (2, 3), stride=(1, 2), groups=2, dilation=(2, 1)),
        (4, 3, 4),
    ),
}


@pytest.mark.parametrize("name", LAYERS)
def test_same_seed_gives_torchs_weights_and_repr(name):
    ours, theirs = twins(LAYERS[name][0], seed=7)
    assert repr(ours) == repr(theirs)
    assert_same_state(ours, theirs)


@pytest.mark.parametrize("name", LAYERS)
@settings(max_examples=5)
@given(batch=st.integers(1, 2), grow=st.integers(0, 3), seed=st.integers(0, 2**16))
def test_forward_and_gradients_match_torch(name, batch, grow, seed):
    """Input (N, C, *sizes) with every spatial size grown by `grow`."""
    make, (channels, *sizes) = LAYERS[name]
    ours, theirs = twins(make)
    x = torch.randn(
        batch, channels, *(s + grow for s in sizes), dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
    )
    compare(ours, theirs, x)


@pytest.mark.parametrize("dims", [1, 2])
def test_unbatched_inputs_as_torch(dims):
    ours, theirs = twins(lambda lib: getattr(lib, f"Conv{dims}d")(2, 3, 3, padding="same", padding_mode="reflect"))
    compare(ours, theirs, torch.randn(2, *(6,) * dims, dtype=torch.float64))


@pytest.mark.parametrize("output_size", [[9, 11], [10, 12], [2, 3, 10, 11]])
def test_conv_transpose_output_size_picks_torchs_output_padding(output_size):
    ours, theirs = twins(lambda lib: lib.ConvTranspose2d(3, 3, 3, stride=2, padding=1))
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    theirs.double()
    ours.double().load_state_dict(theirs.state_dict())
    out = ours(x, output_size=output_size)
    assert out.shape == theirs(x, output_size=output_size).shape
    torch.testing.assert_close(out.data, theirs(x, output_size=output_size).detach(), atol=1e-10, rtol=0)
    with pytest.raises(ValueError, match="requested an output size of"):
        ours(x, output_size=[13, 13])


def test_conv_transpose1d_output_size():
    ours, theirs = twins(lambda lib: lib.ConvTranspose1d(2, 2, 3, stride=3))
    x = torch.randn(1, 2, 4)
    assert ours(x, output_size=[14]).shape == theirs(x, output_size=[14]).shape == (1, 2, 14)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"groups": 0},
        {"groups": 2},
        {"padding": "full"},
        {"padding": "same", "stride": 2},
        {"padding_mode": "mirror"},
    ],
)
def test_bad_conv_arguments_raise_torchs_value_errors(kwargs):
    with pytest.raises(ValueError):
        torch.nn.Conv2d(3, 4, 3, **kwargs)
    with pytest.raises(ValueError, match=r"^Conv2d: "):
        nn.Conv2d(3, 4, 3, **kwargs)


def test_transposed_convolutions_take_only_zero_padding():
    for lib in (nn, torch.nn):
        with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTranspose2d'):
            lib.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
