"""1-D pooling and adaptive pooling, as torch.nn.functional names them.

Max pools take torch's own window arg-max (its kernel's `return_indices`, run on the raw input, so ties and
NaNs pick what torch picks) and gather the values through `ops.reduce.Gather`, whose backward adds each
gradient back at its index. Average pools are linear maps: avg_pool1d is the engine's avg_pool2d on an
(N, C, 1, L) view (rescaled where ceil_mode adds a partial window); adaptive average pooling multiplies each
axis by its averaging matrix A (out, in), A[o, i] = [start_o ≤ i < end_o] / (end_o - start_o).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as torch_F

from .. import functional as engine
from .._checks import as_tensor
from .._tensor import Tensor
from ..ops.reduce import Gather
from ._torch_errors import check_dims, run_torch, single

IntOrTuple = int | tuple[int, ...]
OutputSize = int | None | tuple[int | None, ...]


def take_by_index(x: Tensor, indices: torch.Tensor, plane_dims: int) -> Tensor:
    """x at the flat positions `indices` of its last `plane_dims` dims, shaped as `indices` (a gather).

    x: (*lead, *plane); indices: (*lead, *out), int64 positions into the flattened plane -> (*lead, *out).
    """
    lead = x.ndim - plane_dims
    flat = x.reshape(*x.shape[:lead], math.prod(x.shape[lead:]))
    index = indices.reshape(*indices.shape[:lead], math.prod(indices.shape[lead:]))
    return Gather.apply(flat, index, dim=lead).reshape(*indices.shape)


def max_pool_by_index(name: str, torch_fn: Any, x: Any, plane_dims: int, return_indices: bool, *args: Any) -> Any:
    """Max pooling through torch's own kernel on the raw input: its arg-max positions (`torch_fn(x, *args,
    return_indices=True)`) gathered from x (*lead, *plane) -> values, or (values, int64 indices)."""
    x = as_tensor(x)
    _, indices = run_torch(name, torch_fn, x.data, *args, return_indices=True)
    try:
        values = take_by_index(x, indices, plane_dims)
    except RuntimeError as error:  # torch's kernel points outside the input for a window of padding only
        raise RuntimeError(
            f"{name}: a pooling window of the input {tuple(x.shape)} lies entirely in the padding (torch gives -inf "
            f"and an index outside the input there); use less padding or dilation ({error})"
        ) from error
    return (values, Tensor(indices)) if return_indices else values


def max_pool1d(
    input: Any,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over sliding windows of the last dim. x: (N, C, L) or (C, L) -> (N, C, L_out), with the int64
    positions in L of the maxima when return_indices."""
    args = (kernel_size, stride, padding, dilation, ceil_mode)
    return max_pool_by_index("max_pool1d", torch_F.max_pool1d, input, 1, return_indices, *args)


def adaptive_max_pool1d(input: Any, output_size: OutputSize, return_indices: bool = False) -> Any:
    """Max over L_out windows that tile the last dim. x: (N, C, L) or (C, L) -> (N, C, L_out) [, indices]."""
    return max_pool_by_index("adaptive_max_pool1d", torch_F.adaptive_max_pool1d, input, 1, return_indices, output_size)


def adaptive_max_pool2d(input: Any, output_size: OutputSize, return_indices: bool = False) -> Any:
    """Max over H_out×W_out windows that tile the plane. x: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out),
    with the int64 positions in the flattened H·W plane when return_indices."""
    return max_pool_by_index("adaptive_max_pool2d", torch_F.adaptive_max_pool2d, input, 2, return_indices, output_size)


def averaging_matrix(in_size: int, out_size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A (out, in): row o averages torch's adaptive window [⌊o·in/out⌋, ⌈(o+1)·in/out⌉)."""
    row = torch.arange(out_size, device=device)
    start = (row * in_size) // out_size
    end = ((row + 1) * in_size + out_size - 1) // out_size
    column = torch.arange(in_size, device=device)
    inside = (column >= start[:, None]) & (column < end[:, None])
    return inside.to(dtype) / (end - start).to(dtype)[:, None]


def adaptive_avg_pool(name: str, x: Tensor, out_sizes: tuple[int, ...]) -> Tensor:
    """Average over the adaptive windows of the last len(out_sizes) dims: y = x ×_k A_k along each of them.

    The dims after the batch must be non-empty (torch's RuntimeError); x: (N, C, *in) or (C, *in).
    """
    batch_dims = x.ndim - len(out_sizes) - 1
    if 0 in x.shape[batch_dims:]:
        raise RuntimeError(
            f"{name}: Expected input to have non-zero size for non-batch dimensions, but input has sizes "
            f"{list(x.shape)}"
        )
    if min(out_sizes) < 0:
        raise RuntimeError(
            f"{name}: elements of output_size must be greater than or equal to 0 but received {out_sizes}"
        )
    for k, out_size in enumerate(out_sizes):
        dim = x.ndim - len(out_sizes) + k
        matrix = averaging_matrix(x.shape[dim], out_size, x.dtype, x.device)
        if dim == x.ndim - 1:
            x = x @ Tensor(matrix.T)
        elif dim == x.ndim - 2:
            x = Tensor(matrix) @ x
        else:
            x = (x.transpose(dim, -1) @ Tensor(matrix.T)).transpose(dim, -1)
    return x


def adaptive_avg_pool1d(input: Any, output_size: IntOrTuple) -> Tensor:
    """Mean over L_out windows that tile the last dim. x: (N, C, L) or (C, L) -> (N, C, L_out)."""
    x = as_tensor(input)
    size = single("adaptive_avg_pool1d", "output_size", output_size)
    check_dims("adaptive_avg_pool1d", x, (2, 3))
    return adaptive_avg_pool("adaptive_avg_pool1d", x, (size,))


def adaptive_avg_pool2d(input: Any, output_size: OutputSize) -> Tensor:
    """Mean over H_out×W_out windows that tile the plane (None keeps a size).
    x: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out)."""
    name, x = "adaptive_avg_pool2d", as_tensor(input)
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(sizes) != 2:
        raise RuntimeError(f"{name}: output_size must be 2, got {output_size!r}")
    if x.ndim not in (3, 4):
        raise RuntimeError(f"{name}: Expected 3D or 4D tensor, but got {list(x.shape)}")
    sizes = tuple(x.shape[-2 + k] if n is None else n for k, n in enumerate(sizes))
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in sizes):
        raise TypeError(f"{name}: output_size must be an int, None or a pair of them, got {output_size!r}")
    return adaptive_avg_pool(name, x, sizes)


def pooled_size(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool) -> int:
    """torch's `pooling_output_shape`: windows from the left edge of the padding; with ceil_mode a last partial
    window too, unless it would start past the input and its left padding."""
    out = (size + 2 * padding - kernel + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def avg_pool1d(
    input: Any,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean over sliding windows of the last dim. x: (N, C, L) or (C, L) -> (N, C, L_out).

    A window reaching into the padding divides by its size up to the padded end (count_include_pad) or by the
    input elements it covers; a last window that ceil_mode adds past the padding counts only what it covers.
    """
    name, x = "avg_pool1d", as_tensor(input)
    kernel = single(name, "kernel_size", kernel_size)
    stride = kernel if stride is None or stride == [] else single(name, "stride", stride)
    padding = single(name, "padding", padding)
    check_dims(name, x, (2, 3))
    if kernel <= 0 or stride <= 0:
        raise RuntimeError(f"{name}: kernel_size and stride must be greater than zero, got {kernel} and {stride}")
    if padding < 0 or 2 * padding > kernel:
        raise RuntimeError(
            f"{name}: pad should be non-negative and at most half of effective kernel size, but got pad={padding}, "
            f"kernel_size={kernel} and dilation=1"
        )
    out_size = pooled_size(x.shape[-1], kernel, stride, padding, ceil_mode)
    if 0 in x.shape[-2:] or out_size < 1:
        raise RuntimeError(
            f"{name}: Given input size: {tuple(x.shape)}. Calculated output size: {out_size}. Output size is too "
            "small (or the input has no channels)"
        )
    rows = x.unsqueeze(-2)  # (N, C, 1, L) or (C, 1, L)
    batched = rows.ndim == 4
    rows = rows if batched else rows.unsqueeze(0)
    pooled = engine.avg_pool2d(rows, (1, kernel), (1, stride), (0, padding), ceil_mode, count_include_pad).squeeze(-2)
    return pooled if batched else pooled.squeeze(0)


def avg_pool2d_divided(
    x: Tensor, kernel: tuple, stride: tuple, padding: tuple, ceil_mode: bool, count_include_pad: bool, divisor
) -> Tensor:
    """avg_pool2d where torch's divisor is not the engine op's: ceil_mode's last windows running past the padding,
    or a `divisor` (divisor_override). x (N, C, H, W), validated pairs -> (N, C, H_out, W_out).

    Each window is summed on the input zero-padded far enough for every window, then divided by `divisor` or by
    torch's count: the window clipped to the padded input (count_include_pad), or to the input itself.
    """
    sizes = x.shape[2:]
    outs = [pooled_size(sizes[i], kernel[i], stride[i], padding[i], ceil_mode) for i in (0, 1)]
    extra = [max(0, (outs[i] - 1) * stride[i] + kernel[i] - (sizes[i] + 2 * padding[i])) for i in (0, 1)]
    padded = engine.pad(x, (padding[1], padding[1] + extra[1], padding[0], padding[0] + extra[0]))
    sums = engine.avg_pool2d(padded, kernel, stride) * float(kernel[0] * kernel[1])
    if divisor is not None:
        return sums / divisor
    counts = []
    for size, out, k, s, p in zip(sizes, outs, kernel, stride, padding):
        start = torch.arange(out, device=x.device) * s - p
        end = (start + k).clamp(max=size + p)
        counts.append(end - start if count_include_pad else end.clamp(max=size) - start.clamp(min=0))
    return sums / Tensor((counts[0][:, None] * counts[1][None, :]).to(x.dtype))
