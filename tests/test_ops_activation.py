"""Activations (activations.py, ops/activation.py) and logsumexp against torch.autograd in float64."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import ATOL, check_op, randn, seeds, shape_and_dims, shapes
from tinygrad_n2n import functional as F
from tinygrad_n2n import nn

ACTIVATIONS = {  # name -> (engine fn, torch fn)
    "relu6": (F.relu6, torch_F.relu6),
    "hardtanh": (F.hardtanh, torch_F.hardtanh),
    "hardtanh(-2, 0.5)": (lambda a: F.hardtanh(a, -2.0, 0.5), lambda a: torch_F.hardtanh(a, -2.0, 0.5)),
    "gelu": (F.gelu, torch_F.gelu),
    "gelu(tanh)": (lambda a: F.gelu(a, approximate="tanh"), lambda a: torch_F.gelu(a, approximate="tanh")),
    "silu": (F.silu, torch_F.silu),
    "softplus": (F.softplus, torch_F.softplus),
    "softplus(beta, threshold)": (lambda a: F.softplus(a, 0.5, 1.0), lambda a: torch_F.softplus(a, 0.5, 1.0)),
    "softplus(beta=3)": (lambda a: F.softplus(a, beta=3), lambda a: torch_F.softplus(a, beta=3)),
    "elu": (F.elu, torch_F.elu),
    "elu(0.3)": (lambda a: F.elu(a, 0.3), lambda a: torch_F.elu(a, 0.3)),
    "selu": (F.selu, torch_F.selu),
    "celu(0.7)": (lambda a: F.celu(a, 0.7), lambda a: torch_F.celu(a, 0.7)),
    "mish": (F.mish, torch_F.mish),
    "hardswish": (F.hardswish, torch_F.hardswish),
    "hardsigmoid": (F.hardsigmoid, torch_F.hardsigmoid),
    "logsigmoid": (F.logsigmoid, torch_F.logsigmoid),
}
# torch's celu and hardsigmoid backwards round a constant to float32 (celu: 1 / alpha.toFloat(); hardsigmoid's CPU
# kernel: 1.0f / 6.0f), so in float64 their gradients are off by ~3e-8 relative; the engine's are exact
# (test_gradcheck checks them against finite differences)
TOLERANCE = {"celu(0.7)": 1e-7, "hardsigmoid": 1e-7}


@pytest.mark.parametrize("name", ACTIVATIONS)
@given(shape=shapes(), seed=seeds)
def test_activation(name, shape, seed):
    engine_fn, torch_fn = ACTIVATIONS[name]
    check_op(engine_fn, torch_fn, [randn(*shape, seed=seed, scale=4.0)], atol=TOLERANCE.get(name, ATOL))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_at_kinks_thresholds_and_extremes(name):
    """Corners (where torch's gradient rule decides), softplus thresholds, and values that overflow a naive eˣ."""
    engine_fn, torch_fn = ACTIVATIONS[name]
    special = [-1000.0, -40.0, -3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 6.0, 20.0, 40.0, 1000.0]
    values = torch.tensor([*special, -1e-12, 1e-12], dtype=torch.float64)
    check_op(engine_fn, torch_fn, [values], atol=TOLERANCE.get(name, ATOL))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_keeps_float32_and_reaches_the_nn_functional_module(name):
    engine_fn, torch_fn = ACTIVATIONS[name]
    x = torch.randn(3, 4)
    out = engine_fn(tn.Tensor(x, requires_grad=True))
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.data, torch_fn(x))
    public = name.split("(")[0]
    assert getattr(nn.functional, public) is getattr(F, public)


@given(case=shape_and_dims(min_dims=0), keepdim=st.booleans(), seed=seeds)
def test_logsumexp(case, keepdim, seed):
    shape, dims = case
    dims = dims if dims is not None else tuple(range(len(shape)))
    if not dims and shape:
        return
    dims = dims or 0  # a 0-d tensor takes dim 0
    check_op(
        lambda a: F.logsumexp(a, dims, keepdim=keepdim),
        lambda a: torch.logsumexp(a, dims, keepdim=keepdim),
        [randn(*shape, seed=seed, scale=5.0)],
    )


def test_logsumexp_is_stable_and_handles_infinities_as_torch():
    rows = torch.tensor([[1000.0, 999.0, -1000.0], [-float("inf"), 0.0, 1.0], [-float("inf")] * 3], dtype=torch.float64)
    check_op(lambda a: F.logsumexp(a, 1), lambda a: torch.logsumexp(a, 1), [rows])
    check_op(lambda a: F.logsumexp(a, dim=[0, 1], keepdim=True), lambda a: torch.logsumexp(a, [0, 1], True), [rows])


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda x: F.hardtanh(x, 1.0, -1.0), ValueError, "min_val cannot be greater than max_val"),
        (lambda x: F.gelu(x, approximate="erf"), RuntimeError, "approximate must be 'none' or 'tanh', got 'erf'"),
        (lambda x: F.celu(x, 0.0), RuntimeError, "alpha cannot be 0"),
        (lambda x: F.logsumexp(x, 2), IndexError, r"Dimension out of range \(expected to be in range of \[-2, 1\]"),
        (lambda x: F.logsumexp(x, (0, 0)), RuntimeError, "dim 0 appears multiple times"),
        (lambda x: F.logsumexp(x, ()), RuntimeError, r"dim=\(\) reduces nothing"),
    ],
    ids=["hardtanh-bounds", "gelu-approximate", "celu-alpha", "logsumexp-dim", "logsumexp-repeat", "logsumexp-empty"],
)
def test_bad_arguments_name_the_function_with_torchs_exception_type(call, error, message):
    name = "logsumexp" if "logsumexp" in message or "dim" in message else ""
    with pytest.raises(error, match=f"^{name}.*{message}"):
        call(tn.Tensor(torch.randn(2, 3)))


def test_activations_are_device_clean():
    """Every activation runs forward and backward on the meta device, where a host read would fail."""
    for name, (engine_fn, _) in ACTIVATIONS.items():
        x = tn.Tensor(torch.empty(2, 3, device="meta"), requires_grad=True)
        engine_fn(x).sum().backward()
        assert x.gradient.device.type == "meta", name
    x = tn.Tensor(torch.empty(2, 3, device="meta"), requires_grad=True)
    F.logsumexp(x, 1).sum().backward()
    assert x.gradient.shape == (2, 3)
