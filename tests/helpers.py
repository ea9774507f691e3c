"""Shared test helpers: run an op in the engine and in torch.autograd (float64) and compare."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

import tinygrad_n2n as tn

ATOL = 1e-10


def check_op(
    engine_fn: Callable,
    torch_fn: Callable | None,
    inputs: Sequence[torch.Tensor],
    atol: float = ATOL,
    grad_inputs: Sequence[bool] | None = None,
) -> None:
    """Compare forward values and input gradients of `engine_fn` (engine) and `torch_fn` (torch.autograd).

    inputs: raw float64 tensors; each becomes a leaf requiring a gradient on both sides (unless
    grad_inputs says otherwise). The same random upstream gradient is used on both sides.
    """
    torch_fn = torch_fn or engine_fn
    grad_inputs = grad_inputs or [x.is_floating_point() for x in inputs]
    ours = [tn.Tensor(x.clone(), requires_grad=g) for x, g in zip(inputs, grad_inputs)]
    theirs = [x.clone().requires_grad_(g) for x, g in zip(inputs, grad_inputs)]
    out = engine_fn(*ours)
    ref = torch_fn(*theirs)
    assert isinstance(out, tn.Tensor), f"engine returned {type(out)}"
    assert out.shape == ref.shape, f"forward shape {tuple(out.shape)} != torch {tuple(ref.shape)}"
    torch.testing.assert_close(out.data, ref.detach(), atol=atol, rtol=0)
    if not ref.requires_grad:
        return
    seed = torch.randn(ref.shape, dtype=ref.dtype, generator=torch.Generator().manual_seed(0))
    out.backward(seed)
    ref.backward(seed)
    for i, (mine, reference) in enumerate(zip(ours, theirs)):
        if not reference.requires_grad:
            continue
        expected = reference.grad if reference.grad is not None else torch.zeros_like(reference)
        got = mine.gradient if mine.gradient is not None else torch.zeros_like(mine.data)
        torch.testing.assert_close(got, expected, atol=atol, rtol=0, msg=lambda m, i=i: f"input {i}: {m}")
