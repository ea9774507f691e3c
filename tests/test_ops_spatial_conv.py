"""Convolutions beyond conv2d (spatial/convolution.py, ops/fold.py) against torch.autograd in float64: conv1d,
conv_transpose1d, conv2d's string paddings, the padding-mode and output_size helpers, unfold and fold."""

from __future__ import annotations

import pytest
import torch
import torch.nn as torch_nn
import torch.nn.functional as torch_F
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import check_op, randn, same_as_torch, seeds
from tinygrad_n2n import spatial
from tinygrad_n2n.nn import functional as F


@st.composite
def conv1d_cases(draw):
    """x (N, C, L) or (C, L), weight, bias or None and conv1d arguments, padding maybe 'same' / 'valid'."""
    groups = draw(st.integers(1, 2))
    channels, out_channels = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel, dilation = draw(st.integers(1, 4)), draw(st.integers(1, 2))
    padding = draw(st.sampled_from(["same", "valid"]) | st.integers(0, 2))
    stride = 1 if padding == "same" else draw(st.integers(1, 3))
    length = dilation * (kernel - 1) + 1 + draw(st.integers(0, 4))
    lead = [draw(st.integers(1, 2))] if draw(st.booleans()) else []
    seed = draw(seeds)
    tensors = [
        randn(*lead, channels, length, seed=seed),
        randn(out_channels, channels // groups, kernel, seed=seed + 1),
    ]
    if draw(st.booleans()):
        tensors.append(randn(out_channels, seed=seed + 2))
    attrs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return tensors, attrs


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
@given(case=conv1d_cases())
def test_conv1d(case):
    tensors, attrs = case
    check_op(lambda *t: F.conv1d(*t, **attrs), lambda *t: torch_F.conv1d(*t, **attrs), tensors)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@given(
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.sampled_from(["same", "valid"]),
    unbatched=st.booleans(),
    seed=seeds,
)
def test_conv2d_string_padding(kernel, dilation, padding, unbatched, seed):
    """'same' with an even dilated kernel pads the extra row / column at the bottom / right, as torch."""
    size = [d * (k - 1) + 1 + 2 for k, d in zip(kernel, dilation)]
    x = randn(3, *size, seed=seed) if unbatched else randn(2, 3, *size, seed=seed)
    tensors = [x, randn(4, 3, *kernel, seed=seed + 1), randn(4, seed=seed + 2)]
    check_op(
        lambda *t: F.conv2d(*t, padding=padding, dilation=dilation),
        lambda *t: torch_F.conv2d(*t, padding=padding, dilation=dilation),
        tensors,
    )


@pytest.mark.parametrize(
    "x_shape, w_shape, attrs",
    [
        ((1, 2, 5), (3, 2, 2), {"padding": "same", "stride": 2}),
        ((1, 2, 5), (3, 2, 2), {"padding": "full"}),
        ((1, 2, 5), (3, 3, 2), {}),
        ((1, 1, 2, 5), (3, 1, 2), {}),
        ((1, 2, 5), (3, 2, 2), {"groups": 2}),
    ],
    ids=["same-strided", "unknown-string", "channels", "4-d-input", "groups"],
)
def test_conv1d_bad_arguments_raise_torchs_errors(x_shape, w_shape, attrs):
    same_as_torch(
        "conv1d",
        lambda x, w: F.conv1d(x, w, **attrs),
        lambda x, w: torch_F.conv1d(x, w, **attrs),
        [randn(*x_shape), randn(*w_shape, seed=1)],
    )


@pytest.mark.parametrize("attrs", [{"padding": "same", "stride": 2}, {"padding": "full"}], ids=["strided", "unknown"])
def test_conv2d_bad_string_padding_raises_torchs_errors(attrs):
    same_as_torch(
        "conv2d",
        lambda x, w: F.conv2d(x, w, **attrs),
        lambda x, w: torch_F.conv2d(x, w, **attrs),
        [randn(1, 2, 5, 5), randn(3, 2, 2, 2, seed=1)],
    )


@st.composite
def conv_transpose1d_cases(draw):
    groups = draw(st.integers(1, 2))
    channels, out_per_group = groups * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel, stride, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    padding = draw(st.integers(0, 2))
    output_padding = draw(st.integers(0, max(stride, dilation) - 1))
    length = draw(st.integers(1, 4))
    assume((length - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1 >= 1)
    lead = [draw(st.integers(1, 2))] if draw(st.booleans()) else []
    seed = draw(seeds)
    tensors = [randn(*lead, channels, length, seed=seed), randn(channels, out_per_group, kernel, seed=seed + 1)]
    tensors.append(randn(out_per_group * groups, seed=seed + 2))
    attrs = {"stride": stride, "padding": padding, "output_padding": output_padding, "groups": groups}
    return tensors, {**attrs, "dilation": dilation}


@given(case=conv_transpose1d_cases())
def test_conv_transpose1d(case):
    tensors, attrs = case
    check_op(lambda *t: F.conv_transpose1d(*t, **attrs), lambda *t: torch_F.conv_transpose1d(*t, **attrs), tensors)


# ---------------------------------------------------------------- what the nn layers need


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same", "valid"])
@pytest.mark.parametrize("dims", [1, 2])
def test_conv_with_padding_mode_is_torchs_conv_layer_forward(padding_mode, padding, dims):
    """Same values and gradients as torch's nn.Conv1d / nn.Conv2d with that padding and padding_mode."""
    if dims == 1 and isinstance(padding, tuple):
        padding = padding[0]
    layer_type = torch_nn.Conv1d if dims == 1 else torch_nn.Conv2d
    kernel = (3,) if dims == 1 else (3, 2)
    layer = layer_type(2, 3, kernel, padding=padding, padding_mode=padding_mode, dilation=1).double()
    x = randn(2, 2, *[5] * dims)

    def engine(a, w, b):
        return spatial.conv_with_padding_mode(a, w, b, layer.stride, padding, layer.dilation, 1, padding_mode)

    def reference(a, w, b):
        return layer._conv_forward(a, w, b)

    check_op(engine, reference, [x, layer.weight.detach(), layer.bias.detach()])
    assert list(spatial.reversed_padding(padding, kernel, layer.dilation)) == list(
        layer._reversed_padding_repeated_twice
    )


def test_conv_with_padding_mode_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match=r"padding_mode must be one of .*'zeros'.*got padding_mode='wrap'"):
        spatial.conv_with_padding_mode(randn(1, 1, 4), randn(1, 1, 2), None, 1, 1, 1, 1, "wrap")


@given(
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 1), st.integers(0, 1)),
    extra=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    batched=st.booleans(),
    with_lead=st.booleans(),
    seed=seeds,
)
def test_conv_transpose_output_size_gives_torchs_output_padding(stride, padding, extra, batched, with_lead, seed):
    """The helper returns what torch's ConvTranspose2d computes; then conv_transpose2d gives that size."""
    layer = torch_nn.ConvTranspose2d(2, 3, 3, stride=stride, padding=padding).double()
    x = randn(*([1] if batched else []), 2, 3, 4, seed=seed)
    base = [(n - 1) * s - 2 * p + 3 for n, s, p in zip(x.shape[-2:], stride, padding)]
    size = [b + e for b, e in zip(base, extra)]
    requested = [*x.shape[:-3], 3, *size] if with_lead else size
    args = (requested, list(stride), list(padding), [3, 3], 2, [1, 1])
    try:
        expected = layer._output_padding(x, *args)
    except ValueError as error:
        with pytest.raises(ValueError, match=str(error)[:40].replace("[", r"\[").replace("(", r"\(")):
            spatial.conv_transpose_output_padding(x, *args)
        return
    output_padding = spatial.conv_transpose_output_padding(x, *args)
    assert output_padding == expected
    if batched:
        out = tn.functional.conv_transpose2d(x, layer.weight.detach(), None, stride, padding, tuple(output_padding))
        assert list(out.shape[-2:]) == size


def test_conv_transpose_output_size_with_a_wrong_number_of_sizes_raises_torchs_error():
    with pytest.raises(ValueError, match=r"ConvTranspose2D: for 4D input, output_size must have 2 or 4 elements"):
        spatial.conv_transpose_output_padding(randn(1, 2, 3, 3), [5], [1, 1], [0, 0], [3, 3], 2)


# ---------------------------------------------------------------- unfold / fold


@st.composite
def fold_cases(draw):
    """Block arguments and an image size that fits at least one block."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    size = tuple(d * (k - 1) + 1 - 2 * p + draw(st.integers(0, 3)) for k, d, p in zip(kernel, dilation, padding))
    assume(min(size) >= 1)
    attrs = {"kernel_size": kernel, "dilation": dilation, "padding": padding, "stride": stride}
    blocks = 1
    for n, k, d, p, s in zip(size, kernel, dilation, padding, stride):
        blocks *= (n + 2 * p - d * (k - 1) - 1) // s + 1
    return size, attrs, blocks, draw(st.booleans()), draw(seeds)


@given(case=fold_cases())
def test_unfold_and_fold(case):
    """fold sums the overlapping blocks back (col2im); each one's gradient is the other's forward."""
    size, attrs, blocks, batched, seed = case
    lead = [2] if batched else []
    x = randn(*lead, 2, *size, seed=seed)
    check_op(lambda a: F.unfold(a, **attrs), lambda a: torch_F.unfold(a, **attrs), [x])
    columns = randn(*lead, 2 * attrs["kernel_size"][0] * attrs["kernel_size"][1], blocks, seed=seed)
    check_op(lambda a: F.fold(a, size, **attrs), lambda a: torch_F.fold(a, size, **attrs), [columns])


@pytest.mark.parametrize(
    "fn, torch_fn, shape, args",
    [
        (F.unfold, torch_F.unfold, (1, 2, 2, 2), (3,)),
        (F.unfold, torch_F.unfold, (1, 1, 2, 2, 2), (1,)),
        (F.fold, torch_F.fold, (1, 5, 4), ((3, 3), 2)),
        (F.fold, torch_F.fold, (1, 8, 5), ((3, 3), 2)),
    ],
    ids=["unfold-kernel-too-big", "unfold-5d", "fold-channels", "fold-blocks"],
)
def test_unfold_fold_bad_arguments_raise_torchs_errors(fn, torch_fn, shape, args):
    same_as_torch(fn.__name__, lambda a: fn(a, *args), lambda a: torch_fn(a, *args), [randn(*shape)])


def test_convolutions_run_on_the_meta_device():
    x = tn.Tensor(torch.empty(2, 3, 6, device="meta"), requires_grad=True)
    w = tn.Tensor(torch.empty(4, 3, 2, device="meta"), requires_grad=True)
    planes = tn.Tensor(torch.empty(2, 3, 5, 5, device="meta"), requires_grad=True)
    out = F.conv1d(x, w, padding="same").sum() + F.conv_transpose1d(x, w.transpose(0, 1), stride=2).sum()
    out = out + F.fold(F.unfold(planes, 2), (5, 5), 2).sum() + F.conv2d(planes, w.unsqueeze(2), padding="same").sum()
    out.backward()
    assert x.gradient.device.type == "meta" and w.gradient.shape == (4, 3, 2) and planes.gradient.device.type == "meta"


def test_spatial_ops_read_no_device_value_on_the_host(monkeypatch):
    """Forward and backward of every spatial op (one_hot with num_classes given) dispatch no `.item()`-like read,
    with the CPU run as other devices run (no NaN/Inf probe, `ops.nonfinite`)."""
    from tests.test_device_clean import HostReadWatcher
    from tinygrad_n2n.ops import nonfinite

    monkeypatch.setattr(nonfinite, "PROBE_ON_HOST", False)

    x = tn.Tensor(randn(2, 4, 6, 6), requires_grad=True)
    rows = tn.Tensor(randn(2, 4, 7), requires_grad=True)
    weight = tn.Tensor(randn(3, 4, 2), requires_grad=True)
    with HostReadWatcher() as watcher:
        outs = [
            F.conv1d(rows, weight, padding="same"),
            F.conv_transpose1d(rows, weight.transpose(0, 1), stride=2),
            F.conv2d(x, weight.unsqueeze(2), padding="same"),
            spatial.conv_with_padding_mode(x, weight.unsqueeze(2), None, 1, 1, 1, 1, "circular"),
            F.max_pool1d(rows, 3, 2, 1, ceil_mode=True),
            F.avg_pool1d(rows, 3, 2, 1, ceil_mode=True, count_include_pad=False),
            F.adaptive_avg_pool2d(x, (4, 3)),
            F.adaptive_max_pool2d(x, 4),
            F.interpolate(x, scale_factor=1.7, mode="bilinear"),
            F.interpolate(x, scale_factor=1.5),
            F.pad(x, (1, 2, 2, 1), mode="reflect"),
            F.pixel_shuffle(x, 2),
            F.fold(F.unfold(x, 2), (6, 6), 2),
            F.embedding(tn.Tensor([[0, 2], [2, 1]]), rows[0], padding_idx=1, scale_grad_by_freq=True),
            F.dropout2d(x),
        ]
        sum(out.sum() for out in outs).backward()
        F.one_hot(tn.Tensor([0, 2]), 3)
    assert watcher.host_reads == []
