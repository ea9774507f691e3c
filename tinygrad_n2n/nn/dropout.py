"""Dropout layers with torch.nn's signatures: active in training mode, the identity in eval mode.

Masks are drawn as torch's CPU kernels draw them, so the same seed zeroes the same elements (Dropout) or
the same whole channels (Dropout1d/2d/3d); kept values are scaled by 1/(1-p). `inplace` is accepted for
compatibility and shown in the repr; the result is always a new tensor.
"""

from __future__ import annotations

from .._tensor import Tensor
from . import functional as F
from .module import Module


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability p and scale the rest by 1/(1-p) in training mode. Any shape."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Zero whole channels with probability p in training mode. x: (N, C, L) or (C, L) -> same shape."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero whole channels with probability p in training mode. x: (N, C, H, W) or (C, H, W) -> same shape."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Zero whole channels with probability p in training mode. x: (N, C, D, H, W) or (C, D, H, W) -> same."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout3d(input, self.p, self.training, self.inplace)
