"""Workloads 1 and 2: one training step (forward, MSE, backward, SGD step) on 32x32 patches.

1. the course network at batch 16 and 64; torch side: nn.Upsample + nn.Conv2d, autograd, torch.optim.SGD;
2. the default denoiser (the U-Net) at batch 64; torch side: its torch.nn twin (`n2n.torch_baseline`), also with
   its five blocks checkpointed (`tn.utils.checkpoint`; `torch.utils.checkpoint`), for peak memory.
Both sides start from the same weights and see the same batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.utils.checkpoint
from torch import nn

import tinygrad_n2n as tn
from bench.workload import Workload, shapes_of, to_device
from tinygrad_n2n.n2n.models import build
from tinygrad_n2n.n2n.torch_baseline import twin

PATCH = 32
LEARNING_RATE = 1e-2
SEED = 0


def _batch(batch: int, device: str) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(SEED)
    noisy = torch.rand(batch, 3, PATCH, PATCH, generator=generator)
    target = (noisy + 0.1 * torch.randn(noisy.shape, generator=generator)).clamp(0, 1)
    return to_device({"input": noisy, "target": target}, device)


def torch_course_net() -> nn.Sequential:
    """The course network as a torch user writes it: nn.Upsample then nn.Conv2d for each upsampling step."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(64, 32, 3, padding=1),
        nn.ReLU(),
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(32, 3, 3, padding=1),
        nn.Sigmoid(),
    )


def _engine_step(net: tn.nn.Module, data: dict[str, torch.Tensor], forward: Callable | None = None) -> Workload:
    """SGD steps of `net` (through `forward`, by default `net` itself) on one batch."""
    optimizer = tn.optim.SGD(net.parameters(), lr=LEARNING_RATE)
    criterion = tn.nn.MSELoss()
    noisy, target = tn.Tensor(data["input"]), tn.Tensor(data["target"])
    forward = forward or net

    def step() -> None:
        loss = criterion(forward(noisy), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return Workload(step, shapes_of(**data))


def _torch_step(net: nn.Module, data: dict[str, torch.Tensor], forward: Callable | None = None) -> Workload:
    """The same with torch.nn, autograd and torch.optim."""
    optimizer = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE)
    criterion = nn.MSELoss()
    forward = forward or net

    def step() -> None:
        loss = criterion(forward(data["input"]), data["target"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return Workload(step, shapes_of(**data))


def course_step(impl: str, device: str, batch: int) -> Workload:
    """Training step of the course network; the torch twin gets the engine network's initial weights."""
    torch.manual_seed(SEED)
    net = build("course").to(device)
    data = _batch(batch, device)
    if impl == "tinygrad_n2n":
        return _engine_step(net, data)
    torch_net = torch_course_net().to(device)
    with torch.no_grad():
        for theirs, ours in zip(torch_net.parameters(), net.parameters(), strict=True):
            theirs.copy_(ours.data)
    return _torch_step(torch_net, data)


def default_step(impl: str, device: str, batch: int) -> Workload:
    """Training step of the default denoiser (U-Net) and of its torch.nn twin, from the same weights."""
    data = _batch(batch, device)
    if impl == "tinygrad_n2n":
        torch.manual_seed(SEED)
        return _engine_step(build("default").to(device), data)
    return _torch_step(twin("default", SEED).to(device), data)


def checkpointed_unet(net: Any, checkpoint: Callable, cat: Callable) -> Callable:
    """The U-Net's forward (either engine's: `net` has enc0, enc1, bottom, dec1, dec0) with each of its five
    blocks checkpointed: only the blocks' inputs are kept, and backward recomputes each block."""

    def forward(x: Any) -> Any:
        skip0 = checkpoint(net.enc0, x, use_reentrant=False)
        skip1 = checkpoint(net.enc1, skip0, use_reentrant=False)
        bottom = checkpoint(net.bottom, skip1, use_reentrant=False)
        up1 = checkpoint(net.dec1, cat([bottom, skip1], 1), use_reentrant=False)
        return x + checkpoint(net.dec0, cat([up1, skip0], 1), use_reentrant=False)

    return forward


def checkpointed_step(impl: str, device: str, batch: int) -> Workload:
    """`default_step` with every U-Net block checkpointed (tn.utils.checkpoint; torch.utils.checkpoint)."""
    data = _batch(batch, device)
    if impl == "tinygrad_n2n":
        torch.manual_seed(SEED)
        net = build("default").to(device)
        return _engine_step(net, data, checkpointed_unet(net, tn.utils.checkpoint, tn.cat))
    net = twin("default", SEED).to(device)
    return _torch_step(net, data, checkpointed_unet(net, torch.utils.checkpoint.checkpoint, torch.cat))


@pytest.mark.parametrize("batch", [16, 64])
def test_course_train_step(run, batch):
    run(f"train step: course net, batch {batch}", course_step, batch=batch)


def test_default_train_step(run):
    run("train step: default U-Net, batch 64", default_step, batch=64)


def test_checkpointed_train_step(run):
    """Peak memory against the plain step's (bench/compare.py's memory columns): what checkpointing saves."""
    run("train step: default U-Net, batch 64, checkpointed blocks", checkpointed_step, batch=64)
