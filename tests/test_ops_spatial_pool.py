"""1-D and adaptive pooling (spatial/pooling.py) against torch.autograd in float64, over generated shapes and
configurations: max_pool1d, avg_pool1d, adaptive_{avg,max}_pool{1,2}d."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import check_op, randn, same_as_torch, seeds
from tinygrad_n2n.nn import functional as F


def batch_or_not(draw, *spatial: int, seed: int) -> torch.Tensor:
    """(N, C, *spatial) or unbatched (C, *spatial) float64 values."""
    lead = [draw(st.integers(1, 2)), draw(st.integers(1, 3))] if draw(st.booleans()) else [draw(st.integers(1, 3))]
    return randn(*lead, *spatial, seed=seed)


@st.composite
def pool1d_cases(draw, dilated: bool):
    """An input and 1-D pooling arguments torch accepts (padding ≤ kernel / 2), ceil_mode included."""
    kernel = draw(st.integers(1, 4))
    stride = draw(st.none() | st.integers(1, 3))
    padding = draw(st.integers(0, kernel // 2))
    dilation = draw(st.integers(1, 2)) if dilated else 1
    length = max(1, dilation * (kernel - 1) + 1 - 2 * padding) + draw(st.integers(0, 5))
    attrs = {"kernel_size": kernel, "stride": stride, "padding": padding, "ceil_mode": draw(st.booleans())}
    if dilated:
        attrs["dilation"] = dilation
    return batch_or_not(draw, length, seed=draw(seeds)), attrs


@given(case=pool1d_cases(dilated=True), return_indices=st.booleans())
def test_max_pool1d(case, return_indices):
    x, attrs = case
    step, size = attrs["stride"] or attrs["kernel_size"], x.shape[-1]
    taps = [j * attrs["dilation"] - attrs["padding"] for j in range(attrs["kernel_size"])]
    # every window touches the input (torch gives -inf and an index outside the input for an all-padding window)
    assume(all(any(0 <= o * step + t < size for t in taps) for o in range(torch_F.max_pool1d(x, **attrs).shape[-1])))
    check_op(lambda a: F.max_pool1d(a, **attrs), lambda a: torch_F.max_pool1d(a, **attrs), [x])
    if return_indices:
        values, indices = F.max_pool1d(tn.Tensor(x), **attrs, return_indices=True)
        expected_values, expected = torch_F.max_pool1d(x, **attrs, return_indices=True)
        assert (
            torch.equal(indices.data, expected)
            and not indices.requires_grad
            and torch.equal(values.data, expected_values)
        )


@given(case=pool1d_cases(dilated=False), count_include_pad=st.booleans())
def test_avg_pool1d(case, count_include_pad):
    """Including ceil_mode's last window past the padding, which divides by what it covers."""
    x, attrs = case
    attrs["count_include_pad"] = count_include_pad
    check_op(lambda a: F.avg_pool1d(a, **attrs), lambda a: torch_F.avg_pool1d(a, **attrs), [x])


def test_max_pool1d_ties_route_the_gradient_where_torch_does():
    x = torch.tensor([[[1.0, 1.0, 1.0, 0.0, 2.0, 2.0]]], dtype=torch.float64)
    check_op(lambda a: F.max_pool1d(a, 3, 1, 1), lambda a: torch_F.max_pool1d(a, 3, 1, 1), [x])


@pytest.mark.parametrize(
    "fn, torch_fn, shape, args",
    [
        (F.max_pool1d, torch_F.max_pool1d, (1, 2, 5), (3, 1, 2)),
        (F.avg_pool1d, torch_F.avg_pool1d, (1, 2, 5), (2, 1, 2)),
        (F.max_pool1d, torch_F.max_pool1d, (1, 2, 2, 5), (2,)),
        (F.avg_pool1d, torch_F.avg_pool1d, (1, 2, 2), (3,)),
        (F.adaptive_avg_pool2d, torch_F.adaptive_avg_pool2d, (1, 2, 3, 3), ((2, 2, 2),)),
        (F.adaptive_max_pool2d, torch_F.adaptive_max_pool2d, (1, 2, 0, 3), (2,)),
        (F.adaptive_max_pool1d, torch_F.adaptive_max_pool1d, (2, 3), (-1,)),
    ],
    ids=["max-pad", "avg-pad", "max-4d", "avg-kernel", "adaptive-3-sizes", "adaptive-empty", "adaptive-negative"],
)
def test_bad_arguments_raise_torchs_errors(fn, torch_fn, shape, args):
    same_as_torch(fn.__name__, lambda a: fn(a, *args), lambda a: torch_fn(a, *args), [randn(*shape)])


SIZES = st.integers(1, 6)


@given(data=st.data(), h=SIZES, w=SIZES, seed=seeds)
def test_adaptive_avg_pool2d(data, h, w, seed):
    """Output sizes below, equal to and above the input's (overlapping windows), and None (keep)."""
    x = batch_or_not(data.draw, h, w, seed=seed)
    size = data.draw(st.integers(1, 7) | st.tuples(st.none() | st.integers(1, 7), st.none() | st.integers(1, 7)))
    check_op(lambda a: F.adaptive_avg_pool2d(a, size), lambda a: torch_F.adaptive_avg_pool2d(a, size), [x])


@given(data=st.data(), length=SIZES, size=st.integers(1, 7), seed=seeds)
def test_adaptive_avg_pool1d(data, length, size, seed):
    x = batch_or_not(data.draw, length, seed=seed)
    check_op(lambda a: F.adaptive_avg_pool1d(a, size), lambda a: torch_F.adaptive_avg_pool1d(a, size), [x])


@given(data=st.data(), h=SIZES, w=SIZES, seed=seeds)
def test_adaptive_max_pool2d_with_indices(data, h, w, seed):
    x = batch_or_not(data.draw, h, w, seed=seed)
    size = data.draw(st.integers(1, 7) | st.tuples(st.none() | st.integers(1, 7), st.integers(1, 7)))
    check_op(lambda a: F.adaptive_max_pool2d(a, size), lambda a: torch_F.adaptive_max_pool2d(a, size), [x])
    check_op(
        lambda a: F.adaptive_max_pool2d(a, size, return_indices=True)[0],
        lambda a: torch_F.adaptive_max_pool2d(a, size, return_indices=True)[0],
        [x],
    )
    _, indices = F.adaptive_max_pool2d(tn.Tensor(x), size, return_indices=True)
    assert torch.equal(indices.data, torch_F.adaptive_max_pool2d(x, size, return_indices=True)[1])


@given(data=st.data(), length=SIZES, size=st.integers(1, 7), seed=seeds)
def test_adaptive_max_pool1d(data, length, size, seed):
    x = batch_or_not(data.draw, length, seed=seed)
    check_op(lambda a: F.adaptive_max_pool1d(a, size), lambda a: torch_F.adaptive_max_pool1d(a, size), [x])


def test_pools_run_on_the_meta_device_in_float32():
    """Indices (torch's kernels), averaging matrices and divisors follow the input: no host reads."""
    x = tn.Tensor(torch.empty(2, 3, 7, device="meta"), requires_grad=True)
    planes = tn.Tensor(torch.empty(2, 3, 5, 4, device="meta"), requires_grad=True)
    out = F.max_pool1d(x, 3, 2, 1, ceil_mode=True).sum() + F.avg_pool1d(x, 3, 2, 1, ceil_mode=True).sum()
    out = out + F.adaptive_avg_pool2d(planes, (2, 3)).sum() + F.adaptive_max_pool2d(planes, 3).sum()
    out.backward()
    assert x.gradient.device.type == "meta" and x.gradient.dtype == torch.float32
    assert planes.gradient.device.type == "meta"


def test_max_pool1d_window_of_padding_only_is_an_error_that_says_so():
    """torch returns -inf and an index outside the input there; the engine refuses instead of gathering it."""
    with pytest.raises(RuntimeError, match=r"^max_pool1d: a pooling window .* lies entirely in the padding"):
        F.max_pool1d(tn.Tensor(randn(1, 1, 1)), 2, padding=1, dilation=2)
