"""Convolutions beyond the engine's conv2d / conv_transpose2d, and what torch's conv layers need around them.

conv1d and conv_transpose1d run the 2-d ops on an (N, C, 1, L) view. conv2d adds torch's string paddings
('valid', and 'same' with its extra row / column on the bottom / right for an even dilated kernel) and
unbatched (C, H, W) inputs. `reversed_padding` and `conv_with_padding_mode` are what nn.Conv1d / nn.Conv2d do
for their padding modes (pad, then convolve unpadded), `conv_transpose_output_padding` what
nn.ConvTranspose*d do for `output_size=`. unfold / fold are im2col / col2im as ops (`ops.fold`).
"""

from __future__ import annotations

from typing import Any

from .. import functional as engine
from .._checks import as_tensor, check_devices
from .._tensor import Tensor
from ..ops.fold import Fold, Unfold
from ._torch_errors import single
from .padding import pad

IntOrTuple = int | tuple[int, ...]
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _per_dim(value: Any, dims: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims


def check_conv(
    name: str, dims: int, x: Tensor, weight: Tensor, bias: Any, groups: Any, padding: Any, transposed: bool
) -> None:
    """torch's checks (its RuntimeErrors) of a `dims`-d convolution's input, weight, bias, groups and string
    padding; stride, padding and kernel sizes are checked by the engine's 2-d op that runs it."""
    if x.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(
            f"{name}: Expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input to {name}, but got input of "
            f"size: {list(x.shape)}"
        )
    if weight.ndim != dims + 2:
        raise RuntimeError(f"{name}: weight of shape {tuple(weight.shape)} should have {dims + 2} dimensions")
    if not isinstance(groups, int) or isinstance(groups, bool) or groups <= 0:
        raise RuntimeError(f"{name}: non-positive groups is not supported, got groups={groups!r}")
    if weight.shape[0] % groups:
        raise RuntimeError(
            f"{name}: Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got "
            f"weight of size {list(weight.shape)} instead"
        )
    channels = x.shape[-dims - 1]
    expected = weight.shape[0] if transposed else weight.shape[1] * groups
    if channels != expected:
        raise RuntimeError(
            f"{name}: Given groups={groups}, weight of size {list(weight.shape)}, expected input{list(x.shape)} to "
            f"have {expected} channels, but got {channels} channels instead"
        )
    out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise RuntimeError(
            f"{name}: Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
            f"{out_channels} elements, but got bias of size {list(bias.shape)} instead"
        )
    if isinstance(padding, str) and padding not in ("same", "valid"):
        raise RuntimeError(f"{name}: Invalid padding string: {padding!r}; expected 'same', 'valid' or ints")


def _as_rows(name: str, engine_fn: Any, x: Tensor, weight: Tensor, *args: Any) -> Tensor:
    """A 1-d convolution as `engine_fn` (the 2-d op) on the (N, C, 1, L) view of x, with its errors as torch's
    RuntimeError under `name`."""
    rows = (x if x.ndim == 3 else x.unsqueeze(0)).unsqueeze(2)
    try:
        out = engine_fn(rows, weight.unsqueeze(2), *args).squeeze(2)
    except (ValueError, RuntimeError) as error:
        raise RuntimeError(f"{name}: {error} (the 1-d convolution runs on the (N, C, 1, L) view)") from error
    return out if x.ndim == 3 else out.squeeze(0)


def reversed_padding(padding: IntOrTuple | str, kernel_size: tuple[int, ...], dilation: IntOrTuple = 1) -> tuple:
    """torch's `_reversed_padding_repeated_twice`: a conv's padding as `pad` amounts, last dim first.

    'same' pads d·(k - 1) in total per dim, the odd one on the right / bottom: (left, right, top, bottom, ..).
    """
    dims = len(kernel_size)
    if padding == "valid":
        return (0, 0) * dims
    if padding == "same":
        amounts: list[int] = []
        for k, d in zip(reversed(kernel_size), reversed(_per_dim(dilation, dims))):
            total = d * (k - 1)
            amounts += [total // 2, total - total // 2]
        return tuple(amounts)
    return tuple(p for p in reversed(_per_dim(padding, dims)) for _ in (0, 1))


def conv1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple | str = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution. x: (N, C, L) or (C, L); weight: (O, C/groups, k); bias: (O,) -> (N, O, L_out).

    padding: an int, 'valid' (0) or 'same' (stride 1; output length L).
    """
    name, x, weight = "conv1d", as_tensor(input), as_tensor(weight)
    check_devices(name, x, weight, bias)
    check_conv(name, 1, x, weight, bias, groups, padding, transposed=False)
    stride = single(name, "stride", stride)
    if padding == "same" and stride != 1:
        raise RuntimeError(f"{name}: padding='same' is not supported for strided convolutions, got stride={stride}")
    padding = padding if isinstance(padding, str) else (0, single(name, "padding", padding))
    args = (bias, (1, stride), padding, (1, single(name, "dilation", dilation)), groups)
    return _as_rows(name, conv2d, x, weight, *args)


def conv2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple | str = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (the engine's conv2d) with torch's string paddings and unbatched inputs.

    x: (N, C, H, W) or (C, H, W); weight: (O, C/groups, kh, kw); bias: (O,) -> (N, O, H_out, W_out).
    padding: an int or pair, 'valid' (0) or 'same' (stride 1; output H×W; an even dilated kernel pads one more
    row / column at the bottom / right, as torch).
    """
    x, weight = as_tensor(input), as_tensor(weight)
    if x.ndim == 4 and not isinstance(padding, str):
        return engine.conv2d(x, weight, bias, stride, padding, dilation, groups)
    check_devices("conv2d", x, weight, bias)
    check_conv("conv2d", 2, x, weight, bias, groups, padding, transposed=False)
    if padding == "same" and stride not in (1, (1, 1), [1, 1]):
        raise RuntimeError(f"conv2d: padding='same' is not supported for strided convolutions, got stride={stride}")
    batch = x if x.ndim == 4 else x.unsqueeze(0)
    if isinstance(padding, str):
        left, right, top, bottom = reversed_padding(padding, tuple(weight.shape[2:]), dilation)
        if (right - left) or (bottom - top):
            batch = pad(batch, (0, right - left, 0, bottom - top))
        padding = (top, left)
    out = engine.conv2d(batch, weight, bias, stride, padding, dilation, groups)
    return out if x.ndim == 4 else out.squeeze(0)


def conv_with_padding_mode(
    input: Any,
    weight: Any,
    bias: Any,
    stride: IntOrTuple,
    padding: IntOrTuple | str,
    dilation: IntOrTuple,
    groups: int,
    padding_mode: str = "zeros",
) -> Tensor:
    """What torch's nn.Conv1d / nn.Conv2d forward does (1-D or 2-D by the weight's dims): 'zeros' convolves with
    `padding`; 'reflect', 'replicate' and 'circular' pad x with `reversed_padding` in that mode, then convolve
    with padding 0. Shapes as conv1d / conv2d."""
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"conv: padding_mode must be one of {PADDING_MODES}, but got padding_mode={padding_mode!r}")
    conv = conv1d if as_tensor(weight).ndim == 3 else conv2d
    if padding_mode == "zeros":
        return conv(input, weight, bias, stride, padding, dilation, groups)
    amounts = reversed_padding(padding, tuple(as_tensor(weight).shape[2:]), dilation)
    return conv(pad(input, amounts, mode=padding_mode), weight, bias, stride, 0, dilation, groups)


def conv_transpose1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> Tensor:
    """Transposed 1-D convolution. x: (N, C, L) or (C, L); weight: (C, O/groups, k); bias: (O,) -> (N, O, L_out),
    L_out = (L - 1)·stride - 2·padding + dilation·(k - 1) + output_padding + 1."""
    name, x, weight = "conv_transpose1d", as_tensor(input), as_tensor(weight)
    check_devices(name, x, weight, bias)
    check_conv(name, 1, x, weight, bias, groups, padding, transposed=True)
    stride, dilation = single(name, "stride", stride), single(name, "dilation", dilation)
    padding, output_padding = single(name, "padding", padding), single(name, "output_padding", output_padding)
    args = (bias, (1, stride), (0, padding), (0, output_padding), groups, (1, dilation))
    return _as_rows(name, engine.conv_transpose2d, x, weight, *args)


def conv_transpose_output_padding(
    input: Any,
    output_size: list[int] | None,
    stride: list[int],
    padding: list[int],
    kernel_size: list[int],
    num_spatial_dims: int,
    dilation: list[int] | None = None,
    output_padding: IntOrTuple = 0,
) -> list[int]:
    """torch's `_ConvTransposeNd._output_padding`: the output_padding that makes a transposed convolution of
    `input` give `output_size` (its spatial sizes, or with the batch and channel sizes in front); without an
    output_size, `output_padding` per dim. A size outside [min, min + stride - 1] raises torch's ValueError."""
    if output_size is None:
        return list(_per_dim(output_padding, num_spatial_dims))
    shape = as_tensor(input).shape
    non_spatial = 2 if len(shape) == num_spatial_dims + 2 else 1
    if len(output_size) == non_spatial + num_spatial_dims:
        output_size = list(output_size[non_spatial:])
    if len(output_size) != num_spatial_dims:
        raise ValueError(
            f"ConvTranspose{num_spatial_dims}D: for {len(shape)}D input, output_size must have {num_spatial_dims} "
            f"or {non_spatial + num_spatial_dims} elements (got {len(output_size)})"
        )
    dilation = dilation if dilation is not None else [1] * num_spatial_dims
    min_sizes = [
        (shape[d + non_spatial] - 1) * stride[d] - 2 * padding[d] + dilation[d] * (kernel_size[d] - 1) + 1
        for d in range(num_spatial_dims)
    ]
    max_sizes = [size + s - 1 for size, s in zip(min_sizes, stride)]
    for size, low, high in zip(output_size, min_sizes, max_sizes):
        if size < low or size > high:
            raise ValueError(
                f"requested an output size of {output_size}, but valid sizes range from {min_sizes} to {max_sizes} "
                f"(for an input of {shape[2:]})"
            )
    return [size - low for size, low in zip(output_size, min_sizes)]


def unfold(
    input: Any, kernel_size: IntOrTuple, dilation: IntOrTuple = 1, padding: IntOrTuple = 0, stride: IntOrTuple = 1
) -> Tensor:
    """im2col: each sliding kh×kw block as one column. x: (N, C, H, W) or (C, H, W) -> (N, C·kh·kw, L)."""
    x = as_tensor(input)
    return Unfold.apply(x, kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)


def fold(
    input: Any,
    output_size: IntOrTuple,
    kernel_size: IntOrTuple,
    dilation: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    stride: IntOrTuple = 1,
) -> Tensor:
    """col2im: columns summed back into their blocks. x: (N, C·kh·kw, L) or (C·kh·kw, L) -> (N, C, H, W),
    (H, W) = output_size."""
    x = as_tensor(input)
    return Fold.apply(
        x, output_size=output_size, kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride
    )
