"""tinygrad_n2n: a tape-based autograd engine on PyTorch tensors (never torch.autograd)."""

from __future__ import annotations

from typing import Any

import torch

from . import functional, nn, optim
from ._tensor import Tensor
from .gradcheck import GradcheckError, gradcheck
from .ops.movement import Cat, Stack
from .serialization import load, save
from .tape import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled


def cat(tensors: list[Any], dim: int = 0) -> Tensor:
    """Concatenate along `dim`; tensors agree in every other dim."""
    return Cat.apply(*[t if isinstance(t, Tensor) else Tensor(t) for t in tensors], dim=dim)


def stack(tensors: list[Any], dim: int = 0) -> Tensor:
    """Stack equally-shaped tensors along a new dim `dim`."""
    return Stack.apply(*[t if isinstance(t, Tensor) else Tensor(t) for t in tensors], dim=dim)


def _factory(torch_fn):
    def create(*args: Any, requires_grad: bool = False, **kwargs: Any) -> Tensor:
        return Tensor(torch_fn(*args, **kwargs), requires_grad=requires_grad)

    create.__name__ = torch_fn.__name__
    create.__doc__ = f"`torch.{torch_fn.__name__}` wrapped as an engine tensor (accepts requires_grad=)."
    return create


zeros, ones, full, randn, rand, arange, eye = map(
    _factory, (torch.zeros, torch.ones, torch.full, torch.randn, torch.rand, torch.arange, torch.eye)
)

__all__ = [
    "GradcheckError",
    "Tensor",
    "arange",
    "cat",
    "enable_grad",
    "eye",
    "full",
    "functional",
    "gradcheck",
    "inference_mode",
    "is_grad_enabled",
    "load",
    "nn",
    "no_grad",
    "ones",
    "optim",
    "rand",
    "randn",
    "save",
    "set_grad_enabled",
    "stack",
    "zeros",
]
