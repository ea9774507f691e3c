"""Convolutions (ops/conv.py via functional): conv2d, conv_transpose2d, upsample_conv2d against torch in float64."""

from __future__ import annotations

from unittest import mock

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.helpers import check_op, randn, seeds
from tinygrad_n2n import functional as F
from tinygrad_n2n.ops import conv

pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))


@st.composite
def conv2d_cases(draw) -> dict:
    """Arguments of a valid conv2d: rectangular kernels, stride, padding, dilation, groups, optional bias."""
    groups = draw(st.integers(1, 3))
    in_per_group, out_per_group = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride, dilation = draw(pairs), draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    size = []
    for axis in (0, 1):
        span = dilation[axis] * (kernel[axis] - 1) + 1
        size.append(max(1, span - 2 * padding[axis]) + draw(st.integers(0, 4)))
    seed = draw(seeds)
    return {
        "x": randn(draw(st.integers(1, 2)), groups * in_per_group, *size, seed=seed),
        "weight": randn(groups * out_per_group, in_per_group, *kernel, seed=seed + 1),
        "bias": randn(groups * out_per_group, seed=seed + 2) if draw(st.booleans()) else None,
        # int where both entries agree half of the time, to cover the int form of every argument
        "attrs": {
            "stride": stride[0] if stride[0] == stride[1] else stride,
            "padding": padding,
            "dilation": dilation,
            "groups": groups,
        },
    }


def _check_conv(engine_fn, torch_fn, case: dict) -> None:
    attrs = case["attrs"]
    if case["bias"] is None:
        check_op(
            lambda x, w: engine_fn(x, w, **attrs), lambda x, w: torch_fn(x, w, **attrs), [case["x"], case["weight"]]
        )
    else:
        check_op(
            lambda x, w, b: engine_fn(x, w, b, **attrs),
            lambda x, w, b: torch_fn(x, w, b, **attrs),
            [case["x"], case["weight"], case["bias"]],
        )


@pytest.mark.parametrize("strategy", [None, conv.Conv2dUnfold], ids=["chosen-strategy", "unfold-reference"])
@given(case=conv2d_cases())
def test_conv2d(strategy, case):
    """Whatever `conv2d_strategy` picks, and the unfold reference forced on every case (grouped or not)."""
    with mock.patch.object(conv, "FORCED_STRATEGY", strategy):
        _check_conv(F.conv2d, torch_F.conv2d, case)


@given(case=conv2d_cases(), grads=st.sampled_from([(True, False), (False, True)]))
def test_conv2d_gradient_for_one_input_only(case, grads):
    attrs = case["attrs"]
    check_op(
        lambda x, w: F.conv2d(x, w, **attrs),
        lambda x, w: torch_F.conv2d(x, w, **attrs),
        [case["x"], case["weight"]],
        grad_inputs=grads,
    )


def test_conv2d_keyword_defaults_and_torch_inputs():
    x, weight, bias = randn(2, 3, 6, 5, seed=1), randn(4, 3, 3, 2, seed=2), randn(4, seed=3)
    check_op(lambda w: F.conv2d(x, w, bias), lambda w: torch_F.conv2d(x, w, bias), [weight])
    check_op(
        lambda a: F.conv2d(a, weight, stride=[2, 1], padding=[1, 0], dilation=[1, 2]),
        lambda a: torch_F.conv2d(a, weight, stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
        [x],
    )


@st.composite
def conv_transpose2d_cases(draw) -> dict:
    """Arguments of a valid conv_transpose2d, output_padding included."""
    groups = draw(st.integers(1, 3))
    in_per_group, out_per_group = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride, dilation = draw(pairs), draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    for axis in (0, 1):
        out = (size[axis] - 1) * stride[axis] - 2 * padding[axis] + dilation[axis] * (kernel[axis] - 1)
        assume(out + output_padding[axis] + 1 >= 1)
    seed = draw(seeds)
    return {
        "x": randn(draw(st.integers(1, 2)), groups * in_per_group, *size, seed=seed),
        "weight": randn(groups * in_per_group, out_per_group, *kernel, seed=seed + 1),
        "bias": randn(groups * out_per_group, seed=seed + 2) if draw(st.booleans()) else None,
        "attrs": {
            "stride": stride,
            "padding": padding[0] if padding[0] == padding[1] else padding,
            "output_padding": output_padding,
            "groups": groups,
            "dilation": dilation,
        },
    }


@given(case=conv_transpose2d_cases())
def test_conv_transpose2d(case):
    _check_conv(F.conv_transpose2d, torch_F.conv_transpose2d, case)


def test_conv_transpose2d_output_padding_not_smaller_than_stride_when_dilated():
    """output_padding ≥ stride is legal when dilation is larger: an extra row that receives no input."""
    attrs = {"stride": 1, "padding": 0, "output_padding": (2, 1), "dilation": (3, 2)}
    check_op(
        lambda x, w: F.conv_transpose2d(x, w, **attrs),
        lambda x, w: torch_F.conv_transpose2d(x, w, **attrs),
        [randn(1, 2, 3, 3, seed=1), randn(2, 3, 2, 2, seed=2)],
    )


@given(
    scale=st.integers(1, 3) | st.tuples(st.integers(1, 3), st.integers(1, 3)),
    kernel=st.integers(1, 5),
    padding=st.integers(0, 2),
    stride=st.integers(1, 2),
    bias=st.booleans(),
    size=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    seed=seeds,
)
def test_upsample_conv2d_matches_interpolate_then_conv2d(scale, kernel, padding, stride, bias, size, seed):
    scales = scale if isinstance(scale, tuple) else (scale, scale)
    assume(all(s * k + 2 * padding >= kernel for s, k in zip(size, scales)))
    inputs = [randn(2, 2, *size, seed=seed), randn(3, 2, kernel, kernel, seed=seed + 1)]
    if bias:
        inputs.append(randn(3, seed=seed + 2))

    def engine(x, w, b=None):
        return F.upsample_conv2d(x, w, b, scale_factor=scale, stride=stride, padding=padding)

    def reference(x, w, b=None):
        upsampled = torch_F.interpolate(x, scale_factor=scales, mode="nearest")
        return torch_F.conv2d(upsampled, w, b, stride=stride, padding=padding)

    check_op(engine, reference, inputs)


def test_upsample_conv2d_default_arguments():
    """Defaults: scale 2, stride 1, padding 1 (the course's Upsampling)."""
    x, weight = randn(1, 3, 4, 5, seed=1), randn(2, 3, 3, 3, seed=2)
    check_op(
        F.upsample_conv2d,
        lambda a, w: torch_F.conv2d(torch_F.interpolate(a, scale_factor=2, mode="nearest"), w, padding=1),
        [x, weight],
    )
    out = F.upsample_conv2d(x, weight)
    assert out.shape == torch.Size([1, 2, 8, 10])
