"""`Parameter`: the leaf tensor that a Module registers when it is assigned to one of its attributes."""

from __future__ import annotations

from typing import Any

import torch

from .._tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires a gradient; assigning one to a Module attribute registers it.

    data: a torch tensor (shared, detached), NumPy array, engine tensor or nested list; any shape.
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        super().__init__(torch.empty(0) if data is None else data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
