"""Workload 5: the per-op cost of recording and walking the graph.

A chain of 100 elementwise ops (25 x: multiply by a number, add a number, tanh, multiply by the input) on a
16-element tensor, then backward; the arithmetic is negligible, so this times the tape (ours) against
torch.autograd's graph.
"""

from __future__ import annotations

import torch

import tinygrad_n2n as tn
from bench.workload import Workload, shapes_of

ROUNDS = 25  # 4 ops each


def chain(x):
    """100 elementwise ops on x (either engine), summed to a scalar."""
    y = x
    for _ in range(ROUNDS):
        y = (y * 1.01 + 0.1).tanh() * x
    return y.sum()


def tape_chain(impl: str, device: str) -> Workload:
    """Forward and backward of `chain` on a fresh 16-element leaf."""
    torch.manual_seed(0)
    values = torch.randn(16, device=device)
    if impl == "tinygrad_n2n":

        def step() -> None:
            chain(tn.Tensor(values, requires_grad=True)).backward()

        return Workload(step, shapes_of(x=values))

    def torch_step() -> None:
        chain(values.detach().requires_grad_()).backward()

    return Workload(torch_step, shapes_of(x=values))


def test_tape_overhead(run):
    run("tape overhead: 100 elementwise ops on 16 values, fwd+bwd", tape_chain)
