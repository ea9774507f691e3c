"""Resampling (spatial/resampling.py, spatial/padding.py, ops/resample.py): interpolate, pad's modes and the pixel
shuffles against torch.autograd in float64, over generated sizes, scale factors and paddings."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import check_op, randn, same_as_torch, seeds
from tinygrad_n2n.nn import functional as F

SCALES = st.sampled_from([0.3, 0.5, 0.75, 1.0, 1.2, 4 / 3, 1.5, 1.7, 2.0, 2.5, 3.0])
MODE_NDIM = {"linear": 1, "bilinear": 2, "trilinear": 3}


@st.composite
def interpolate_cases(draw):
    """A mode, an input of a spatial rank it takes, and size or scale_factor (maybe per dim, maybe recomputed)."""
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "area", "linear", "bilinear", "trilinear"]))
    rank = MODE_NDIM.get(mode) or draw(st.integers(1, 3 if mode != "area" else 2))
    sizes = [draw(st.integers(1, 6)) for _ in range(rank)]
    kwargs: dict = {"mode": mode}
    if mode in MODE_NDIM:
        kwargs["align_corners"] = draw(st.booleans())
    if draw(st.booleans()):
        kwargs["size"] = (
            [draw(st.integers(1, 9)) for _ in range(rank)] if draw(st.booleans()) else draw(st.integers(1, 9))
        )
    else:
        kwargs["scale_factor"] = tuple(draw(SCALES) for _ in range(rank)) if draw(st.booleans()) else draw(SCALES)
        kwargs["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
    if mode == "area":  # torch's backward fails on its own empty area output: keep every output size ≥ 1
        scales = kwargs.get("scale_factor", 1)
        scales = scales if isinstance(scales, tuple) else (scales,) * rank
        assume("size" in kwargs or all(int(n * s) for n, s in zip(sizes, scales)))
    x = randn(draw(st.integers(1, 2)), draw(st.integers(1, 2)), *sizes, seed=draw(seeds))
    return x, kwargs


def torch_gradient_is_wrong(x: torch.Tensor, kwargs: dict) -> bool:
    """torch's 1-d / 3-d nearest backward copies (out = in) or halves (out = 2·in) where its forward used a
    non-integer scale_factor: its gradient then fails torch's own gradcheck."""
    scale = kwargs.get("scale_factor")
    if kwargs["mode"] != "nearest" or x.ndim == 4 or scale is None or kwargs.get("recompute_scale_factor"):
        return False
    scales = scale if isinstance(scale, tuple) else (scale,) * (x.ndim - 2)
    return any(int(n * s) in (n, 2 * n) and s not in (1.0, 2.0) for n, s in zip(x.shape[2:], scales))


def compare_interpolate(x: torch.Tensor, kwargs: dict) -> None:
    """Values, gradients and errors as torch; values only where torch's gradient is wrong (tested below)."""
    if torch_gradient_is_wrong(x, kwargs):
        check_op(
            lambda a: F.interpolate(a, **kwargs).detach(), lambda a: torch_F.interpolate(a, **kwargs).detach(), [x]
        )
        return
    same_as_torch("interpolate", lambda a: F.interpolate(a, **kwargs), lambda a: torch_F.interpolate(a, **kwargs), [x])


@given(case=interpolate_cases())
def test_interpolate_matches_torch(case):
    """Including torch's errors, e.g. for an output size of 0 from a small scale factor."""
    compare_interpolate(*case)


@pytest.mark.parametrize("shape, scale", [((1, 2, 3), 1.2), ((1, 1, 2), 2.2), ((1, 1, 2, 2, 2), 1.2)])
def test_interpolate_nearest_1d_3d_gradient_where_torch_is_wrong(shape, scale):
    """Where torch's backward takes a shortcut its forward did not, the engine's gradient is the true one."""
    x = tn.Tensor(randn(*shape), requires_grad=True)
    assert torch_gradient_is_wrong(x.data, {"mode": "nearest", "scale_factor": scale})
    assert tn.gradcheck(lambda a: F.interpolate(a, scale_factor=scale), [x])


@pytest.mark.parametrize(
    "size, scale",
    [(3, 1.2), (5, 1.1), (4, 1.9), (2, 2.4), (7, 0.6)],
    ids=["out=in", "out=in-5", "out=2in-1", "out=2in", "down"],
)
@pytest.mark.parametrize(
    "mode, rank", [(m, r) for m in ("nearest", "nearest-exact") for r in (1, 2, 3)] + list(MODE_NDIM.items())
)
def test_interpolate_non_integer_scale_factors_use_the_factor_not_the_sizes(size, scale, mode, rank):
    """torch reads the source positions from 1 / scale_factor, except where the output size equals the input's
    (linear modes and 2-d nearest: a copy) or twice it (2-d nearest: halve the index)."""
    x = randn(1, 2, *[size + k for k in range(rank)])
    for recompute in (False, True):
        compare_interpolate(x, {"scale_factor": scale, "mode": mode, "recompute_scale_factor": recompute})


def test_interpolate_float32_matches_torch():
    x = randn(2, 3, 5, 7).float()
    for mode, extra in (("nearest", {}), ("bilinear", {"align_corners": False}), ("bilinear", {"align_corners": True})):
        out = F.interpolate(tn.Tensor(x), scale_factor=1.7, mode=mode, **extra)
        expected = torch_F.interpolate(x, scale_factor=1.7, mode=mode, **extra)
        assert out.dtype == torch.float32
        torch.testing.assert_close(out.data, expected, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"size": 4, "scale_factor": 2},
        {},
        {"size": 4, "mode": "nearest", "align_corners": True},
        {"size": (4, 4, 4)},
        {"size": 4, "mode": "linear"},
        {"size": 4, "mode": "bogus"},
        {"scale_factor": -1.0},
        {"size": 4, "recompute_scale_factor": True},
    ],
    ids=["size-and-scale", "neither", "align-nearest", "size-rank", "linear-4d", "bad-mode", "negative", "recompute"],
)
def test_interpolate_bad_arguments_raise_torchs_errors(kwargs):
    same_as_torch(
        "interpolate",
        lambda a: F.interpolate(a, **kwargs),
        lambda a: torch_F.interpolate(a, **kwargs),
        [randn(1, 1, 3, 3)],
    )


@pytest.mark.parametrize("kwargs", [{"mode": "bicubic"}, {"mode": "bilinear", "antialias": True}])
def test_interpolate_unsupported_modes_say_what_is_supported(kwargs):
    with pytest.raises(NotImplementedError, match=r"^interpolate: mode='bi.*supported modes: nearest"):
        F.interpolate(tn.Tensor(randn(1, 1, 3, 3)), size=5, **kwargs)


@st.composite
def pad_cases(draw):
    """A non-constant mode, an input (unbatched or batched) and per-dim pads, negative ones (crops) included."""
    mode = draw(st.sampled_from(["reflect", "replicate", "circular"]))
    padded = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 5)) for _ in range(padded)]
    lead = [draw(st.integers(1, 2)) for _ in range(draw(st.integers(1, 2)))]
    pads = []
    for size in reversed(sizes):
        before, after = draw(st.integers(-size // 2, size)), draw(st.integers(-size // 2, size))
        kept = size + min(before, 0) + min(after, 0)  # torch's circular gradient is wrong past one wrap of this
        assume(mode != "circular" or min(before, after) >= 0 or max(before, after) <= kept)
        assume(size + before + after != 0)  # torch's gradient for an empty 2-d / 3-d result is garbage memory
        pads += [before, after]
    return randn(*lead, *sizes, seed=draw(seeds)), tuple(pads), mode


@given(case=pad_cases())
def test_pad_modes_match_torch(case):
    """Values and gradients as torch; where torch refuses (a reflect pad ≥ the size, a 5-D input padded in one
    dim), the same exception type."""
    x, pads, mode = case
    same_as_torch("pad", lambda a: F.pad(a, pads, mode=mode), lambda a: torch_F.pad(a, pads, mode=mode), [x])


def test_pad_circular_wrapping_a_cropped_dim_more_than_once_has_the_true_gradient():
    """Here torch's own gradient is wrong (torch.autograd.gradcheck fails on it); forward values agree."""
    x = randn(2, 3, 1, 1)
    check_op(
        lambda a: F.pad(a, (0, 0, 0, 0, -1, 3), mode="circular").detach(),
        lambda a: torch_F.pad(a, (0, 0, 0, 0, -1, 3), mode="circular").detach(),
        [x],
    )
    assert tn.gradcheck(lambda a: F.pad(a, (0, 0, 0, 0, -1, 3), mode="circular"), [tn.Tensor(x, requires_grad=True)])


def test_pad_reflect_sums_the_gradient_of_each_mirrored_copy():
    x = tn.Tensor(torch.arange(4.0, dtype=torch.float64).view(1, 1, 4), requires_grad=True)
    out = F.pad(x, (2, 1), mode="reflect")
    assert out.data.flatten().tolist() == [2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0]
    out.sum().backward()
    assert x.gradient.flatten().tolist() == [1.0, 2.0, 3.0, 1.0]


@pytest.mark.parametrize(
    "pads, mode, value",
    [((1, 1), "reflect", 1.0), ((1, 1), "wrap", None), ((1, 1, 1, 1, 1, 1, 1, 1), "circular", None)],
    ids=["value-with-reflect", "unknown-mode", "too-many"],
)
def test_pad_bad_arguments_raise_torchs_errors(pads, mode, value):
    same_as_torch(
        "pad",
        lambda a: F.pad(a, pads, mode=mode, value=value),
        lambda a: torch_F.pad(a, pads, mode=mode, value=value),
        [randn(1, 2, 3, 3)],
    )


def test_pad_constant_mode_is_the_engines_pad():
    check_op(
        lambda a: F.pad(a, (1, -1, 2, 0), value=0.5),
        lambda a: torch_F.pad(a, (1, -1, 2, 0), value=0.5),
        [randn(2, 3, 4)],
    )


@given(
    factor=st.integers(1, 3),
    lead=st.lists(st.integers(1, 2), min_size=0, max_size=2),
    channels=st.integers(1, 2),
    h=st.integers(1, 3),
    w=st.integers(1, 3),
    seed=seeds,
)
def test_pixel_shuffle_and_unshuffle_match_torch(factor, lead, channels, h, w, seed):
    x = randn(*lead, channels * factor * factor, h, w, seed=seed)
    check_op(lambda a: F.pixel_shuffle(a, factor), lambda a: torch_F.pixel_shuffle(a, factor), [x])
    y = randn(*lead, channels, h * factor, w * factor, seed=seed)
    check_op(lambda a: F.pixel_unshuffle(a, factor), lambda a: torch_F.pixel_unshuffle(a, factor), [y])


@pytest.mark.parametrize(
    "fn, torch_fn, shape",
    [
        (F.pixel_shuffle, torch_F.pixel_shuffle, (1, 3, 2, 2)),
        (F.pixel_unshuffle, torch_F.pixel_unshuffle, (1, 1, 3, 4)),
        (F.pixel_shuffle, torch_F.pixel_shuffle, (4, 2)),
    ],
    ids=["channels-not-divisible", "size-not-divisible", "2-d"],
)
def test_pixel_shuffle_bad_shapes_raise_torchs_errors(fn, torch_fn, shape):
    same_as_torch(fn.__name__, lambda a: fn(a, 2), lambda a: torch_fn(a, 2), [randn(*shape)])


def test_resampling_runs_on_the_meta_device_in_float32():
    """Indices and weights follow the input: device-clean (no host reads) and in the input's dtype."""
    x = tn.Tensor(torch.empty(1, 2, 3, 5, device="meta"), requires_grad=True)
    out = F.interpolate(x, scale_factor=1.5, mode="bilinear") + F.interpolate(x, scale_factor=1.5)
    out = out.sum() + F.pad(x, (1, 2, 2, 1), mode="reflect").sum() + F.pad(x, (1, 1, 0, 2), mode="circular").sum()
    out.backward()
    assert x.gradient.device.type == "meta" and x.gradient.dtype == torch.float32
