"""Workload 3: every convolution shape of the course network (batch 64, 32x32 patches), forward + backward.

The two stride-2 convs, and the convs inside the two Upsampling layers applied to an already upsampled
input (plain conv2d; the fused layers are `test_upsampling.py`). Backward computes the gradients of the
input, the weight and the bias from a fixed output gradient.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import tinygrad_n2n as tn
from bench.workload import Workload, shapes_of

BATCH = 64
# (in_channels, out_channels, input size, stride): conv1, conv2, and the convs of Upsampling(64, 32) and (32, 3)
COURSE_CONVS = [(3, 32, 32, 2), (32, 64, 16, 2), (64, 32, 16, 1), (32, 3, 32, 1)]


def conv_layer(impl: str, device: str, in_channels: int, out_channels: int, size: int, stride: int) -> Workload:
    """y = conv(x) with a 3x3 kernel, padding 1; then backward of y against a fixed gradient."""
    torch.manual_seed(0)
    x = torch.randn(BATCH, in_channels, size, size, device=device)
    out_size = (size - 1) // stride + 1
    grad_out = torch.randn(BATCH, out_channels, out_size, out_size, device=device)
    shapes = shapes_of(x=x, grad_out=grad_out)
    if impl == "tinygrad_n2n":
        layer = tn.nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1).to(device)

        def step() -> None:
            layer(tn.Tensor(x, requires_grad=True)).backward(grad_out)

        return Workload(step, shapes)
    torch_layer = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1).to(device)

    def torch_step() -> None:
        torch_layer(x.detach().requires_grad_()).backward(grad_out)

    return Workload(torch_step, shapes)


@pytest.mark.parametrize("shape", COURSE_CONVS, ids=lambda s: f"{s[0]}to{s[1]}-{s[2]}px-s{s[3]}")
def test_conv_layer(run, shape):
    in_channels, out_channels, size, stride = shape
    name = f"conv fwd+bwd: {in_channels}->{out_channels}, {size}px, stride {stride}"
    run(name, conv_layer, in_channels=in_channels, out_channels=out_channels, size=size, stride=stride)
