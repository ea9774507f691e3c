"""The public op functions, with torch.nn.functional's argument names, defaults and int-or-pair conventions.

Each function validates its arguments (errors name the function, the shapes or values at fault and what
was expected), then calls one primitive op. Inputs may be engine tensors or plain torch tensors.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as torch_F

from . import tape
from ._checks import (
    CONV_WEIGHT_DIMS,
    TRANSPOSED_WEIGHT_DIMS,
    IntPair,
    as_tensor,
    canonical_dim,
    check_4d,
    check_bias,
    check_devices,
    check_planes,
    check_weight_sizes,
    check_window,
    pair,
)
from ._tensor import Tensor
from .activations import (  # noqa: F401  (part of this API)
    celu,
    elu,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    logsigmoid,
    logsumexp,
    mish,
    relu6,
    selu,
    silu,
    softplus,
)
from .class_losses import (  # noqa: F401  (part of this API)
    cross_entropy,
    nll_loss,
)
from .losses import (  # noqa: F401  (part of this API)
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    smooth_l1_loss,
)
from .normalization import (  # noqa: F401  (part of this API)
    batch_norm,
    cosine_similarity,
    group_norm,
    instance_norm,
    layer_norm,
    normalize,
)
from .ops import conv, linalg, nonfinite, pool
from .ops import elementwise as ew
from .ops import softmax as softmax_ops
from .spatial import (  # noqa: F401  (part of this API; spatial's conv2d and pad extend those below)
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    conv1d,
    conv_transpose1d,
    dropout1d,
    dropout2d,
    dropout3d,
    embedding,
    fold,
    interpolate,
    max_pool1d,
    one_hot,
    pixel_shuffle,
    pixel_unshuffle,
    unfold,
)
from .spatial import pooling as spatial_pooling

# ---------------------------------------------------------------- convolution and resampling


def conv2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution: one GEMM per kernel tap (ungrouped) or unfold + one batched matrix product (grouped).

    x: (N, C, H, W); weight: (O, C/groups, kh, kw); bias: (O,) -> (N, O, H_out, W_out).
    The strategy is chosen by `ops.conv.conv2d_strategy`.
    """
    x, weight = as_tensor(x), as_tensor(weight)
    stride, dilation = pair("conv2d", "stride", stride, 1), pair("conv2d", "dilation", dilation, 1)
    padding = pair("conv2d", "padding", padding, 0)
    check_4d("conv2d", x)
    check_4d("conv2d", weight, "weight", "(out_channels, in_channels/groups, kh, kw)")
    if not isinstance(groups, int) or groups < 1 or x.shape[1] % groups or weight.shape[0] % groups:
        raise RuntimeError(
            f"conv2d: groups={groups} must be a positive int dividing both the input channels "
            f"({x.shape[1]}) and the output channels ({weight.shape[0]})"
        )
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(
            f"conv2d: input has {x.shape[1]} channels (shape {tuple(x.shape)}) but weight {tuple(weight.shape)} "
            f"with groups={groups} expects {weight.shape[1] * groups}"
        )
    check_bias("conv2d", bias, weight.shape[0])
    check_devices("conv2d", x, weight, bias)
    check_weight_sizes("conv2d", weight, CONV_WEIGHT_DIMS)
    check_planes("conv2d", x, conv=True)
    check_window("conv2d", x, weight.shape[2:], padding, dilation)
    needs_grad = tape.is_recording() and (x.requires_grad or weight.requires_grad)
    strategy = conv.conv2d_strategy(x.data, weight.data, groups, needs_grad)
    return strategy.apply(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


def conv_transpose2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> Tensor:
    """Transposed 2-D convolution (the adjoint of conv2d).

    x: (N, C, H, W); weight: (C, O/groups, kh, kw) -> (N, O, H_out, W_out) with
    H_out = (H - 1)·stride - 2·padding + dilation·(kh - 1) + output_padding + 1.
    """
    x, weight = as_tensor(x), as_tensor(weight)
    name = "conv_transpose2d"
    stride, dilation = pair(name, "stride", stride, 1), pair(name, "dilation", dilation, 1)
    padding, output_padding = pair(name, "padding", padding, 0), pair(name, "output_padding", output_padding, 0)
    check_4d(name, x)
    check_4d(name, weight, "weight", "(in_channels, out_channels/groups, kh, kw)")
    if not isinstance(groups, int) or groups < 1 or x.shape[1] % groups:
        raise RuntimeError(f"{name}: groups={groups} must be a positive int dividing the input channels ({x.shape[1]})")
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(
            f"{name}: input has {x.shape[1]} channels (shape {tuple(x.shape)}) but weight "
            f"{tuple(weight.shape)} expects {weight.shape[0]}"
        )
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(
            f"{name}: output_padding {output_padding} must be smaller than stride {stride} or dilation {dilation}"
        )
    check_bias(name, bias, weight.shape[1] * groups)
    check_devices(name, x, weight, bias)
    check_weight_sizes(name, weight, TRANSPOSED_WEIGHT_DIMS)
    check_planes(name, x, conv=True)
    for axis in (0, 1):
        size = (x.shape[2 + axis] - 1) * stride[axis] - 2 * padding[axis]
        if size + dilation[axis] * (weight.shape[2 + axis] - 1) + output_padding[axis] + 1 < 1:
            raise RuntimeError(
                f"{name}: padding {padding} leaves an empty output for input {tuple(x.shape)} "
                f"and kernel {tuple(weight.shape[2:])}"
            )
    return conv.ConvTranspose2d.apply(
        x, weight, bias, stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation
    )


def upsample_nearest(x: Any, scale_factor: IntPair) -> Tensor:
    """Nearest-neighbour upsampling by positive integer factors. x: (N, C, H, W) -> (N, C, H·sh, W·sw)."""
    x = as_tensor(x)
    check_4d("upsample_nearest", x)
    scale = pair("upsample_nearest", "scale_factor", scale_factor, 1)
    check_planes("upsample_nearest", x)
    return pool.UpsampleNearest.apply(x, scale=scale)


def max_pool2d(
    input: Any,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over sliding windows, torch's signature. x: (N, C, H, W) -> (N, C, H_out, W_out); stride defaults to
    kernel_size. With ceil_mode (a last partial window) or return_indices (also the int64 arg-max positions in the
    flattened H·W plane), torch's kernel picks the windows' arg-max and the engine gathers them; so it does when
    a gradient is needed through an input not surely finite (`ops.nonfinite`: NaN and -inf decide which element
    torch's gradient goes to)."""
    if not (ceil_mode or return_indices):
        x = as_tensor(input)
        if not (x.requires_grad and tape.is_recording()) or nonfinite.finite(x.data):
            return _pool("max_pool2d", x, kernel_size, stride, padding, dilation)
        _pool_arguments("max_pool2d", x, kernel_size, stride, padding, dilation)  # the engine's checks first
    args = (kernel_size, stride, padding, dilation, ceil_mode)
    return spatial_pooling.max_pool_by_index("max_pool2d", torch_F.max_pool2d, input, 2, return_indices, *args)


def avg_pool2d(
    input: Any,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over sliding windows, torch's signature. x: (N, C, H, W) -> (N, C, H_out, W_out); stride defaults
    to kernel_size. count_include_pad: the zero padding counts in a window's size; ceil_mode: a last partial
    window (divided by what it covers); divisor_override: every window's sum divided by this instead."""
    if not ceil_mode and divisor_override is None:
        return _pool("avg_pool2d", input, kernel_size, stride, padding, 1, count_include_pad)
    if divisor_override is not None and (not isinstance(divisor_override, int) or isinstance(divisor_override, bool)):
        raise TypeError(f"avg_pool2d(): argument 'divisor_override' must be int, not {type(divisor_override).__name__}")
    if divisor_override == 0:
        raise RuntimeError("avg_pool2d: divisor must be not zero (divisor_override=0)")
    x = as_tensor(input)
    kernel, stride, padding, _ = _pool_arguments("avg_pool2d", x, kernel_size, stride, padding, 1)
    return spatial_pooling.avg_pool2d_divided(
        x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def _pool(name: str, x: Any, kernel_size, stride, padding, dilation, count_include_pad=True) -> Tensor:
    x = as_tensor(x)
    kernel, stride, padding, dilation = _pool_arguments(name, x, kernel_size, stride, padding, dilation)
    if name == "max_pool2d":
        return pool.MaxPool2d.apply(x, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation)
    return pool.AvgPool2d.apply(
        x, kernel_size=kernel, stride=stride, padding=padding, count_include_pad=count_include_pad
    )


def _pool_arguments(name: str, x: Tensor, kernel_size, stride, padding, dilation) -> tuple[tuple, ...]:
    """Validated (kernel, stride, padding, dilation) pairs of a pooling of x (N, C, H, W)."""
    check_4d(name, x)
    kernel = pair(name, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None or stride == [] else pair(name, "stride", stride, 1)
    padding, dilation = pair(name, "padding", padding, 0), pair(name, "dilation", dilation, 1)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise RuntimeError(f"{name}: padding {padding} must be at most half the kernel size {kernel}")
    check_planes(name, x)
    check_window(name, x, kernel, padding, dilation)
    return kernel, stride, padding, dilation


def pad(x: Any, pad: tuple[int, ...], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Constant padding, last dim first: pad = (left, right, top, bottom, ...); negative values crop."""
    from .ops.movement import Pad

    x = as_tensor(x)
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in pad):
        raise TypeError(f"pad: pad must be a tuple of ints, got {pad!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise RuntimeError(
            f"pad: pad must hold an even number of ints, at most 2·ndim = {2 * x.ndim} for the input of shape "
            f"{tuple(x.shape)}, got {len(pad)}: {pad!r}"
        )
    return Pad.apply(x, pad=tuple(pad), value=value)


# ---------------------------------------------------------------- dense layers and activations


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """y = x Wᵀ + b. x: (.., in); weight: (out, in); bias: (out,) -> (.., out)."""
    x, weight = as_tensor(x), as_tensor(weight)
    if weight.ndim != 2 or x.shape[-1:] != weight.shape[1:]:
        raise RuntimeError(
            f"linear: input of shape {tuple(x.shape)} has {x.shape[-1] if x.ndim else 0} "
            f"features but weight {tuple(weight.shape)} expects {weight.shape[-1]}"
        )
    check_bias("linear", bias, weight.shape[0])
    check_devices("linear", x, weight, bias)
    return linalg.Linear.apply(x, weight, bias)


def relu(x: Any, inplace: bool = False) -> Tensor:
    """max(x, 0), elementwise; any shape. `inplace` is accepted for torch compatibility: results are new."""
    return ew.ReLU.apply(as_tensor(x))


def leaky_relu(x: Any, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope·x, elementwise; any shape. `inplace` is accepted; results are new."""
    return ew.LeakyReLU.apply(as_tensor(x), negative_slope=negative_slope)


def sigmoid(x: Any) -> Tensor:
    """1 / (1 + e⁻ˣ), elementwise; any shape."""
    return ew.Sigmoid.apply(as_tensor(x))


def tanh(x: Any) -> Tensor:
    """tanh x, elementwise; any shape."""
    return ew.Tanh.apply(as_tensor(x))


def softmax(x: Any, dim: int) -> Tensor:
    """Softmax along `dim`; any shape."""
    x = as_tensor(x)
    return softmax_ops.Softmax.apply(x, dim=canonical_dim("softmax", dim, x.ndim))


def log_softmax(x: Any, dim: int) -> Tensor:
    """Log of the softmax along `dim`, computed stably; any shape."""
    x = as_tensor(x)
    return softmax_ops.LogSoftmax.apply(x, dim=canonical_dim("log_softmax", dim, x.ndim))


# ---------------------------------------------------------------- fused layers


def upsample_conv2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    scale_factor: IntPair = 2,
    stride: IntPair = 1,
    padding: IntPair = 1,
    dilation: IntPair = 1,
) -> Tensor:
    """Nearest-neighbour upsampling by `scale_factor` followed by conv2d (the course's `Upsampling`).

    x: (N, C, H, W); weight: (O, C, kh, kw); bias: (O,) -> (N, O, H_out, W_out) computed on the
    (H·sh, W·sw) upsampled input. With stride 1 it runs fused (`ops.upsample_conv`: s² phase convolutions of
    the small input, never materialising the upsampled one); otherwise upsample, then conv2d.
    """
    from .ops.upsample_conv import UpsampleConv2d

    name = "upsample_conv2d"
    x, weight = as_tensor(x), as_tensor(weight)
    scale = pair(name, "scale_factor", scale_factor, 1)
    stride, dilation = pair(name, "stride", stride, 1), pair(name, "dilation", dilation, 1)
    padding = pair(name, "padding", padding, 0)
    check_4d(name, x)
    check_4d(name, weight, "weight", "(out_channels, in_channels, kh, kw)")
    if x.shape[1] != weight.shape[1]:
        raise RuntimeError(
            f"{name}: input has {x.shape[1]} channels (shape {tuple(x.shape)}) but weight {tuple(weight.shape)} "
            f"expects {weight.shape[1]}"
        )
    check_devices(name, x, weight, bias)
    if stride != (1, 1) or x.shape[0] == 0 or not nonfinite.finite(x.data, weight.data):
        # the unfused path validates the rest; fused, a NaN or ±Inf would meet zero phase weights (`nonfinite`)
        up = upsample_nearest(x, scale)
        return conv2d(up, weight, bias, stride=stride, padding=padding, dilation=dilation)
    check_bias(name, bias, weight.shape[0])
    check_weight_sizes(name, weight, CONV_WEIGHT_DIMS)
    check_planes(name, x)
    upsampled = (x.shape[0], x.shape[1], x.shape[2] * scale[0], x.shape[3] * scale[1])
    check_window(name, torch.empty(upsampled, device="meta"), weight.shape[2:], padding, dilation)
    return UpsampleConv2d.apply(x, weight, bias, scale=scale, padding=padding, dilation=dilation)
