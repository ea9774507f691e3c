"""Matching a state dict against a module's parameters: every problem found first, reported in one error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import torch

from .._tensor import Tensor


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def match_state_dict(
    own: Mapping[str, Tensor], state_dict: Mapping[str, Any], strict: bool, owner: str
) -> tuple[dict[str, torch.Tensor], list[str], list[str]]:
    """Check `state_dict` (engine tensors, torch tensors or NumPy arrays) against the parameters `own`.

    Returns (key -> detached torch tensor to copy, missing keys, unexpected keys), or raises one RuntimeError
    listing every missing key and unexpected key (when `strict`), every non-tensor value and every shape
    mismatch (always), in the model's key order.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"load_state_dict: expected a dict of tensors, got {type(state_dict).__name__}")
    missing = [key for key in own if key not in state_dict]
    unexpected = [key for key in state_dict if key not in own]
    problems = []
    if strict and missing:
        problems.append("missing keys: " + ", ".join(missing))
    if strict and unexpected:
        problems.append("unexpected keys: " + ", ".join(unexpected))
    values = {}
    for key in (key for key in own if key in state_dict):
        value = state_dict[key]
        value = value.data if isinstance(value, Tensor) else value
        if not isinstance(value, (torch.Tensor, np.ndarray)):
            problems.append(f"'{key}' holds a {type(value).__name__}, not a tensor")
        elif tuple(value.shape) != tuple(own[key].shape):
            problems.append(
                f"shape mismatch for '{key}': the model has {tuple(own[key].shape)}, "
                f"the state dict has {tuple(value.shape)}"
            )
        else:
            values[key] = torch.as_tensor(value).detach()  # a torch Parameter must not drag autograd in
    if problems:
        raise RuntimeError(f"Error(s) in loading state_dict for {owner}:\n  " + "\n  ".join(problems))
    return values, missing, unexpected
