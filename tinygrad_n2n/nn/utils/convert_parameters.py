"""parameters_to_vector and vector_to_parameters, with torch.nn.utils' names and semantics."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from ..._tensor import Tensor
from ...ops.movement import Cat


def _check_same_device(parameters: list[Tensor]) -> None:
    if len({p.data.device for p in parameters}) > 1:
        raise TypeError("Found two parameters on different devices, this is currently not supported.")


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated in order: (Σ numel,). Recorded on the tape like any op,
    so a loss computed from the vector sends gradients back to the parameters (as in torch)."""
    parameters = list(parameters)
    _check_same_device(parameters)
    return Cat.apply(*[param.reshape(-1) for param in parameters], dim=0)


def vector_to_parameters(vec: Tensor | torch.Tensor, parameters: Iterable[Tensor]) -> None:
    """Make each parameter's `.data` the next slice of `vec`, viewed in its shape (views share vec's memory).

    vec: (Σ numel,), an engine or torch tensor; as in torch, a longer vec leaves its tail unused.
    """
    if not isinstance(vec, (Tensor, torch.Tensor)):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    values = vec.data if isinstance(vec, Tensor) else vec.detach()
    parameters = list(parameters)
    _check_same_device(parameters)
    pointer = 0
    for param in parameters:
        count = param.numel()
        param.data = values[pointer : pointer + count].view_as(param.data)
        pointer += count
