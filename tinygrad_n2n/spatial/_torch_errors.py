"""torch is the spec for errors: `run_torch` runs one of torch's own functions on raw tensors and re-raises its
errors, of torch's type, under the engine op's name. The spatial ops check their other arguments by hand,
in torch's order and words (checking on torch's `meta` device would import sympy and half of torch on the
first call: seconds)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def named(op: str, error: Exception, *tensors: Any) -> Exception:
    """`error` as the same exception type, its message prefixed with `op: ` and followed by the input shapes."""
    shapes = ", ".join(str(tuple(t.shape)) for t in tensors if isinstance(t, torch.Tensor))
    message = f"{op}: {error}" + (f" (input shapes: {shapes})" if shapes else "")
    try:
        return type(error)(message)
    except TypeError:  # an exception type that does not take a single message
        return RuntimeError(message)


def run_torch(op: str, torch_fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """`torch_fn(*args, **kwargs)` on raw tensors (never engine ones: nothing is recorded), with its errors named."""
    try:
        return torch_fn(*args, **kwargs)
    except Exception as error:  # whatever torch raises is the spec: same type, the op's name in front
        raise named(op, error, *args) from error


def single(op: str, arg: str, value: Any) -> int:
    """An int-or-1-tuple argument of a 1-d op as its int, as torch's `_single` (RuntimeError otherwise)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise RuntimeError(f"{op}() argument '{arg}' should contain one int (got {len(value)})")
        value = value[0]
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{op}(): argument '{arg}' must be an int or a tuple of one int, got {value!r}")
    return value


def check_dims(op: str, x: Any, allowed: tuple[int, ...]) -> None:
    """torch's RuntimeError for an input whose number of dims the op does not take."""
    if x.ndim not in allowed:
        raise RuntimeError(
            f"{op}: Expected {allowed[0]} to {allowed[-1]} dimensions, but got {x.ndim}-dimensional tensor of shape "
            f"{tuple(x.shape)} for argument #1 'input'"
        )
