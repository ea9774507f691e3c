"""Bad input gives a clear error naming the op, the shapes or values at fault and what was expected.

One line per case, id -> (call, message fragments), in one table per kind of mistake, each table with its
exception type. Fragments are separated by " … " and must appear in the message in that order.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n import functional as F
from tinygrad_n2n import nn, tape
from tinygrad_n2n.ops.function import Function


def t(*shape: int) -> tn.Tensor:
    """A float64 leaf that requires a gradient."""
    return tn.Tensor(torch.randn(shape, dtype=torch.float64), requires_grad=True)


def c(*shape: int) -> tn.Tensor:
    """A float64 constant."""
    return tn.Tensor(torch.randn(shape, dtype=torch.float64))


def m(*shape: int) -> tn.Tensor:
    """A float64 tensor on the meta device (shapes only, no data): another device when there is no GPU."""
    return tn.Tensor(torch.empty(shape, dtype=torch.float64, device="meta"))


def g(*shape: int) -> tn.Tensor:
    """A float64 tensor on the GPU."""
    return tn.Tensor(torch.randn(shape, dtype=torch.float64, device="cuda"), requires_grad=True)


def check(call, kind: type[Exception], fragments: str) -> None:
    with pytest.raises(kind) as info:
        call()
    message, position = str(info.value), 0
    for fragment in fragments.split(" … "):
        found = message.find(fragment, position)
        assert found >= 0, f"{fragment!r} not found (in order) in: {message}"
        position = found + len(fragment)


def meta_targets(n: int) -> torch.Tensor:
    """Class indices on the meta device."""
    return torch.zeros(n, dtype=torch.long, device="meta")


def under_no_grad(fn):
    with tn.no_grad():
        return fn()


class BadShape(Function):
    """y = 2x; backward deliberately returns a gradient of the wrong shape"""

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out[..., :1].repeat(1, 2)


class TwoGradients(Function):
    """y = 2x; backward deliberately returns two gradients for one input"""

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out, grad_out


CONV = {  # conv input not 4-D; channels (and groups) not matching weight; kernel larger than the padded input
    "input-3d": (lambda: F.conv2d(t(3, 8, 8), t(4, 3, 3, 3)), "conv2d: expected a 4-D input (N, C, H, W) … (3, 8, 8)"),
    "weight-3d": (lambda: F.conv2d(t(1, 3, 8, 8), t(4, 3, 3)), "conv2d: … 4-D weight (out_channels, … (4, 3, 3)"),
    "channels": (lambda: F.conv2d(t(1, 3, 8, 8), t(4, 2, 3, 3)), "conv2d: input has 3 channels … (4, 2, 3, 3) … 2"),
    "groups-in": (lambda: F.conv2d(t(1, 3, 8, 8), t(4, 1, 3, 3), groups=2), "conv2d: groups=2 … channels (3)"),
    "groups-out": (lambda: F.conv2d(t(1, 4, 8, 8), t(3, 2, 3, 3), groups=2), "conv2d: groups=2 … channels (3)"),
    "groups-weight": (lambda: F.conv2d(t(1, 4, 8, 8), t(4, 1, 3, 3), groups=2), "4 channels … groups=2 expects 2"),
    "groups-zero": (lambda: F.conv2d(t(1, 3, 8, 8), t(3, 3, 1, 1), groups=0), "conv2d: groups=0 must be a positive"),
    "bias": (lambda: F.conv2d(t(1, 3, 8, 8), t(4, 3, 3, 3), t(3)), "conv2d: bias must have shape (4,), got (3,)"),
    "kernel": (lambda: F.conv2d(t(1, 3, 4, 4), t(4, 3, 7, 7), padding=1), "conv2d: kernel of size (7, 7) … (6, 6)"),
    "dilated-kernel": (lambda: F.conv2d(t(1, 1, 5, 5), t(1, 1, 3, 3), dilation=3), "(dilated span 7) … (5, 5)"),
    "transpose-5d": (lambda: F.conv_transpose2d(t(1, 1, 3, 8, 8), t(3, 4, 3, 3)), "conv_transpose2d: … 4-D"),
    "transpose-channels": (lambda: F.conv_transpose2d(t(1, 3, 8, 8), t(2, 4, 3, 3)), "has 3 channels … expects 2"),
    "transpose-groups": (lambda: F.conv_transpose2d(t(1, 3, 4, 4), t(3, 1, 1, 1), groups=2), "groups=2 … (3)"),
    "upsample-conv-3d": (lambda: F.upsample_conv2d(t(2, 2, 2), t(1, 2, 3, 3)), "upsample_conv2d: … 4-D … (2, 2, 2)"),
    "upsample-conv-channels": (lambda: F.upsample_conv2d(t(1, 2, 2, 2), t(1, 1, 3, 3)), "upsample_conv2d: … 2 chan"),
    "upsample-conv-kernel": (lambda: F.upsample_conv2d(c(1, 1, 2, 2), c(1, 1, 7, 7), padding=0), "(7, 7) … (4, 4)"),
    "max-pool-3d": (lambda: F.max_pool2d(t(1, 4, 4), 2), "max_pool2d: expected a 4-D input … (1, 4, 4)"),
    "max-pool-kernel": (lambda: F.max_pool2d(t(1, 1, 2, 2), 3), "max_pool2d: kernel of size (3, 3) … (2, 2)"),
    "linear": (lambda: F.linear(t(2, 3), t(4, 5)), "linear: input of shape (2, 3) has 3 features … (4, 5) expects 5"),
}

STEPS = {  # non-positive (or non-integer) stride and dilation, negative padding
    "stride-zero": (lambda: F.conv2d(t(1, 3, 8, 8), t(4, 3, 3, 3), stride=0), "conv2d: stride must be an int ≥ 1 … 0"),
    "stride-pair": (lambda: F.conv2d(t(1, 3, 8, 8), t(4, 3, 3, 3), stride=(1, -2)), "stride … got (1, -2)"),
    "dilation-zero": (lambda: F.conv2d(t(1, 3, 8, 8), t(4, 3, 3, 3), dilation=0), "conv2d: dilation must be … got 0"),
    "dilation-pair": (lambda: F.conv2d(t(1, 3, 8, 8), t(4, 3, 3, 3), dilation=(2, -1)), "dilation … (2, -1)"),
    "padding": (lambda: F.conv2d(t(1, 3, 8, 8), t(4, 3, 3, 3), padding=-1), "conv2d: padding must be an int ≥ 0"),
    "transpose-stride": (lambda: F.conv_transpose2d(t(1, 3, 4, 4), t(3, 4, 3, 3), stride=0), "stride must be … 0"),
    "transpose-dilation": (lambda: F.conv_transpose2d(t(1, 3, 4, 4), t(3, 4, 3, 3), dilation=-1), "dilation … -1"),
    "max-pool-stride": (lambda: F.max_pool2d(t(1, 1, 4, 4), 2, stride=0), "max_pool2d: stride must be an int ≥ 1"),
    "avg-pool-stride": (lambda: F.avg_pool2d(t(1, 1, 4, 4), 2, stride=-1), "avg_pool2d: stride must be an int ≥ 1"),
}

ARGUMENT_TYPES = {  # an int-or-pair argument that is not made of ints (TypeError, as torch's argument parser)
    "stride-float": (lambda: F.conv2d(t(1, 3, 8, 8), t(4, 3, 3, 3), stride=1.5), "conv2d: stride … got 1.5"),
    "float": (lambda: F.upsample_nearest(t(1, 1, 2, 2), 1.5), "upsample_nearest: scale_factor must be an int ≥ 1"),
    "integral-float": (lambda: F.upsample_nearest(t(1, 1, 2, 2), 2.0), "upsample_nearest: scale_factor … got 2.0"),
    "bool": (lambda: F.upsample_nearest(t(1, 1, 2, 2), True), "upsample_nearest: scale_factor … got True"),
    "upsample-conv": (lambda: F.upsample_conv2d(t(1, 1, 2, 2), t(1, 1, 3, 3), scale_factor=0.5), "scale_factor … 0.5"),
}

SCALES = {  # upsample scale not a positive integer (or a pair of them)
    "zero": (lambda: F.upsample_nearest(t(1, 1, 2, 2), 0), "upsample_nearest: scale_factor … got 0"),
    "negative": (lambda: F.upsample_nearest(t(1, 1, 2, 2), -2), "upsample_nearest: scale_factor … got -2"),
    "pair": (lambda: F.upsample_nearest(t(1, 1, 2, 2), (2, 0)), "upsample_nearest: scale_factor … got (2, 0)"),
    "input-3d": (lambda: F.upsample_nearest(t(1, 2, 2), 2), "upsample_nearest: expected a 4-D input … (1, 2, 2)"),
}

SHAPES = {  # matmul inner dimensions; shapes that do not broadcast (raised by the ops themselves)
    "matmul-2d": (lambda: t(2, 3) @ t(4, 5), "matmul: cannot multiply shapes (2, 3) and (4, 5) … 3 != 4"),
    "matmul-batched": (lambda: t(2, 2, 3) @ t(2, 4, 5), "matmul: … (2, 2, 3) and (2, 4, 5) … 3 != 4"),
    "matmul-vectors": (lambda: t(3) @ t(4), "matmul: cannot multiply shapes (3,) and (4,)"),
    "matmul-vector-right": (lambda: c(2, 3) @ t(4), "matmul: cannot multiply shapes (2, 3) and (4,)"),
    "matmul-method-constants": (lambda: c(2, 3).matmul(c(2, 3)), "matmul: cannot multiply shapes (2, 3) and (2, 3)"),
    "matmul-0d": (lambda: t() @ t(3), "matmul: … at least 1D"),
    "add": (lambda: t(2, 3) + t(4), "add: shapes (2, 3) and (4,) do not broadcast together"),
    "sub-constants": (lambda: c(2, 3) - c(3, 2), "sub: shapes (2, 3) and (3, 2) do not broadcast"),
    "mse-loss": (lambda: F.mse_loss(t(2, 3), t(3, 2)), "mse_loss: input shape (2, 3) and target shape (3, 2) do not"),
    "mul-torch-operand": (lambda: t(2, 3) * torch.ones(2), "mul: shapes (2, 3) and (2,) do not broadcast"),
    "div-reflected": (lambda: torch.ones(2, 4) / t(2, 3), "div: shapes (2, 4) and (2, 3) do not broadcast"),
    "pow": (lambda: t(2, 3) ** t(2, 2), "pow: shapes (2, 3) and (2, 2) do not broadcast"),
    "maximum": (lambda: t(2, 3).maximum(t(5)), "maximum: shapes (2, 3) and (5,) do not broadcast"),
    "expand": (lambda: t(2, 3).expand(4, 4), "expand: … (inputs: (2, 3) float64"),
    "cat": (lambda: tn.cat([t(2, 3), t(3, 4)]), "cat: … (2, 3) float64 on cpu, (3, 4) float64 on cpu"),
}

INTEGER_GRAD = {  # requires_grad=True on an integer (or bool) tensor
    "list": (lambda: tn.Tensor([1, 2, 3], requires_grad=True), "Tensor: only floating-point … dtype torch.int64"),
    "torch": (lambda: tn.Tensor(torch.arange(3), requires_grad=True), "can require a gradient, … int64"),
    "numpy": (lambda: tn.Tensor(np.arange(3, dtype=np.int32), requires_grad=True), "got dtype torch.int32"),
    "bool": (lambda: tn.Tensor(torch.ones(2, dtype=torch.bool), requires_grad=True), "dtype torch.bool"),
    "factory": (lambda: tn.arange(3, requires_grad=True), "only floating-point tensors … torch.int64"),
    "setter": (lambda: setattr(tn.Tensor([1, 2]), "requires_grad", True), "only floating-point … int64"),
    "parameter": (lambda: nn.Parameter(torch.zeros(2, dtype=torch.int16)), "got dtype torch.int16"),
}

DEVICES = {  # ops mixing devices (the meta device stands in for a GPU)
    "add": (lambda: t(3) + m(3), "add: inputs are on different devices ((3,) float64 on cpu, (3,) float64 on meta)"),
    "mul-constants": (lambda: c(3) * m(3), "mul: inputs are on different devices … .to(device)"),
    "matmul": (lambda: t(2, 3) @ m(3, 2), "matmul: inputs are on different devices … (3, 2) float64 on meta"),
    "conv2d": (lambda: F.conv2d(t(1, 3, 8, 8), m(4, 3, 3, 3)), "conv2d: inputs are on different devices"),
    "conv-bias": (lambda: F.conv2d(t(1, 3, 8, 8), t(4, 3, 3, 3), m(4)), "conv2d: … different devices … (4,) on meta"),
    "transpose": (lambda: F.conv_transpose2d(t(1, 3, 4, 4), m(3, 4, 3, 3)), "conv_transpose2d: … different devices"),
    "upsample-conv": (lambda: F.upsample_conv2d(t(1, 3, 4, 4), m(4, 3, 3, 3)), "upsample_conv2d: … different devices"),
    "linear": (lambda: F.linear(t(2, 3), m(4, 3)), "linear: inputs are on different devices"),
    "mse-loss": (lambda: F.mse_loss(t(2, 3), m(2, 3)), "mse_loss: inputs are on different devices"),
    "cross-entropy": (lambda: F.cross_entropy(t(2, 3), meta_targets(2)), "cross_entropy: … different devices"),
    "cat": (lambda: tn.cat([t(2, 3), m(2, 3)]), "cat: inputs are on different devices"),
}

BACKWARD = {  # backward needing no gradient; non-scalar without gradient; gradient of the wrong shape
    "constant": (lambda: c(3).sum().backward(), "backward: this tensor does not require a gradient"),
    "detached": (lambda: (t(3) * 2).detach().sum().backward(), "backward: this tensor does not require a gradient"),
    "no-grad": (lambda: under_no_grad(lambda: t(3).sum()).backward(), "does not require a gradient … no_grad()"),
    "eval-module": (lambda: nn.Linear(2, 1).double().eval()(t(3, 2)).sum().backward(), "not require … eval-mode"),
    "non-scalar": (lambda: (t(2, 3) * 2).backward(), "backward: gradient can be omitted only for a scalar … (2, 3)"),
    "non-scalar-leaf": (lambda: t(2).backward(), "gradient can be omitted only for a scalar output … (2,)"),
    "wrong-shape": (lambda: (t(3) * 2).backward(torch.ones(4)), "backward: gradient has shape (4,) … shape (3,)"),
    "broadcastable": (lambda: (t(3) * 2).backward(torch.ones(1)), "gradient has shape (1,) but the output … (3,)"),
    "extra-dims": (lambda: (t(3) * 2).backward(torch.ones(1, 3)), "gradient has shape (1, 3) but … (3,)"),
    "leaf": (lambda: t(2, 3).backward(t(3, 2)), "backward: gradient has shape (3, 2) but the output has shape (2, 3)"),
    "op-backward": (lambda: BadShape.apply(t(2, 3)).sum().backward(), "bad_shape.backward: … (2, 2) … (2, 3)"),
    "op-count": (lambda: TwoGradients.apply(t(2)).sum().backward(), "returned 2 gradients for 1 inputs"),
}

DIMS = {  # a dim out of range: torch's IndexError and wording, after the op's name
    "sum": (lambda: t(2, 3).sum(5), "sum: Dimension out of range (expected to be in range of [-2, 1], but got 5)"),
    "mean": (lambda: t(2, 3).mean((0, -3)), "mean: Dimension out of range (expected … [-2, 1], but got -3)"),
    "max": (lambda: t(2, 3).max(2), "max: Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    "min": (lambda: t(2, 3).min(-3), "min: Dimension out of range"),
    "permute": (lambda: t(2, 3).permute(2, 1), "permute: Dimension out of range … but got 2)"),
    "transpose": (lambda: t(2, 3).transpose(0, 2), "transpose: Dimension out of range … [-2, 1], but got 2)"),
    "transpose-0d": (lambda: t().transpose(0, 1), "transpose: Dimension out of range (expected … [-1, 0], but got 1)"),
    "flatten": (lambda: t(2, 3).flatten(5), "flatten: Dimension out of range … but got 5)"),
    "squeeze": (lambda: t(2, 3).squeeze((0, 2)), "squeeze: Dimension out of range … but got 2)"),
    "unsqueeze": (lambda: t(2, 3).unsqueeze(3), "unsqueeze: Dimension out of range (expected … [-3, 2], but got 3)"),
    "cat": (lambda: tn.cat([t(2, 3), t(2, 3)], 2), "cat: Dimension out of range (expected … [-2, 1], but got 2)"),
    "stack": (lambda: tn.stack([t(2, 3), t(2, 3)], -4), "stack: Dimension out of range (expected … [-3, 2]"),
    "softmax": (lambda: F.softmax(t(2, 3), 2), "softmax: Dimension out of range … but got 2)"),
    "log-softmax": (lambda: F.log_softmax(t(2, 3), -3), "log_softmax: Dimension out of range … but got -3)"),
    "softmax-module": (lambda: nn.Softmax(dim=1)(t(3)), "softmax: Dimension out of range (expected … [-1, 0]"),
}

INDICES = {  # indexing beyond the tensor (IndexError, torch's wording plus the shape and the index)
    "too-many": (lambda: t(2, 3)[0, 0, 0], "get_item: too many indices for tensor of dimension 2 … (2, 3) … [0, 0, 0]"),
    "out-of-bounds": (lambda: t(2, 3)[:, 5], "get_item: index 5 is out of bounds for dimension 1 with size 3"),
    "tensor-index": (lambda: t(2, 3)[torch.tensor([0, 5])], "get_item: index 5 … with tensor of shape (2,) int64"),
    "0d": (lambda: t()[0], "get_item: invalid index of a 0-dim tensor"),
    "float": (lambda: t(2, 3)[1.5], "get_item: only integers, slices … (indexing a tensor of shape (2, 3) with 1.5)"),
    "mask": (lambda: t(2, 3)[torch.tensor([True, False, True])], "get_item: The shape of the mask [3] … (2, 3)"),
    "max-over-empty-dim": (lambda: t(2, 0).max(1), "max: Expected reduction dim 1 to have non-zero size … (2, 0)"),
}

REPEATS = {  # a dim named twice, permutations of the wrong length, dims in the wrong order (torch's RuntimeError)
    "sum": (lambda: t(2, 3).sum((1, -1)), "sum: dim 1 appears multiple times in the list of dims (1, -1)"),
    "mean-0d": (lambda: t().mean((0, -1)), "mean: dim 0 appears multiple times"),
    "permute": (lambda: t(2, 3).permute(0, 0), "permute: dim 0 appears multiple times in the list of dims (0, 0)"),
    "permute-count": (lambda: t(2, 3).permute(1, 0, 2), "permute: expected 2 dims, one per dim of … (2, 3), got 3"),
    "squeeze": (lambda: t(1, 3).squeeze((0, -2)), "squeeze: dim 0 appears multiple times"),
    "flatten-order": (
        lambda: t(2, 3, 4).flatten(2, 1),
        "flatten: … start_dim cannot come after end_dim … dim 2 … dim 1",
    ),
    "t-3d": (lambda: t(2, 3, 4).t(), "t: expects a tensor with at most 2 dims, got shape (2, 3, 4)"),
    "cat-0d": (lambda: tn.cat([t(), t()]), "cat: zero-dimensional tensor (at position 0) cannot be concatenated"),
    "max-of-empty": (lambda: t(2, 0).max(), "max: the input of shape (2, 0) is empty … pass dim="),
    "min-of-empty": (lambda: t(0).min(), "min: the input of shape (0,) is empty"),
}

EMPTY = {  # empty inputs and weights torch refuses (RuntimeError)
    "conv-kernel-0": (
        lambda: F.conv2d(t(1, 3, 4, 4), t(2, 3, 0, 3)),
        "conv2d: weight of shape (2, 3, 0, 3) has 0 kernel rows",
    ),
    "conv-no-outputs": (lambda: F.conv2d(t(1, 3, 4, 4), t(0, 3, 3, 3)), "conv2d: … (0, 3, 3, 3) has 0 output channels"),
    "conv-no-channels": (
        lambda: F.conv2d(t(2, 0, 4, 4), t(2, 0, 3, 3)),
        "conv2d: input of shape (2, 0, 4, 4) has 0 chan",
    ),
    "conv-empty-planes": (
        lambda: F.conv2d(t(2, 3, 0, 4), t(2, 3, 1, 1)),
        "conv2d: input of shape (2, 3, 0, 4) … empty",
    ),
    "transpose-kernel-0": (lambda: F.conv_transpose2d(t(1, 3, 4, 4), t(3, 2, 3, 0)), "has 0 kernel columns"),
    "upsample-conv-kernel-0": (lambda: F.upsample_conv2d(t(1, 3, 4, 4), t(2, 3, 0, 0)), "upsample_conv2d: … 0 kernel"),
    "max-pool-no-channels": (lambda: F.max_pool2d(t(2, 0, 4, 4), 2), "max_pool2d: input of shape (2, 0, 4, 4) … empty"),
    "upsample-empty-plane": (lambda: F.upsample_nearest(t(1, 2, 0, 4), 2), "upsample_nearest: … (1, 2, 0, 4) … empty"),
    "pad-odd": (lambda: F.pad(t(2, 3), (1,)), "pad: pad must hold an even number of ints … got 1: (1,)"),
    "pad-too-long": (
        lambda: F.pad(t(2, 3), (1,) * 6),
        "pad: … at most 2·ndim = 4 for the input of shape (2, 3), got 6",
    ),
}

TYPES = {  # values of the wrong type: constructor data, gradients, operands, dims (TypeError)
    "tensor-str": (
        lambda: tn.Tensor("abc"),
        "Tensor: cannot make a tensor from 'abc' (str): … invalid data type 'str'",
    ),
    "tensor-str-list": (lambda: tn.Tensor([1, "a"]), "Tensor: cannot make a tensor from [1, 'a'] (list)"),
    "tensor-numpy-str": (lambda: tn.Tensor(np.array(["a"])), "Tensor: cannot make a tensor from array(['a']"),
    "tensor-dtype": (lambda: tn.Tensor([1.0], dtype="float32"), "Tensor: … [1.0] (list, dtype='float32'): … dtype"),
    "gradient-str": (
        lambda: (t(2) * 2).backward(gradient="abc"),
        "backward: gradient must be a Tensor or a torch.Tensor",
    ),
    "gradient-list": (lambda: (t(2) * 2).backward([1.0, 2.0]), "backward: … output's shape (2,) … got list [1.0, 2.0]"),
    "gradient-numpy": (lambda: (t(2) * 2).backward(np.ones(2)), "backward: gradient must be … got ndarray"),
    "add-str": (lambda: t(2) + "a", "add: unsupported operand 'a' of type str; expected a Tensor, a torch.Tensor"),
    "mul-none": (lambda: None * t(2), "mul: unsupported operand None of type NoneType"),
    "sub-list": (lambda: t(3) - [1, 2, 3], "sub: unsupported operand [1, 2, 3] of type list"),
    "matmul-number": (lambda: t(2, 2) @ 2, "matmul: both operands must be tensors, got 2 of type int; use *"),
    "rmatmul-number": (lambda: 2.0 @ t(2, 2), "matmul: both operands must be tensors, got 2.0"),
    "sum-dim-bool": (lambda: t(2, 3).sum(True), "sum: dim must be an int, got True (bool)"),
    "transpose-dim-float": (lambda: t(2, 3).transpose(0, 1.0), "transpose: dim1 must be an int, got 1.0 (float)"),
    "index-str": (lambda: t(2, 3)[0, "a"], "get_item: … (indexing a tensor of shape (2, 3) with [0, 'a'])"),
    "pad-float": (lambda: F.pad(t(2, 3), (1.5, 1)), "pad: pad must be a tuple of ints, got (1.5, 1)"),
}

VALUES = {  # values of the right type but wrong: ragged lists, slice steps, empty tensor lists (ValueError)
    "tensor-ragged": (
        lambda: tn.Tensor([[1, 2], [3]]),
        "Tensor: … [[1, 2], [3]] (list): expected sequence of length 2",
    ),
    "slice-negative-step": (lambda: t(4)[::-1], "get_item: step must be greater than zero … shape (4,) with ::-1)"),
    "slice-zero-step": (lambda: t(2, 3)[:, ::0], "get_item: slice step cannot be zero"),
    "cat-nothing": (lambda: tn.cat([]), "cat: expected a non-empty list of tensors"),
}

CONSTRUCTOR = {  # data torch cannot infer a dtype for, unknown devices (RuntimeError, as torch)
    "none": (lambda: tn.Tensor(None), "Tensor: cannot make a tensor from None (NoneType): Could not infer dtype"),
    "dict": (lambda: tn.Tensor({}), "Tensor: cannot make a tensor from {} (dict)"),
    "device": (lambda: tn.Tensor([1.0], device="nope"), "Tensor: … (list, device='nope'): Expected one of cpu"),
    "device-of-tensor": (lambda: tn.Tensor(torch.ones(2), device="nope"), "Tensor: cannot make a tensor from tensor("),
}

TABLES = {
    "conv": (RuntimeError, CONV),
    "steps": (RuntimeError, STEPS),
    "scale": (RuntimeError, SCALES),
    "argument-type": (TypeError, ARGUMENT_TYPES),
    "shape": (RuntimeError, SHAPES),
    "int": (TypeError, INTEGER_GRAD),
    "device": (RuntimeError, DEVICES),
    "backward": (RuntimeError, BACKWARD),
    "dim": (IndexError, DIMS),
    "index": (IndexError, INDICES),
    "repeat": (RuntimeError, REPEATS),
    "empty": (RuntimeError, EMPTY),
    "type": (TypeError, TYPES),
    "value": (ValueError, VALUES),
    "constructor": (RuntimeError, CONSTRUCTOR),
}
ALL = {
    f"{section}-{name}": (call, kind, text)
    for section, (kind, table) in TABLES.items()
    for name, (call, text) in table.items()
}


@pytest.mark.parametrize("call, kind, fragments", list(ALL.values()), ids=list(ALL))
def test_bad_input_gives_a_clear_error(call, kind, fragments):
    check(call, kind, fragments)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize(
    "call, fragments",
    [
        (lambda: t(3) + g(3), "add: inputs are on different devices … on cuda"),
        (lambda: F.conv2d(g(1, 3, 8, 8), t(4, 3, 3, 3)), "conv2d: inputs are on different devices … on cuda"),
        (lambda: g(2, 3) @ t(3, 2), "matmul: inputs are on different devices … on cuda"),
    ],
    ids=["add", "conv2d", "matmul"],
)
def test_ops_mixing_cpu_and_cuda(call, fragments):
    check(call, RuntimeError, fragments)


def test_a_rejected_call_records_nothing_and_a_rejected_setter_changes_nothing():
    gc.collect()  # graphs kept alive by earlier tests' tracebacks
    before = tape.tape_length()
    with pytest.raises(RuntimeError):
        t(2, 3) @ t(4, 5)
    with pytest.raises(RuntimeError):
        F.conv2d(t(1, 3, 8, 8), t(4, 2, 3, 3))
    gc.collect()
    assert tape.tape_length() == before
    integers = tn.Tensor([1, 2])
    with pytest.raises(TypeError):
        integers.requires_grad = True
    assert integers.requires_grad is False
