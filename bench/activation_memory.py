"""Activation memory of the default U-Net's training forward, plain and with its five blocks checkpointed.

    python -m bench.activation_memory [--batch 64] > bench/results/activation_memory.txt

"Held after the forward" is what a forward leaves allocated for its backward: the bytes torch's CPU allocator
handed out during the forward minus those freed by its end (torch.profiler with profile_memory, the sum of the
ops' self memory), measured on a second forward after a warm-up. Exact and repeatable where a process's peak
resident memory (the bench's memory columns) also counts the allocator's caches and kernels' workspaces.
Both engines start from the same weights (`bench.test_train_step`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import torch
import torch.utils.checkpoint
from torch.profiler import ProfilerActivity, profile

import tinygrad_n2n as tn
from bench.test_train_step import SEED, _batch, checkpointed_unet
from tinygrad_n2n.n2n.models import build
from tinygrad_n2n.n2n.torch_baseline import twin


def held_after_forward(forward: Callable[[Any], Any], x: Any) -> int:
    """Bytes that `forward(x)` leaves allocated (its output and what its graph keeps), after one warm-up call."""
    forward(x)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        out = forward(x)
    del out
    return sum(event.self_cpu_memory_usage for event in profiler.key_averages())


def forwards(impl: str, batch: int) -> tuple[dict[str, Callable], Any]:
    """{"plain", "checkpointed"} -> the U-Net's forward of `impl` ("tinygrad_n2n" or "torch"), and its input."""
    data = _batch(batch, "cpu")
    if impl == "tinygrad_n2n":
        torch.manual_seed(SEED)
        net = build("default")
        return {"plain": net, "checkpointed": checkpointed_unet(net, tn.utils.checkpoint, tn.cat)}, tn.Tensor(
            data["input"]
        )
    net = twin("default", SEED)
    checkpointed = checkpointed_unet(net, torch.utils.checkpoint.checkpoint, torch.cat)
    return {"plain": net, "checkpointed": checkpointed}, data["input"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64, help="batch of 32x32 patches (default 64, the bench's)")
    args = parser.parse_args()
    print(f"default U-Net, batch {args.batch} of 3x32x32, float32, CPU: memory held after the training forward")
    for impl in ("tinygrad_n2n", "torch"):
        steps, x = forwards(impl, args.batch)
        held = {mode: held_after_forward(forward, x) for mode, forward in steps.items()}
        print(
            f"{impl:13s} plain {held['plain'] / 2**20:6.1f} MiB  checkpointed {held['checkpointed'] / 2**20:6.1f} MiB  "
            f"checkpointed / plain {held['checkpointed'] / held['plain']:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
