"""`Parameter`: the leaf tensor that a Module registers when it is assigned to one of its attributes."""

from __future__ import annotations

from typing import Any

import torch

from .._tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires a gradient; assigning one to a Module attribute registers it.

    data: a torch tensor (shared, detached), NumPy array, engine tensor or nested list; any shape. As in torch,
    a torch tensor that requires a gradient (a `torch.nn.Parameter`, say) is accepted: making a Parameter is
    the explicit construction of a new leaf, so its data is taken detached.
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = torch.empty(0)
        elif isinstance(data, torch.Tensor):
            data = data.detach()
        super().__init__(data, requires_grad=requires_grad)

    def __deepcopy__(self, memo: dict) -> Parameter:
        """A Parameter holding a clone of the data, with the same flag and no gradient, as torch."""
        new = type(self)(self.data.clone(memory_format=torch.preserve_format), self.requires_grad)
        memo[id(self)] = new
        return new

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
