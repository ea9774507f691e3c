"""The public op functions, with torch.nn.functional's argument names, defaults and int-or-pair conventions.

Each function validates its arguments (errors name the function, the shapes or values at fault and what
was expected), then calls one primitive op. Inputs may be engine tensors or plain torch tensors.
"""

from __future__ import annotations

from typing import Any

import torch

from .ops import conv, linalg, loss, pool
from .ops import elementwise as ew
from .ops import reduce as red
from .tensor import Tensor

IntPair = int | tuple[int, int]


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _pair(name: str, arg: str, value: Any, minimum: int) -> tuple[int, int]:
    """Normalise an int-or-pair argument and check every entry is an int ≥ minimum."""
    pair = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in pair):
        raise ValueError(f"{name}: {arg} must be an int ≥ {minimum} or a pair of them, got {value!r}")
    return pair


def _check_4d(name: str, x: Tensor, what: str = "input", layout: str = "(N, C, H, W)") -> None:
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D {what} {layout}, got shape {tuple(x.shape)}")


def _check_devices(name: str, *tensors: Any) -> None:
    """Raise the engine's "different devices" error before torch gets a chance to mix them."""
    present = [t for t in tensors if t is not None]
    if len({t.device for t in present}) > 1:
        described = ", ".join(f"{tuple(t.shape)} on {t.device}" for t in present)
        raise RuntimeError(
            f"{name}: inputs are on different devices ({described}); move them to one device with .to(device) first"
        )


def _check_window(name: str, x: Tensor, kernel, padding, dilation) -> None:
    for axis, size in enumerate(x.shape[2:]):
        span = dilation[axis] * (kernel[axis] - 1) + 1
        if span > size + 2 * padding[axis]:
            raise ValueError(
                f"{name}: kernel of size {tuple(kernel)} (dilated span {span}) is larger than the padded input "
                f"{tuple(s + 2 * p for s, p in zip(x.shape[2:], padding))} (input shape {tuple(x.shape)})"
            )


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
    """2-D convolution via unfold + one matrix product.

    x: (N, C, H, W); weight: (O, C/groups, kh, kw); bias: (O,) -> (N, O, H_out, W_out).
    """
    x, weight = _tensor(x), _tensor(weight)
    stride, dilation = _pair("conv2d", "stride", stride, 1), _pair("conv2d", "dilation", dilation, 1)
    padding = _pair("conv2d", "padding", padding, 0)
    _check_4d("conv2d", x)
    _check_4d("conv2d", weight, "weight", "(out_channels, in_channels/groups, kh, kw)")
    if not isinstance(groups, int) or groups < 1 or x.shape[1] % groups or weight.shape[0] % groups:
        raise ValueError(
            f"conv2d: groups={groups} must be a positive int dividing both the input channels "
            f"({x.shape[1]}) and the output channels ({weight.shape[0]})"
        )
    if x.shape[1] != weight.shape[1] * groups:
        raise ValueError(
            f"conv2d: input has {x.shape[1]} channels (shape {tuple(x.shape)}) but weight {tuple(weight.shape)} "
            f"with groups={groups} expects {weight.shape[1] * groups}"
        )
    _check_bias("conv2d", bias, weight.shape[0])
    _check_devices("conv2d", x, weight, bias)
    _check_window("conv2d", x, weight.shape[2:], padding, dilation)
    return conv.Conv2d.apply(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


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
    x, weight = _tensor(x), _tensor(weight)
    name = "conv_transpose2d"
    stride, dilation = _pair(name, "stride", stride, 1), _pair(name, "dilation", dilation, 1)
    padding, output_padding = _pair(name, "padding", padding, 0), _pair(name, "output_padding", output_padding, 0)
    _check_4d(name, x)
    _check_4d(name, weight, "weight", "(in_channels, out_channels/groups, kh, kw)")
    if not isinstance(groups, int) or groups < 1 or x.shape[1] % groups:
        raise ValueError(f"{name}: groups={groups} must be a positive int dividing the input channels ({x.shape[1]})")
    if x.shape[1] != weight.shape[0]:
        raise ValueError(
            f"{name}: input has {x.shape[1]} channels (shape {tuple(x.shape)}) but weight "
            f"{tuple(weight.shape)} expects {weight.shape[0]}"
        )
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(
            f"{name}: output_padding {output_padding} must be smaller than stride {stride} or dilation {dilation}"
        )
    _check_bias(name, bias, weight.shape[1] * groups)
    _check_devices(name, x, weight, bias)
    for axis in (0, 1):
        size = (x.shape[2 + axis] - 1) * stride[axis] - 2 * padding[axis]
        if size + dilation[axis] * (weight.shape[2 + axis] - 1) + output_padding[axis] + 1 < 1:
            raise ValueError(
                f"{name}: padding {padding} leaves an empty output for input {tuple(x.shape)} "
                f"and kernel {tuple(weight.shape[2:])}"
            )
    return conv.ConvTranspose2d.apply(
        x, weight, bias, stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation
    )


def _check_bias(name: str, bias: Any, channels: int) -> None:
    if bias is not None and tuple(bias.shape) != (channels,):
        raise ValueError(f"{name}: bias must have shape ({channels},), got {tuple(bias.shape)}")


def upsample_nearest(x: Any, scale_factor: IntPair) -> Tensor:
    """Nearest-neighbour upsampling by positive integer factors. x: (N, C, H, W) -> (N, C, H·sh, W·sw)."""
    x = _tensor(x)
    _check_4d("upsample_nearest", x)
    scale = _pair("upsample_nearest", "scale_factor", scale_factor, 1)
    return pool.UpsampleNearest.apply(x, scale=scale)


def max_pool2d(
    x: Any, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0, dilation: IntPair = 1
) -> Tensor:
    """Max over sliding windows. x: (N, C, H, W) -> (N, C, H_out, W_out); stride defaults to kernel_size."""
    return _pool("max_pool2d", x, kernel_size, stride, padding, dilation)


def avg_pool2d(
    x: Any, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0, count_include_pad: bool = True
) -> Tensor:
    """Mean over sliding windows. x: (N, C, H, W) -> (N, C, H_out, W_out); stride defaults to kernel_size."""
    return _pool("avg_pool2d", x, kernel_size, stride, padding, 1, count_include_pad)


def _pool(name: str, x: Any, kernel_size, stride, padding, dilation, count_include_pad=True) -> Tensor:
    x = _tensor(x)
    _check_4d(name, x)
    kernel = _pair(name, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None or stride == [] else _pair(name, "stride", stride, 1)
    padding, dilation = _pair(name, "padding", padding, 0), _pair(name, "dilation", dilation, 1)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel size {kernel}")
    _check_window(name, x, kernel, padding, dilation)
    if name == "max_pool2d":
        return pool.MaxPool2d.apply(x, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation)
    return pool.AvgPool2d.apply(
        x, kernel_size=kernel, stride=stride, padding=padding, count_include_pad=count_include_pad
    )


def pad(x: Any, pad: tuple[int, ...], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Constant padding, last dim first: pad = (left, right, top, bottom, ...); negative values crop."""
    from .ops.movement import Pad

    x = _tensor(x)
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim or not all(isinstance(p, int) for p in pad):
        raise ValueError(f"pad: pad must hold an even number (≤ 2·ndim = {2 * x.ndim}) of ints, got {pad!r}")
    return Pad.apply(x, pad=tuple(pad), value=value)


# ---------------------------------------------------------------- dense layers and activations


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """y = x Wᵀ + b. x: (.., in); weight: (out, in); bias: (out,) -> (.., out)."""
    x, weight = _tensor(x), _tensor(weight)
    if weight.ndim != 2 or x.shape[-1:] != weight.shape[1:]:
        raise ValueError(
            f"linear: input of shape {tuple(x.shape)} has {x.shape[-1] if x.ndim else 0} "
            f"features but weight {tuple(weight.shape)} expects {weight.shape[-1]}"
        )
    _check_bias("linear", bias, weight.shape[0])
    _check_devices("linear", x, weight, bias)
    return linalg.Linear.apply(x, weight, bias)


def relu(x: Any, inplace: bool = False) -> Tensor:
    """max(x, 0), elementwise; any shape. `inplace` is accepted for torch compatibility: results are new."""
    return ew.ReLU.apply(_tensor(x))


def leaky_relu(x: Any, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope·x, elementwise; any shape. `inplace` is accepted; results are new."""
    return ew.LeakyReLU.apply(_tensor(x), negative_slope=negative_slope)


def sigmoid(x: Any) -> Tensor:
    """1 / (1 + e⁻ˣ), elementwise; any shape."""
    return ew.Sigmoid.apply(_tensor(x))


def tanh(x: Any) -> Tensor:
    """tanh x, elementwise; any shape."""
    return ew.Tanh.apply(_tensor(x))


def softmax(x: Any, dim: int) -> Tensor:
    """Softmax along `dim`; any shape."""
    return loss.Softmax.apply(_tensor(x), dim=dim)


def log_softmax(x: Any, dim: int) -> Tensor:
    """Log of the softmax along `dim`, computed stably; any shape."""
    return loss.LogSoftmax.apply(_tensor(x), dim=dim)


# ---------------------------------------------------------------- losses


def _check_reduction(name: str, reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_same_shape(name: str, x: Tensor, target: Tensor) -> None:
    if x.shape != target.shape:
        raise ValueError(f"{name}: input shape {tuple(x.shape)} and target shape {tuple(target.shape)} must be equal")


def mse_loss(x: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error; x and target of the same shape -> scalar (or that shape for 'none')."""
    x, target = _tensor(x), _tensor(target)
    _check_reduction("mse_loss", reduction)
    _check_same_shape("mse_loss", x, target)
    return loss.MSELoss.apply(x, target, reduction=reduction)


def l1_loss(x: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error; x and target of the same shape -> scalar (or that shape for 'none')."""
    x, target = _tensor(x), _tensor(target)
    _check_reduction("l1_loss", reduction)
    _check_same_shape("l1_loss", x, target)
    return loss.L1Loss.apply(x, target, reduction=reduction)


def cross_entropy(
    x: Any,
    target: Any,
    weight: Any = None,
    size_average: None = None,
    ignore_index: int = -100,
    reduce: None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy with class-index targets, torch's signature and semantics.

    x: (N, C) or (N, C, d1, ...) logits; target: (N,) or (N, d1, ...) int64 in [0, C) or `ignore_index`;
    weight: optional (C,) class weights (a constant: no gradient flows to it) -> scalar, or (N, d1, ...) for
    'none'. 'mean' divides by the summed weights of the non-ignored targets (nan when all are ignored).
    """
    name = "cross_entropy"
    x = _tensor(x)
    if size_average is not None or reduce is not None or label_smoothing != 0.0:
        raise ValueError(f"{name}: size_average/reduce (deprecated in torch) and label_smoothing are not supported")
    target = target.data if isinstance(target, Tensor) else target
    target = target if isinstance(target, torch.Tensor) else torch.as_tensor(target, device=x.device)
    _check_reduction(name, reduction)
    _check_devices(name, x, target)
    if x.ndim < 2 or target.shape != x.shape[:1] + x.shape[2:]:
        raise ValueError(
            f"{name}: expected logits (N, C, ...) and targets (N, ...); got logits "
            f"{tuple(x.shape)} and targets {tuple(target.shape)}"
        )
    kept = target != ignore_index
    used = target[kept]
    if target.is_floating_point() or (used.numel() and (used.min() < 0 or used.max() >= x.shape[1])):
        raise ValueError(
            f"{name}: targets must be integer class indices in [0, {x.shape[1]}) or ignore_index={ignore_index}, "
            f"got dtype {target.dtype} with values in [{target.min().item()}, {target.max().item()}]"
        )
    if weight is not None:
        weight = weight.data if isinstance(weight, Tensor) else torch.as_tensor(weight, device=x.device)
        if weight.shape != (x.shape[1],):
            raise ValueError(
                f"{name}: weight must have shape ({x.shape[1]},), one per class, got {tuple(weight.shape)}"
            )
    log_probs = loss.LogSoftmax.apply(x, dim=1)
    safe = target.masked_fill(~kept, 0)
    picked = red.Gather.apply(log_probs, safe.unsqueeze(1), dim=1).squeeze(1)
    if weight is None and bool(kept.all()):
        if reduction == "mean":
            return -picked.mean()
        return -picked.sum() if reduction == "sum" else -picked
    scale = kept.to(x.dtype) if weight is None else weight.to(x.dtype)[safe] * kept
    losses = -picked * Tensor(scale)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    total = scale.sum()
    return losses.sum() / total if total > 0 else losses.sum() + float("nan")  # torch: nan, zero gradient


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
    x, weight = _tensor(x), _tensor(weight)
    scale = _pair(name, "scale_factor", scale_factor, 1)
    stride, dilation = _pair(name, "stride", stride, 1), _pair(name, "dilation", dilation, 1)
    padding = _pair(name, "padding", padding, 0)
    _check_4d(name, x)
    _check_4d(name, weight, "weight", "(out_channels, in_channels, kh, kw)")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"{name}: input has {x.shape[1]} channels (shape {tuple(x.shape)}) but weight {tuple(weight.shape)} "
            f"expects {weight.shape[1]}"
        )
    if stride != (1, 1) or x.shape[0] == 0:
        up = upsample_nearest(x, scale)  # the unfused path validates the rest
        return conv2d(up, weight, bias, stride=stride, padding=padding, dilation=dilation)
    _check_bias(name, bias, weight.shape[0])
    _check_devices(name, x, weight, bias)
    upsampled = (x.shape[0], x.shape[1], x.shape[2] * scale[0], x.shape[3] * scale[1])
    _check_window(name, torch.empty(upsampled, device="meta"), weight.shape[2:], padding, dilation)
    return UpsampleConv2d.apply(x, weight, bias, scale=scale, padding=padding, dilation=dilation)
