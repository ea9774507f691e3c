"""Channel-wise dropout (dropout1d, dropout2d, dropout3d): whole feature maps are zeroed with probability p and
the rest scaled by 1 / (1 - p), drawing the same random numbers as torch (one Bernoulli per (N, C) entry)."""

from __future__ import annotations

import warnings
from typing import Any

import torch

from .._checks import as_tensor
from .._tensor import Tensor


def feature_dropout(name: str, x: Tensor, p: float, training: bool) -> Tensor:
    """x · mask, mask (N, C, 1, ..) ~ Bernoulli(1 - p) / (1 - p): torch's `feature_dropout` (p checked)."""
    if x.ndim < 2:
        raise RuntimeError(f"{name}: Feature dropout requires at least 2 dimensions in the input, got {tuple(x.shape)}")
    if p == 0 or not training or x.numel() == 0:
        return x
    if p == 1:
        return x * 0.0
    noise = torch.empty(*x.shape[:2], *[1] * (x.ndim - 2), dtype=x.dtype, device=x.device)
    return x * Tensor(noise.bernoulli_(1 - p).div_(1 - p))


def _input(name: str, input: Any, p: float) -> Tensor:
    """The input as an engine tensor, after torch's first check: p is a probability."""
    if not 0 <= p <= 1:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")
    return as_tensor(input)


def _unbatched(name: str, x: Tensor, p: float, training: bool) -> Tensor:
    """Dropout of one sample (C, ..): the channels are its feature maps."""
    return feature_dropout(name, x.unsqueeze(0), p, training).squeeze(0)


def dropout1d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels. x: (N, C, L) or (C, L), same shape out. `inplace` is accepted; results are new."""
    x = _input("dropout1d", input, p)
    if x.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {x.ndim}D input. Note that dropout1d exists to "
            "provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, and an "
            "optional batch dimension (i.e. 2D or 3D inputs)."
        )
    return feature_dropout("dropout1d", x, p, training) if x.ndim == 3 else _unbatched("dropout1d", x, p, training)


def dropout2d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels. x: (N, C, H, W), same shape out; a 3-D input is taken as (N, C, L) with torch's
    warning (torch's historical behaviour). `inplace` is accepted; results are new."""
    x = _input("dropout2d", input, p)
    if x.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {x.ndim}-D input to dropout2d, which is deprecated and will result in an error "
            "in a future release. To retain the behavior and silence this warning, please use dropout instead. "
            "Note that dropout2d exists to provide channel-wise dropout on inputs with 2 spatial dimensions, a "
            "channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2,
        )
    if x.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is "
            "desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior will "
            "change in a future release to interpret the input as one without a batch dimension, i.e. shape "
            "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    return feature_dropout("dropout2d", x, p, training)


def dropout3d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels. x: (N, C, D, H, W) or (C, D, H, W) (any other ndim: torch's warning, then taken as
    unbatched), same shape out. `inplace` is accepted; results are new."""
    x = _input("dropout3d", input, p)
    if x.ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {x.ndim}-D input to dropout3d, which is deprecated and will result in an error "
            "in a future release. To retain the behavior and silence this warning, please use dropout instead. "
            "Note that dropout3d exists to provide channel-wise dropout on inputs with 3 spatial dimensions, a "
            "channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).",
            stacklevel=2,
        )
    return feature_dropout("dropout3d", x, p, training) if x.ndim == 5 else _unbatched("dropout3d", x, p, training)
