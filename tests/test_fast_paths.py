"""Every layout and GEMM strategy of the conv fast path (ops/conv_gemm.py) against torch.autograd in float64.

`conv_gemm` picks, by channel counts, between one GEMM per tap and one GEMM over gathered `cols`, row- or
column-major results, and shifted sums of one wide product; the thresholds are patched here so that each
strategy runs on small shapes, for conv2d and for the fused upsample + conv, and is also compared with the
plain unfold + fold strategy (`Conv2dUnfold`).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as torch_F

import tinygrad_n2n as tn
from tests.helpers import check_op, randn
from tinygrad_n2n import functional as F
from tinygrad_n2n.ops import conv, conv_gemm

# (COLS_BELOW_CHANNELS, THIN_BELOW, SHIFT_MAX_WIDTH): which strategy small channel counts take
STRATEGIES = {
    "per-tap, row-major": (0, 0, 0),
    "per-tap, column-major": (0, 10**6, 0),
    "per-tap, shifted sums": (0, 10**6, 10**6),
    "cols, channels-first": (10**6, 10**6, 0),
    "cols, row-major, shifted grad planes": (10**6, 0, 10**6),
}
# (in, out, kernel, stride, padding, dilation)
CONV_CASES = [
    (3, 4, (3, 3), (1, 1), (1, 1), (1, 1)),
    (2, 3, (3, 2), (2, 1), (1, 0), (1, 2)),
    (4, 2, (3, 3), (2, 2), (1, 1), (1, 1)),
    (2, 5, (1, 4), (3, 2), (0, 2), (1, 1)),
    (3, 1, (2, 3), (1, 3), (2, 1), (2, 1)),
]
# (in, out, kernel, scale, padding)
UPSAMPLE_CASES = [(3, 2, 3, (2, 2), 1), (2, 4, 3, (3, 2), 0), (4, 1, 5, (2, 3), 2), (2, 3, 1, (2, 2), 0)]


@pytest.fixture(params=list(STRATEGIES), ids=list(STRATEGIES))
def strategy(request, monkeypatch):
    cols_below, thin_below, shift_max = STRATEGIES[request.param]
    monkeypatch.setattr(conv_gemm, "COLS_BELOW_CHANNELS", cols_below)
    monkeypatch.setattr(conv_gemm, "THIN_BELOW", thin_below)
    monkeypatch.setattr(conv_gemm, "SHIFT_MAX_WIDTH", shift_max)
    return request.param


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_strategy_matches_torch(strategy, case, bias):
    in_channels, out_channels, kernel, stride, padding, dilation = case
    attrs = {"stride": stride, "padding": padding, "dilation": dilation}
    inputs = [randn(2, in_channels, 7, 6, seed=1), randn(out_channels, in_channels, *kernel, seed=2)]
    inputs += [randn(out_channels, seed=3)] if bias else []
    check_op(lambda *a: F.conv2d(*a, **attrs), lambda *a: torch_F.conv2d(*a, **attrs), inputs)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_strategy_matches_the_unfold_path(strategy, case):
    in_channels, out_channels, kernel, stride, padding, dilation = case
    attrs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": 1}
    raw = [randn(2, in_channels, 7, 6, seed=4), randn(out_channels, in_channels, *kernel, seed=5), randn(out_channels)]
    results = []
    for op in (conv.Conv2dTaps, conv.Conv2dUnfold):
        leaves = [tn.Tensor(x, requires_grad=True) for x in raw]
        out = op.apply(*leaves, **attrs)
        out.backward(randn(*out.shape, seed=6))
        results.append([out.data] + [leaf.gradient for leaf in leaves])
    for fast, plain in zip(*results):
        torch.testing.assert_close(fast, plain, atol=1e-10, rtol=0)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("case", UPSAMPLE_CASES)
def test_upsample_conv2d_strategy_matches_interpolate_then_conv2d(strategy, case, bias):
    in_channels, out_channels, kernel, scale, padding = case
    inputs = [randn(2, in_channels, 3, 4, seed=7), randn(out_channels, in_channels, kernel, kernel, seed=8)]
    inputs += [randn(out_channels, seed=9)] if bias else []

    def reference(x, w, b=None):
        return torch_F.conv2d(torch_F.interpolate(x, scale_factor=scale, mode="nearest"), w, b, padding=padding)

    check_op(lambda x, w, b=None: F.upsample_conv2d(x, w, b, scale_factor=scale, padding=padding), reference, inputs)


@pytest.mark.parametrize(
    ("in_channels", "out_channels", "stride"), [(16, 16, 1), (16, 24, 2), (17, 3, 1), (20, 2, 2), (3, 18, 1)]
)
def test_conv2d_at_real_channel_counts(in_channels, out_channels, stride):
    """The default thresholds: wide per-tap GEMMs, thin outputs (shifted sums), channels-first cols."""
    weight = randn(out_channels, in_channels, 3, 3, seed=11)
    inputs = [randn(2, in_channels, 6, 5, seed=10), weight, randn(out_channels)]
    attrs = {"stride": stride, "padding": 1}
    check_op(lambda *a: F.conv2d(*a, **attrs), lambda *a: torch_F.conv2d(*a, **attrs), inputs)


@pytest.mark.parametrize(("in_channels", "out_channels"), [(16, 16), (18, 3), (3, 5), (16, 1)])
def test_upsample_conv2d_at_real_channel_counts(in_channels, out_channels):
    weight = randn(out_channels, in_channels, 3, 3, seed=13)
    inputs = [randn(2, in_channels, 4, 3, seed=12), weight, randn(out_channels)]

    def reference(x, w, b):
        return torch_F.conv2d(torch_F.interpolate(x, scale_factor=2, mode="nearest"), w, b, padding=1)

    check_op(F.upsample_conv2d, reference, inputs)
