"""tinygrad_n2n: a tape-based autograd engine on PyTorch tensors (never torch.autograd)."""

from __future__ import annotations

from typing import Any

import torch

from . import autograd, functional, nn, optim, utils
from ._tensor import Tensor
from .creation import (
    arange,
    empty,
    empty_like,
    eye,
    full,
    full_like,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    zeros,
    zeros_like,
)
from .gradcheck import GradcheckError, gradcheck
from .serialization import load, save
from .tape import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .tensor_functions import (
    bmm,
    cat,
    chunk,
    clamp,
    einsum,
    exp,
    flatten,
    log,
    matmul,
    maximum,
    meshgrid,
    minimum,
    outer,
    sigmoid,
    softmax,
    split,
    sqrt,
    stack,
    tanh,
    tril,
    triu,
    where,
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
    "autograd",
    "bmm",
    "cat",
    "chunk",
    "clamp",
    "einsum",
    "empty",
    "empty_like",
    "enable_grad",
    "exp",
    "eye",
    "flatten",
    "from_numpy",
    "full",
    "full_like",
    "functional",
    "gradcheck",
    "inference_mode",
    "is_grad_enabled",
    "linspace",
    "load",
    "log",
    "manual_seed",
    "matmul",
    "maximum",
    "meshgrid",
    "minimum",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "outer",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "save",
    "set_grad_enabled",
    "sigmoid",
    "softmax",
    "split",
    "sqrt",
    "stack",
    "tanh",
    "tensor",
    "tril",
    "triu",
    "utils",
    "where",
    "zeros",
    "zeros_like",
]
