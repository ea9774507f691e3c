"""Resampling (ops/pool.py): upsample_nearest, max_pool2d, avg_pool2d against torch in float64."""

from __future__ import annotations

import torch
import torch.nn.functional as torch_F
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import check_op, randn, seeds
from tinygrad_n2n import functional as F


@st.composite
def pool_cases(draw, dilated: bool) -> tuple[torch.Tensor, dict]:
    """An input and pooling arguments (kernel, stride or None, padding ≤ kernel/2, dilation) that torch accepts."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.none() | st.integers(1, 3) | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilated else (1, 1)
    size = [max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 4)) for k, p, d in zip(kernel, padding, dilation)]
    strides = kernel if stride is None else stride if isinstance(stride, tuple) else (stride, stride)
    for n, k, s, p, d in zip(size, kernel, strides, padding, dilation):
        # every window must touch the input: torch's max_pool2d misbehaves (even crashes) on all-padding windows
        windows = range((n + 2 * p - d * (k - 1) - 1) // s + 1)
        assume(all(any(0 <= o * s - p + j * d < n for j in range(k)) for o in windows))
    x = randn(draw(st.integers(1, 2)), draw(st.integers(1, 3)), *size, seed=draw(seeds))
    attrs = {"kernel_size": kernel[0] if kernel[0] == kernel[1] else kernel, "stride": stride, "padding": padding}
    if dilated:
        attrs["dilation"] = dilation
    return x, attrs


@given(case=pool_cases(dilated=True))
def test_max_pool2d(case):
    x, attrs = case
    check_op(lambda a: F.max_pool2d(a, **attrs), lambda a: torch_F.max_pool2d(a, **attrs), [x])


@given(case=pool_cases(dilated=False), count_include_pad=st.booleans())
def test_avg_pool2d(case, count_include_pad):
    x, attrs = case
    check_op(
        lambda a: F.avg_pool2d(a, **attrs, count_include_pad=count_include_pad),
        lambda a: torch_F.avg_pool2d(a, **attrs, count_include_pad=count_include_pad),
        [x],
    )


def test_max_pool2d_overlapping_windows_accumulate():
    """stride < kernel: one input can be the max of several windows; its gradient is their sum."""
    x = torch.tensor([[[[0.0, 1.0, 0.0], [0.0, 9.0, 0.0], [0.0, 2.0, 0.0]]]], dtype=torch.float64)
    check_op(lambda a: F.max_pool2d(a, 2, stride=1), lambda a: torch_F.max_pool2d(a, 2, stride=1), [x])
    engine = tn.Tensor(x, requires_grad=True)
    F.max_pool2d(engine, 2, stride=1).sum().backward()
    assert engine.gradient[0, 0, 1, 1].item() == 4.0 and engine.gradient.sum().item() == 4.0


@given(
    scale=st.integers(1, 4) | st.tuples(st.integers(1, 3), st.integers(1, 3)),
    size=st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)),
    seed=seeds,
)
def test_upsample_nearest_int_and_pair_scales(scale, size, seed):
    scales = scale if isinstance(scale, tuple) else (scale, scale)
    check_op(
        lambda a: F.upsample_nearest(a, scale),
        lambda a: torch_F.interpolate(a, scale_factor=scales, mode="nearest"),
        [randn(*size, seed=seed)],
    )
    check_op(
        lambda a: F.upsample_nearest(a, list(scales)),
        lambda a: torch_F.interpolate(a, scale_factor=scales, mode="nearest"),
        [randn(*size, seed=seed)],
    )


def test_pooling_and_upsampling_compose_with_conv():
    weight = randn(2, 3, 3, 3, seed=4)

    def engine(a):
        return F.upsample_nearest(F.max_pool2d(F.relu(F.conv2d(a, weight, padding=1)), 2), 2)

    def reference(a):
        pooled = torch_F.max_pool2d(torch.relu(torch_F.conv2d(a, weight, padding=1)), 2)
        return torch_F.interpolate(pooled, scale_factor=2, mode="nearest")

    check_op(engine, reference, [randn(2, 3, 6, 6, seed=5)])
