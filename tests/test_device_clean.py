"""Ops are device-clean: a full training step never reads a device value on the host.

Two proofs: both denoisers train one step (forward, MSE, backward, Adam) and run an eval forward on torch's
`meta` device, where any `.tolist()`/`.item()` of a value fails; and on the CPU a dispatch watcher sees no
`aten._local_scalar_dense` (the kernel behind `.item()`, `bool(tensor)` and Python branching on values) in
the ops' forward and backward when the CPU runs as other devices do; with its NaN/Inf probe on
(`ops.nonfinite`, CPU only), the probes are the only host reads. (Adam reads its step counter, a CPU tensor as
in torch.optim, on the host.)
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
from tinygrad_n2n.ops import nonfinite
from tinygrad_n2n.ops.upsample_conv import UpsampleConv2d


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
def test_training_step_reads_no_device_value_on_the_host(arch, monkeypatch):
    """Run the CPU as other devices run (`nonfinite`: no probe for NaN/Inf, the exact paths)."""
    monkeypatch.setattr(nonfinite, "PROBE_ON_HOST", False)
    watcher = HostReadWatcher()
    out = _train_step_and_eval(arch, "cpu", watch_ops=lambda: watcher)
    assert out.shape == (2, 3, 8, 12)
    assert watcher.host_reads == []


@pytest.mark.parametrize("arch", ["default", "course"])
def test_on_the_cpu_the_only_host_reads_are_the_nan_probes(arch, monkeypatch):
    """With the probe on (the CPU default), each probed tensor costs one host read, and nothing else does."""
    probed, probe = [], nonfinite.finite

    def counting_probe(*tensors):
        probed.extend(t for t in tensors if t is not None)
        return probe(*tensors)

    monkeypatch.setattr(nonfinite, "finite", counting_probe)
    watcher = HostReadWatcher()
    _train_step_and_eval(arch, "cpu", watch_ops=lambda: watcher)
    assert probed and len(watcher.host_reads) == len(probed)


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
    out = UpsampleConv2d.apply(x, weight, None, scale=(2, 2), padding=(1, 1), dilation=(1, 1))  # the fused op
    out.sum().backward()
    assert out.dtype == dtype and weight.gradient.dtype == dtype and weight.gradient.device.type == "meta"


METHODS = {  # the Tensor methods built on primitives or compositions with saved tensors: forward and backward
    "log1p-sin-cos-erf-steps": lambda x: x.log1p() + x.sin() * x.cos() + x.erf() + x.sign() + x.floor() + x.round(),
    "rsqrt-reciprocal-lerp": lambda x: x.rsqrt() + x.reciprocal() + x.lerp(x * 2, 0.3),
    "prod": lambda x: x.prod(1).sum() + x.prod(),
    "amax-amin": lambda x: x.amax(1).sum() + x.amin(),
    "var-std": lambda x: x.var(1).sum() + x.std() + x.var(),
    "norm": lambda x: x.norm() + x.norm(float("inf")) + x.norm(3, 1).sum(),
    "cumsum-logsumexp": lambda x: x.cumsum(1).sum() + x.logsumexp(1).sum(),
    "sort-topk": lambda x: x.sort(1).values.sum() + x.topk(2).values.sum(),
    "repeat-flip-roll-split": lambda x: x.repeat(2, 1).flip(0).roll(1, 1).split(2, 1)[1].sum(),
    "gather-scatter-index_select": lambda x: (
        x.scatter(1, x.data.argsort(1)[:, :2], x[:, :2] * 2).index_select(1, x.data[0].argsort()).sum()
        + x.gather(1, x.data.argsort(1)).sum()
    ),
    "einsum": lambda x: tn.einsum("ij,kj->ik", x, x).sum() + tn.einsum("ii->i", x[:, :3]).sum(),
    "clamp-nan_to_num-masked_fill-tril": lambda x: (
        x.clamp(x[0] - 1, x[0] + 1) + x.nan_to_num() + x.masked_fill(x.data > 0, 1.0) + x[:, :3].tril().sum()
    ),
}


@pytest.mark.parametrize("name", METHODS)
def test_tensor_methods_run_on_meta_and_read_no_device_value_on_the_host(name):
    meta = tn.Tensor(torch.empty(3, 4, dtype=torch.float64, device="meta"), requires_grad=True)
    METHODS[name](meta).sum().backward()
    assert meta.gradient.device.type == "meta"
    x = tn.Tensor(torch.rand(3, 4, dtype=torch.float64) + 0.5, requires_grad=True)
    with HostReadWatcher() as watcher:
        METHODS[name](x).sum().backward()
    assert watcher.host_reads == [] and x.gradient is not None
