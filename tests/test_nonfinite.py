"""Non-finite values propagate as in torch: NaN and ±Inf placed by hypothesis in inputs and weights give the
same NaN, +Inf and -Inf positions, and the same finite values, as torch.autograd in float64, in the forward
output and in every input's gradient.

The fast conv paths (ops/conv_gemm.py) run GEMMs over grid rows that are not outputs, where the gradient is
zero, and the fused upsample + conv works on the small input, where one pixel meets several taps: a zero or a
sum of weights meeting an Inf is where they could differ from torch. Every conv strategy is forced (the
thresholds patched as in test_fast_paths.py) on small drawn shapes. The upstream gradient is finite unless a
test says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import randn, seeds
from tests.test_fast_paths import STRATEGIES
from tests.test_ops_pool import pool_cases
from tinygrad_n2n import functional as F
from tinygrad_n2n.ops import conv, conv_gemm, nonfinite

NAN, INF = float("nan"), float("inf")
MASKS = {"NaN": torch.isnan, "+Inf": torch.isposinf, "-Inf": torch.isneginf}
# the strategies of test_fast_paths, the default thresholds, the unfold reference, and the CPU run as other
# devices run (no host probe: the exact paths always)
CONV_STRATEGIES = [*STRATEGIES, "default thresholds", "unfold", "no host probe"]


@pytest.fixture(params=CONV_STRATEGIES)
def strategy(request, monkeypatch):
    if request.param in STRATEGIES:
        for name, value in zip(("COLS_BELOW_CHANNELS", "THIN_BELOW", "SHIFT_MAX_WIDTH"), STRATEGIES[request.param]):
            monkeypatch.setattr(conv_gemm, name, value)
    if request.param == "unfold":
        monkeypatch.setattr(conv, "FORCED_STRATEGY", conv.Conv2dUnfold)
    if request.param == "no host probe":
        monkeypatch.setattr(nonfinite, "PROBE_ON_HOST", False)
    return request.param


# the fixture patches module constants once per test, the same for every example
fixture_settings = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def poisoned(draw, shape: Sequence[int], dense: bool = False) -> torch.Tensor:
    """Standard-normal float64 values of `shape` with a few (dense: about a third) set to NaN, +Inf or -Inf."""
    seed = draw(seeds)
    x = randn(*shape, seed=seed)
    specials = torch.tensor(draw(st.sampled_from([(NAN,), (INF,), (-INF,), (NAN, INF, -INF), (INF, -INF)])))
    generator = torch.Generator().manual_seed(seed + 1)
    if dense:
        where = torch.rand(x.shape, generator=generator) < draw(st.sampled_from([0.3, 0.9]))
    else:
        where = torch.zeros(x.numel(), dtype=torch.bool)
        where[torch.randint(0, max(x.numel(), 1), (draw(st.integers(0, 3)),), generator=generator)] = True
        where = where.view(x.shape)
    picked = specials[torch.randint(0, len(specials), x.shape, generator=generator)].to(x.dtype)
    return torch.where(where, picked, x)


def _same(what: str, got: torch.Tensor, expected: torch.Tensor) -> None:
    assert got.shape == expected.shape, f"{what}: shape {tuple(got.shape)} != torch {tuple(expected.shape)}"
    for name, mask in MASKS.items():
        ours, theirs = mask(got), mask(expected)
        extra, missing = int((ours & ~theirs).sum()), int((theirs & ~ours).sum())
        assert not extra and not missing, f"{what}: {name} at {extra} positions more and {missing} fewer than torch"
    finite = torch.isfinite(expected)
    torch.testing.assert_close(got[finite], expected[finite], atol=1e-9, rtol=1e-9, msg=lambda m: f"{what}: {m}")


def check_nonfinite(
    engine_fn: Callable, torch_fn: Callable, inputs: Sequence[torch.Tensor], grad_out: torch.Tensor | None = None
) -> None:
    """Forward output and every float input's gradient: the same NaN/±Inf positions and finite values as torch.

    grad_out: the upstream gradient (default: standard-normal values)."""
    ours = [tn.Tensor(x.clone(), requires_grad=x.is_floating_point()) for x in inputs]
    theirs = [x.clone().requires_grad_(x.is_floating_point()) for x in inputs]
    out, ref = engine_fn(*ours), torch_fn(*theirs)
    _same("output", out.data, ref.detach())
    seed = randn(*ref.shape, seed=7) if grad_out is None else grad_out
    out.backward(seed)
    ref.backward(seed)
    for i, (mine, reference) in enumerate(zip(ours, theirs)):
        if reference.requires_grad:
            expected = reference.grad if reference.grad is not None else torch.zeros_like(reference)
            _same(f"gradient of input {i}", mine.gradient, expected)


# ---------------------------------------------------------------- convolutions


@st.composite
def conv2d_cases(draw, groups: bool = False) -> tuple[list[torch.Tensor], dict]:
    """Poisoned (x, weight, bias?) and valid conv2d arguments; x or weight sometimes not poisoned at all."""
    group = draw(st.integers(1, 2)) if groups else 1
    in_channels, out_channels = group * draw(st.integers(1, 3)), group * draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    size = [max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 4)) for k, p, d in zip(kernel, padding, dilation)]
    inputs = [
        draw(poisoned((draw(st.integers(1, 2)), in_channels, *size))),
        draw(poisoned((out_channels, in_channels // group, *kernel))),
    ]
    if draw(st.booleans()):
        inputs.append(draw(poisoned((out_channels,))))
    attrs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": group}
    return inputs, attrs


@fixture_settings
@given(case=conv2d_cases())
def test_conv2d(strategy, case):
    inputs, attrs = case
    check_nonfinite(lambda *a: F.conv2d(*a, **attrs), lambda *a: torch_F.conv2d(*a, **attrs), inputs)


@fixture_settings
@given(case=conv2d_cases(), grad_seed=seeds)
def test_conv2d_with_a_non_finite_upstream_gradient(strategy, case, grad_seed):
    inputs, attrs = case
    shape = torch_F.conv2d(*inputs[:2], **attrs).shape
    grad_out = _poisoned_gradient(shape, grad_seed)
    check_nonfinite(lambda *a: F.conv2d(*a, **attrs), lambda *a: torch_F.conv2d(*a, **attrs), inputs, grad_out)


def _poisoned_gradient(shape: torch.Size, seed: int) -> torch.Tensor:
    """A standard-normal upstream gradient with a NaN, a +Inf and a -Inf at seeded positions (fewer if tiny)."""
    grad = randn(*shape, seed=seed).view(-1)
    positions = torch.randint(0, grad.numel(), (3,), generator=torch.Generator().manual_seed(seed))
    grad[positions] = torch.tensor([NAN, INF, -INF], dtype=grad.dtype)
    return grad.view(shape)


def test_conv2d_backward_twice_with_retain_graph():
    """A second backward through a conv that met an Inf and a NaN gives the same gradients again."""
    x, weight = randn(2, 16, 5, 6, seed=1), randn(8, 16, 3, 3, seed=2)  # per-tap GEMMs: 16 in, 8 out
    x[0, 3, 4, 5], weight[1, 2, 0, 0] = INF, NAN
    leaves = [tn.Tensor(x, requires_grad=True), tn.Tensor(weight, requires_grad=True)]
    out = F.conv2d(*leaves, padding=1)
    seed = randn(*out.shape, seed=3)
    out.backward(seed, retain_graph=True)
    first = [leaf.gradient.clone() for leaf in leaves]
    out.backward(seed)
    for leaf, once in zip(leaves, first):
        torch.testing.assert_close(leaf.gradient, 2 * once, equal_nan=True)


@given(case=conv2d_cases(groups=True))
def test_grouped_conv2d(case):
    inputs, attrs = case
    check_nonfinite(lambda *a: F.conv2d(*a, **attrs), lambda *a: torch_F.conv2d(*a, **attrs), inputs)


@st.composite
def conv_transpose2d_cases(draw) -> tuple[list[torch.Tensor], dict]:
    groups = draw(st.integers(1, 2))
    in_channels, out_per_group = groups * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    for axis in (0, 1):
        out = (size[axis] - 1) * stride[axis] - 2 * padding[axis] + dilation[axis] * (kernel[axis] - 1)
        assume(out + output_padding[axis] + 1 >= 1)
    inputs = [
        draw(poisoned((draw(st.integers(1, 2)), in_channels, *size))),
        draw(poisoned((in_channels, out_per_group, *kernel))),
    ]
    if draw(st.booleans()):
        inputs.append(draw(poisoned((groups * out_per_group,))))
    attrs = {"stride": stride, "padding": padding, "output_padding": output_padding, "groups": groups}
    return inputs, {**attrs, "dilation": dilation}


@given(case=conv_transpose2d_cases(), grad_seed=st.none() | seeds)
def test_conv_transpose2d(case, grad_seed):
    inputs, attrs = case
    grad_out = None
    if grad_seed is not None:
        grad_out = _poisoned_gradient(torch_F.conv_transpose2d(*inputs[:2], **attrs).shape, grad_seed)
    check_nonfinite(
        lambda *a: F.conv_transpose2d(*a, **attrs), lambda *a: torch_F.conv_transpose2d(*a, **attrs), inputs, grad_out
    )


@st.composite
def upsample_conv2d_cases(draw) -> tuple[list[torch.Tensor], dict]:
    """Poisoned (x, weight, bias?) and upsample_conv2d arguments; stride 1 (the fused op) most of the time."""
    scale = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    for axis in (0, 1):
        assume(size[axis] * scale[axis] + 2 * padding[axis] >= dilation[axis] * (kernel[axis] - 1) + 1)
    in_channels, out_channels = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    inputs = [
        draw(poisoned((draw(st.integers(1, 2)), in_channels, *size))),
        draw(poisoned((out_channels, in_channels, *kernel))),
    ]
    if draw(st.booleans()):
        inputs.append(draw(poisoned((out_channels,))))
    stride = draw(st.sampled_from([1, 1, 1, 2]))
    return inputs, {"scale_factor": scale, "padding": padding, "dilation": dilation, "stride": stride}


@fixture_settings
@given(case=upsample_conv2d_cases())
def test_upsample_conv2d_matches_interpolate_then_conv2d(strategy, case):
    inputs, attrs = case
    scale, conv_attrs = attrs["scale_factor"], {k: v for k, v in attrs.items() if k != "scale_factor"}

    def reference(x, w, b=None):
        return torch_F.conv2d(torch_F.interpolate(x, scale_factor=scale, mode="nearest"), w, b, **conv_attrs)

    check_nonfinite(lambda *a: F.upsample_conv2d(*a, **attrs), reference, inputs)


@fixture_settings
@given(case=upsample_conv2d_cases(), grad_seed=seeds)
def test_upsample_conv2d_with_a_non_finite_upstream_gradient(strategy, case, grad_seed):
    """The fused op's gradient meets zero phase weights: a NaN or ±Inf upstream takes the reference backward."""
    inputs, attrs = case
    scale, conv_attrs = attrs["scale_factor"], {k: v for k, v in attrs.items() if k != "scale_factor"}

    def reference(x, w, b=None):
        return torch_F.conv2d(torch_F.interpolate(x, scale_factor=scale, mode="nearest"), w, b, **conv_attrs)

    finite = [torch.nan_to_num(x, nan=0.5, posinf=2.0, neginf=-2.0) for x in inputs]  # the fused forward
    grad_out = _poisoned_gradient(reference(*finite).shape, grad_seed)
    check_nonfinite(lambda *a: F.upsample_conv2d(*a, **attrs), reference, finite, grad_out)


# ---------------------------------------------------------------- pooling


@given(case=pool_cases(dilated=True), data=st.data())
def test_max_pool2d(case, data):
    """Sparse poison, and dense: windows of NaNs (torch routes the gradient to the last one) or all -Inf (to the
    first element that is not padding)."""
    x, attrs = case
    x = data.draw(poisoned(x.shape, dense=data.draw(st.booleans())))
    check_nonfinite(lambda a: F.max_pool2d(a, **attrs), lambda a: torch_F.max_pool2d(a, **attrs), [x])


def test_max_pool2d_all_minus_inf_window_with_padding_keeps_its_gradient():
    x = torch.full((1, 1, 2, 2), -INF, dtype=torch.float64)
    x[0, 0, 1, 1] = 1.0
    check_nonfinite(lambda a: F.max_pool2d(a, 2, 1, 1), lambda a: torch_F.max_pool2d(a, 2, 1, 1), [x])


@given(case=pool_cases(dilated=False), count_include_pad=st.booleans(), data=st.data())
def test_avg_pool2d(case, count_include_pad, data):
    x, attrs = case
    x = data.draw(poisoned(x.shape, dense=data.draw(st.booleans())))
    attrs = {**attrs, "count_include_pad": count_include_pad}
    check_nonfinite(lambda a: F.avg_pool2d(a, **attrs), lambda a: torch_F.avg_pool2d(a, **attrs), [x])


# ---------------------------------------------------------------- losses

reductions = st.sampled_from(["mean", "sum", "none"])


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), reduction=reductions, data=st.data())
def test_regression_losses(name, shape, reduction, data):
    x, target = data.draw(poisoned(shape)), data.draw(poisoned(shape))
    engine, reference = getattr(F, name), getattr(torch_F, name)
    check_nonfinite(
        lambda a, t: engine(a, t, reduction=reduction), lambda a, t: reference(a, t, reduction=reduction), [x, target]
    )


@given(batch=st.integers(1, 3), classes=st.integers(1, 4), reduction=reductions, data=st.data())
def test_cross_entropy(batch, classes, reduction, data):
    logits = data.draw(poisoned((batch, classes), dense=data.draw(st.booleans())))
    target = torch.randint(0, classes, (batch,), generator=torch.Generator().manual_seed(data.draw(seeds)))
    attrs = {"reduction": reduction}
    check_nonfinite(
        lambda a, t: F.cross_entropy(a, t, **attrs), lambda a, t: torch_F.cross_entropy(a, t, **attrs), [logits, target]
    )
