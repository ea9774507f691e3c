"""State dicts: a module's parameters and persistent buffers by dotted name, and loading one back with every
problem found first and reported in one error."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch

from .._tensor import Tensor

if TYPE_CHECKING:
    from .module import Module


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def named_state(module: Module, prefix: str = "") -> OrderedDict[str, tuple[Module, str, Any]]:
    """`prefix` + dotted name -> (owning module, local name, Parameter or buffer), in torch's state-dict order:
    each module's parameters, then its persistent buffers, then its children's; a shared child under each name."""
    state: OrderedDict[str, tuple[Module, str, Any]] = OrderedDict()
    for module_name, owner in module.named_modules(remove_duplicate=False):
        base = prefix + (f"{module_name}." if module_name else "")
        for name, value in owner._parameters.items():
            if value is not None:
                state[base + name] = (owner, name, value)
        for name, value in owner._buffers.items():
            if value is not None and name not in owner._non_persistent_buffers_set:
                state[base + name] = (owner, name, value)
    return state


def versions(module: Module, prefix: str = "") -> OrderedDict[str, dict[str, int]]:
    """torch's `state_dict()._metadata`: the state-dict layout version of each module, by its dotted name."""
    return OrderedDict(
        (prefix + name if name else prefix.removesuffix("."), {"version": owner._version})
        for name, owner in module.named_modules(remove_duplicate=False)
    )


def load(module: Module, state_dict: Mapping[str, Any], strict: bool, assign: bool) -> IncompatibleKeys:
    """`Module.load_state_dict`: check everything, then copy (or, with `assign`, hand over) each value."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"load_state_dict: expected a dict of tensors, got {type(state_dict).__name__}")
    state = dict(state_dict)
    metadata = getattr(state_dict, "_metadata", None) or {}
    for name, owner in module.named_modules(remove_duplicate=False):
        version = metadata.get(name, {}).get("version")
        for key, default in owner._state_defaults(version).items():  # entries older checkpoints lack
            state.setdefault(f"{name}.{key}" if name else key, default)
    own = named_state(module)
    values, missing, unexpected = match_state_dict(
        {key: entry[2] for key, entry in own.items()}, state, strict, type(module).__name__
    )
    for key, value in values.items():
        owner, name, current = own[key]
        if isinstance(current, Tensor):  # a Parameter (or an engine-tensor buffer) keeps its identity
            current.data = value if assign else current.data.copy_(value)
        elif assign:
            owner._buffers[name] = value
        else:
            current.copy_(value)
    return IncompatibleKeys(missing, unexpected)


def match_state_dict(
    own: Mapping[str, Any], state_dict: Mapping[str, Any], strict: bool, owner: str
) -> tuple[dict[str, torch.Tensor], list[str], list[str]]:
    """Check `state_dict` (engine tensors, torch tensors or NumPy arrays) against the module's tensors `own`.

    Returns (key -> detached torch tensor to copy, missing keys, unexpected keys), or raises one RuntimeError
    listing every missing key and unexpected key (when `strict`), every non-tensor value and every shape
    mismatch (always), in the model's key order.
    """
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
            plain = isinstance(value, torch.Tensor) and not value.requires_grad
            values[key] = value if plain else torch.as_tensor(value).detach()  # no torch autograd dragged in
    if problems:
        raise RuntimeError(f"Error(s) in loading state_dict for {owner}:\n  " + "\n  ".join(problems))
    return values, missing, unexpected
