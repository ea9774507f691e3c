"""Workload 4: the course's Upsampling layers (nearest x2 + 3x3 conv, padding 1), forward + backward.

Ours is the fused `tn.nn.Upsampling`; torch's is nn.Upsample followed by nn.Conv2d, as a user writes it.
Batch 64, shapes of the course network on 32x32 patches.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import tinygrad_n2n as tn
from bench.workload import Workload, shapes_of

BATCH = 64
# (in_channels, out_channels, input size): the two Upsampling layers of the course network
COURSE_UPSAMPLINGS = [(64, 32, 8), (32, 3, 16)]


def upsampling(impl: str, device: str, in_channels: int, out_channels: int, size: int) -> Workload:
    """y = conv3x3(upsample_nearest(x, 2)); then backward of y against a fixed gradient (dx, dW, db)."""
    torch.manual_seed(0)
    x = torch.randn(BATCH, in_channels, size, size, device=device)
    grad_out = torch.randn(BATCH, out_channels, 2 * size, 2 * size, device=device)
    shapes = shapes_of(x=x, grad_out=grad_out)
    if impl == "tinygrad_n2n":
        layer = tn.nn.Upsampling(in_channels, out_channels).to(device)

        def step() -> None:
            layer(tn.Tensor(x, requires_grad=True)).backward(grad_out)

        return Workload(step, shapes)
    torch_layer = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(in_channels, out_channels, 3, padding=1))
    torch_layer = torch_layer.to(device)

    def torch_step() -> None:
        torch_layer(x.detach().requires_grad_()).backward(grad_out)

    return Workload(torch_step, shapes)


@pytest.mark.parametrize("shape", COURSE_UPSAMPLINGS, ids=lambda s: f"{s[0]}to{s[1]}-{s[2]}px")
def test_upsampling(run, shape):
    in_channels, out_channels, size = shape
    name = f"Upsampling fwd+bwd: {in_channels}->{out_channels}, {size}->{2 * size}px"
    run(name, upsampling, in_channels=in_channels, out_channels=out_channels, size=size)
