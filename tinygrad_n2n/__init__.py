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


def tensor(data: Any, dtype: torch.dtype | None = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf holding a copy of `data` (a number, nested list, NumPy array, torch or engine tensor), as
    torch.tensor: never shares memory, and a tensor argument is copied detached (with torch's warning)."""
    return Tensor(torch.tensor(_raw(data), dtype=dtype, device=device), requires_grad=requires_grad)


def as_tensor(data: Any, dtype: torch.dtype | None = None, device: Any = None) -> Tensor:
    """`data` as an engine tensor sharing its memory where it can, as torch.as_tensor: an engine tensor already
    of that dtype and device comes back as itself (otherwise `data.to(...)`, recorded); a torch tensor or NumPy
    array is wrapped without a copy where no conversion is needed."""
    if isinstance(data, Tensor):
        wanted = data.device if device is None else torch.device(device)
        same_device = wanted.type == data.device.type and wanted.index in (None, data.device.index)
        return data if same_device and dtype in (None, data.dtype) else data.to(device=device, dtype=dtype)
    return Tensor(torch.as_tensor(_raw(data), dtype=dtype, device=device))


def from_numpy(array: Any) -> Tensor:
    """An engine tensor sharing the NumPy array's memory (writes show in both), as torch.from_numpy."""
    return Tensor(torch.from_numpy(array))


def _raw(data: Any) -> Any:
    """`data` with engine tensors (also inside lists and tuples) replaced by their raw torch tensors."""
    if isinstance(data, Tensor):
        return data.data
    if isinstance(data, (list, tuple)):
        return [_raw(item) for item in data]
    return data


__all__ = [
    "GradcheckError",
    "Tensor",
    "arange",
    "as_tensor",
    "cat",
    "enable_grad",
    "eye",
    "from_numpy",
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
    "tensor",
    "zeros",
]
