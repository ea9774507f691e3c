"""Helpers for layer tests: build a layer with our nn and with torch.nn from the same code and seed, then
compare what they hold and what they compute (float64: outputs, input gradients, parameter gradients and the
buffers a forward updates)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

import tinygrad_n2n as tn
from tinygrad_n2n import nn

ATOL = 1e-10


def twins(make: Callable[[Any], Any], seed: int = 0) -> tuple[Any, torch.nn.Module]:
    """(ours, theirs): `make(nn)` and `make(torch.nn)`, each built right after `torch.manual_seed(seed)`."""
    torch.manual_seed(seed)
    theirs = make(torch.nn)
    torch.manual_seed(seed)
    return make(nn), theirs


def assert_same_state(ours: nn.Module, theirs: torch.nn.Module) -> None:
    """Same state-dict keys in the same order, and equal values of equal dtypes (bit for bit)."""
    mine, reference = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(reference)
    for key, value in reference.items():
        assert mine[key].dtype == value.dtype, key
        assert torch.equal(mine[key], value), key


def compare(
    ours: nn.Module, theirs: torch.nn.Module, *inputs: torch.Tensor, atol: float = ATOL, copy_state: bool = True
) -> None:
    """Cast both to float64 (theirs' state copied into ours unless `copy_state`), run the inputs (floating
    ones as leaves requiring a gradient) and compare outputs, gradients of inputs and parameters, and the
    buffers after the forward."""
    theirs.double()
    ours.double()
    if copy_state:
        ours.load_state_dict(theirs.state_dict())
    mine = [tn.Tensor(x.clone(), requires_grad=x.is_floating_point()) for x in inputs]
    reference_inputs = [x.clone().requires_grad_(x.is_floating_point()) for x in inputs]
    out, ref = ours(*mine), theirs(*reference_inputs)
    assert out.shape == ref.shape and out.dtype == ref.dtype
    torch.testing.assert_close(out.data, ref.detach(), atol=atol, rtol=0, equal_nan=True)
    for (name, buffer), (_, expected) in zip(ours.named_buffers(), theirs.named_buffers()):
        torch.testing.assert_close(buffer, expected, atol=atol, rtol=0, msg=name)
    if not ref.requires_grad:
        assert not out.requires_grad
        return
    seed = torch.randn(ref.shape, dtype=ref.dtype, generator=torch.Generator().manual_seed(0))
    out.backward(seed)
    ref.backward(seed)
    for index, (a, b) in enumerate(zip(mine, reference_inputs)):
        if b.requires_grad:
            expected = b.grad if b.grad is not None else torch.zeros_like(b)
            got = a.gradient if a.gradient is not None else torch.zeros_like(a.data)
            torch.testing.assert_close(got, expected, atol=atol, rtol=0, msg=f"input {index}")
    reference_grads = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        expected = reference_grads[name].grad
        if expected is None:
            assert param.gradient is None or not param.gradient.any(), name
        else:
            torch.testing.assert_close(param.gradient, expected, atol=atol, rtol=0, msg=name)
