"""Ops are device-clean: a full training step never reads a device value on the host.

Two proofs: both denoisers train one step (forward, MSE, backward, Adam) and run an eval forward on torch's
`meta` device, where any `.tolist()`/`.item()` of a value fails; and on the CPU a dispatch watcher sees no
`aten._local_scalar_dense` (the kernel behind `.item()`, `bool(tensor)` and Python branching on values) in
the ops' forward and backward. (Adam reads its step counter, a CPU tensor as in torch.optim, on the host.)
"""

from __future__ import annotations

import contextlib

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import tinygrad_n2n as tn
from tinygrad_n2n import functional as F
from tinygrad_n2n import optim
from tinygrad_n2n.n2n.models import build


class HostReadWatcher(TorchDispatchMode):
    """Records every aten op that copies a device value to the host."""

    def __init__(self) -> None:
        super().__init__()
        self.host_reads: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            self.host_reads.append(str(func))
        return func(*args, **(kwargs or {}))


def _train_step_and_eval(arch: str, device: str, watch_ops=contextlib.nullcontext) -> tn.Tensor:
    torch.manual_seed(0)
    net = build(arch, 4).to(device) if arch == "default" else build(arch).to(device)
    opt = optim.Adam(net.parameters(), lr=1e-3)
    x = tn.Tensor(torch.rand(2, 3, 8, 12, device=device))
    target = tn.Tensor(torch.rand(2, 3, 8, 12, device=device))
    opt.zero_grad()
    with watch_ops():
        F.mse_loss(net(x), target).backward()
    opt.step()
    net.eval()
    with watch_ops():
        return net(x)


@pytest.mark.parametrize("arch", ["default", "course"])
def test_training_step_and_eval_run_on_the_meta_device(arch):
    out = _train_step_and_eval(arch, "meta")
    assert out.device.type == "meta" and out.shape == (2, 3, 8, 12)


@pytest.mark.parametrize("arch", ["default", "course"])
def test_training_step_reads_no_device_value_on_the_host(arch):
    watcher = HostReadWatcher()
    out = _train_step_and_eval(arch, "cpu", watch_ops=lambda: watcher)
    assert out.shape == (2, 3, 8, 12)
    assert watcher.host_reads == []


def test_the_watcher_sees_a_host_read():
    """The watcher itself can fail: `.item()` inside it is recorded."""
    with HostReadWatcher() as watcher:
        torch.ones(1).item()
    assert watcher.host_reads == ["aten._local_scalar_dense.default"]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_upsample_conv2d_phase_matrices_follow_the_weight(dtype):
    """The cached per-configuration constants are created on the weight's device and dtype."""
    x = tn.Tensor(torch.empty(1, 2, 3, 3, dtype=dtype, device="meta"), requires_grad=True)
    weight = tn.Tensor(torch.empty(4, 2, 3, 3, dtype=dtype, device="meta"), requires_grad=True)
    out = F.upsample_conv2d(x, weight, scale_factor=2, padding=1)
    out.sum().backward()
    assert out.dtype == dtype and weight.gradient.dtype == dtype and weight.gradient.device.type == "meta"
