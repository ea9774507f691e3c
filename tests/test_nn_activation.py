"""Activation layers against torch.nn: repr, initialisation, forward and gradients in float64 on generated
shapes, and torch's legacy implicit softmax dim."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.nn_twins import ATOL, compare, twins
from tinygrad_n2n import nn

LAYERS = {  # id -> builder, written once for both libraries
    "ReLU": lambda lib: lib.ReLU(),
    "ReLU6": lambda lib: lib.ReLU6(),
    "LeakyReLU": lambda lib: lib.LeakyReLU(0.2),
    "PReLU": lambda lib: lib.PReLU(),
    "PReLU(3)": lambda lib: lib.PReLU(3, init=0.1),
    "ELU": lambda lib: lib.ELU(alpha=0.5),
    "CELU": lambda lib: lib.CELU(alpha=2.0),
    "SELU": lambda lib: lib.SELU(),
    "GELU": lambda lib: lib.GELU(),
    "GELU(tanh)": lambda lib: lib.GELU(approximate="tanh"),
    "SiLU": lambda lib: lib.SiLU(),
    "Mish": lambda lib: lib.Mish(),
    "Hardswish": lambda lib: lib.Hardswish(),
    "Hardsigmoid": lambda lib: lib.Hardsigmoid(),
    "Hardtanh": lambda lib: lib.Hardtanh(-2.0, 0.5),
    "Softplus": lambda lib: lib.Softplus(beta=2.0, threshold=5.0),
    "Sigmoid": lambda lib: lib.Sigmoid(),
    "Tanh": lambda lib: lib.Tanh(),
    "LogSigmoid": lambda lib: lib.LogSigmoid(),
    "Softmax": lambda lib: lib.Softmax(dim=1),
    "LogSoftmax": lambda lib: lib.LogSoftmax(dim=-1),
}
# torch's in-place variants refuse leaf inputs; ours return new tensors: only their reprs are compared
INPLACE = {
    name: (lambda lib, name=name: getattr(lib, name)(inplace=True))
    for name in ("ReLU", "ReLU6", "LeakyReLU", "ELU", "CELU", "SELU", "SiLU", "Mish", "Hardswish", "Hardsigmoid")
}
# torch's CELU and Hardsigmoid backwards round a constant to float32 (see test_ops_activation.py)
TOLERANCE = {"CELU": 1e-7, "Hardsigmoid": 1e-7}


@pytest.mark.parametrize("name", [*LAYERS, *(f"{name}(inplace)" for name in INPLACE)])
def test_repr_and_initial_state_are_torchs(name):
    ours, theirs = twins(LAYERS.get(name) or INPLACE[name.removesuffix("(inplace)")])
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value)


@pytest.mark.parametrize("name", LAYERS)
@settings(max_examples=10)
@given(
    rest=st.lists(st.integers(0, 4), min_size=0, max_size=2),
    batch=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_forward_and_gradients_match_torch(name, rest, batch, seed):
    """x: (N, 3, *rest), scaled by 4 so that every kink (±3 of the hard functions, the thresholds) is crossed."""
    ours, theirs = twins(LAYERS[name])
    x = 4 * torch.randn(batch, 3, *rest, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    compare(ours, theirs, x, atol=TOLERANCE.get(name, ATOL))


@pytest.mark.parametrize("shape", [(), (5,), (5, 3)])
def test_prelu_takes_scalar_and_one_or_two_dim_inputs(shape):
    channels = shape[1] if len(shape) == 2 else 1
    ours, theirs = twins(lambda lib: lib.PReLU(channels))
    compare(ours, theirs, torch.randn(shape, dtype=torch.float64))


def test_prelu_needs_one_channel_per_slope():
    with pytest.raises(RuntimeError):
        torch.nn.PReLU(3)(torch.randn(2, 4))
    with pytest.raises(RuntimeError, match="parameter numbers = 3 and channel size = 4"):
        nn.PReLU(3)(torch.randn(2, 4))
    with pytest.raises(RuntimeError, match="channel size = 1"):
        nn.PReLU(3)(torch.randn(3))


def test_prelu_gradient_at_zero_is_torchs():
    """At x = 0 torch's prelu passes a·g back (the x ≤ 0 branch); so does the layer."""
    ours, theirs = twins(lambda lib: lib.PReLU(2, init=0.3))
    compare(ours, theirs, torch.tensor([[0.0, -1.0], [2.0, 0.0]], dtype=torch.float64))


@pytest.mark.parametrize("layer", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("shape", [(4,), (2, 4), (2, 3, 4), (2, 3, 4, 5)])
def test_softmax_without_dim_picks_torchs_legacy_dim_with_its_warning(layer, shape):
    ours, theirs = twins(lambda lib: getattr(lib, layer)())
    assert repr(ours) == repr(theirs) == f"{layer}(dim=None)"
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        compare(ours, theirs, torch.randn(shape, dtype=torch.float64))


def test_hardtanh_checks_its_range_and_renamed_arguments_as_torch():
    for lib in (nn, torch.nn):
        with pytest.raises(AssertionError, match=r"max_val \(-1.0\) must be greater than min_val \(1.0\)"):
            lib.Hardtanh(1.0, -1.0)
        with pytest.warns(FutureWarning, match="`min_value` is deprecated and renamed to `min_val`"):
            assert lib.Hardtanh(min_value=-2.0).min_val == -2.0
