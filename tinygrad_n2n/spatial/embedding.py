"""embedding (a lookup table with torch's padding_idx and scale_grad_by_freq) and one_hot."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as torch_F

from .._checks import as_tensor, check_devices
from .._tensor import Tensor
from ..ops.embedding import Embedding
from ._torch_errors import named, run_torch


def embedding(
    input: Any,
    weight: Any,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of `weight` at the indices. input: int64/int32 of any shape; weight: (num_embeddings, D)
    -> (*input.shape, D).

    The row at padding_idx (negative counts from the end) gets no gradient; scale_grad_by_freq divides each
    row's gradient by how often it was picked. max_norm (renormalising rows in place) and sparse gradients are
    not supported (NotImplementedError).
    """
    name, indices, weight = "embedding", as_tensor(input), as_tensor(weight)
    rows = weight.shape[0] if weight.ndim else 0
    if padding_idx is not None and not -rows <= padding_idx < max(rows, 1):
        raise AssertionError(f"{name}: Padding_idx must be within num_embeddings: got {padding_idx} for {rows} rows")
    if max_norm is not None or sparse:
        what = f"max_norm={max_norm!r} (renormalising rows in place)" if max_norm is not None else "sparse=True"
        raise NotImplementedError(
            f"{name}: {what} is not supported by the engine; use max_norm=None and sparse=False (dense gradients)"
        )
    if weight.ndim != 2:
        raise RuntimeError(f"{name}: 'weight' must be 2-D, got shape {tuple(weight.shape)}")
    if indices.dtype not in (torch.int64, torch.int32):
        raise RuntimeError(
            f"{name}: Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; "
            f"but got {indices.dtype} instead"
        )
    check_devices(name, indices, weight)
    padding_idx = -1 if padding_idx is None else padding_idx + rows if padding_idx < 0 else padding_idx
    return Embedding.apply(indices, weight, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq)


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding. tensor: int64 class indices of any shape -> (*shape, num_classes). No gradient.

    With num_classes given it is a scatter on the device (a class outside [0, num_classes) is torch's
    RuntimeError on the CPU, a device-side error on a GPU); num_classes=-1 takes max + 1 classes, which reads
    the maximum on the host, as torch does.
    """
    indices = as_tensor(tensor).data
    if num_classes <= 0 or indices.dtype != torch.int64:  # torch's own checks and messages
        return Tensor(run_torch("one_hot", torch_F.one_hot, indices, num_classes))
    out = torch.zeros(*indices.shape, num_classes, dtype=torch.int64, device=indices.device)
    try:
        return Tensor(out.scatter_(-1, indices.unsqueeze(-1), 1))
    except RuntimeError as error:
        message = f"{error}: class values must lie in [0, {num_classes})"
        raise named("one_hot", RuntimeError(message), indices) from error
