"""`tinygrad_n2n.autograd`: torch.autograd's functional API on the engine's tape (never torch.autograd itself).

- `grad(outputs, inputs, ...)` returns d(outputs)/d(inputs) and leaves every `.gradient` untouched; inputs
  may be leaves or recorded results.
- `backward(tensors, grad_tensors, ...)` accumulates into `.gradient`, as `Tensor.backward` for several roots.
- `detect_anomaly` / `set_detect_anomaly` are torch's own switches: the tape reads torch's flag, so either
  spelling turns the engine's anomaly mode on. Then every recorded op keeps the Python stack of its forward
  call, and (with check_nan) an op whose forward output or backward gradient holds NaN or Inf raises a
  RuntimeError naming the op, its module path, the shapes and that stack. torch itself checks only backward
  NaNs; the engine also refuses Inf and non-finite forward outputs of recorded ops.

`create_graph=True` (higher-order gradients) is not supported yet and raises NotImplementedError.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from . import tape
from ._graph_hooks import CREATE_GRAPH_MESSAGE, targets_walk
from ._tensor import Tensor

detect_anomaly = torch.autograd.detect_anomaly  # context manager / decorator, detect_anomaly(check_nan=True)
set_detect_anomaly = torch.autograd.set_detect_anomaly  # set_detect_anomaly(mode, check_nan=True)
is_anomaly_enabled = torch.is_anomaly_enabled
is_anomaly_check_nan_enabled = torch.is_anomaly_check_nan_enabled

_Tensors = Tensor | Sequence[Tensor]


def _as_tuple(value: Any, what: str) -> tuple:
    if isinstance(value, (Tensor, torch.Tensor)):
        return (value,)
    if value is None:
        return ()
    try:
        return tuple(value)
    except TypeError:
        raise TypeError(f"'{type(value).__name__}' object is not iterable ({what})") from None


def _seeds(outputs: tuple, grad_outputs: Any, caller: str) -> list[torch.Tensor]:
    """One seed per output, with torch's checks: implicit ones only for one-element outputs, shapes must match."""
    given = _as_tuple(grad_outputs, "grad_outputs") if grad_outputs is not None else (None,) * len(outputs)
    if len(given) != len(outputs):
        raise RuntimeError(
            f"{caller}: got {len(outputs)} tensors and {len(given)} gradients; pass one gradient (or None) per tensor"
        )
    seeds = []
    for index, (output, seed) in enumerate(zip(outputs, given)):
        if not isinstance(output, Tensor):
            raise TypeError(f"{caller}: outputs must be engine Tensors, got {type(output).__name__} at index {index}")
        if not output.requires_grad:
            raise RuntimeError(f"element {index} of tensors does not require grad and does not have a grad_fn")
        if seed is None:
            if output.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            seeds.append(torch.ones_like(output.data))
            continue
        raw = seed.data if isinstance(seed, Tensor) else seed
        if not isinstance(raw, torch.Tensor):
            raise TypeError(f"{caller}: gradient {index} must be a tensor or None, got {type(seed).__name__}")
        if raw.shape != output.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{index}] has a shape of {raw.shape} and output[{index}] has a shape "
                f"of {output.shape}."
            )
        seeds.append(raw.to(device=output.device, dtype=output.dtype))
    return seeds


def grad(
    outputs: _Tensors,
    inputs: _Tensors,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[torch.Tensor | None, ...]:
    """The gradients of `outputs` (weighted by `grad_outputs`) with respect to each of `inputs`, as raw torch
    tensors shaped like the inputs; no `.gradient` changes (retain_grad tensors on the way still get theirs,
    as in torch). Only the part of the graph between outputs and inputs runs.

    allow_unused: an input the outputs do not depend on gives None (else a RuntimeError, as torch);
    materialize_grads: such an input gives zeros instead (implies allow_unused).
    """
    if create_graph:
        raise NotImplementedError(CREATE_GRAPH_MESSAGE)
    if is_grads_batched:
        raise NotImplementedError("grad: is_grads_batched=True is not supported by the engine")
    if materialize_grads and allow_unused is False:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True, but got: allow_unused=False."
        )
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    outputs = _as_tuple(outputs, "outputs")
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    results: list = [None] * len(inputs)
    walk = targets_walk(inputs, "grad", results)
    seeds = _seeds(outputs, grad_outputs, "grad")
    tape.run_backward(outputs, seeds, bool(retain_graph), walk)
    for index, (tensor, value) in enumerate(zip(inputs, results)):
        if value is not None:
            continue
        if materialize_grads:
            results[index] = torch.zeros_like(tensor.data)
        elif not allow_unused:
            raise RuntimeError(
                f"The differentiated Tensor at index {index} appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior."
            )
    return tuple(results)


def backward(
    tensors: _Tensors,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: _Tensors | None = None,
) -> None:
    """Accumulate the gradients of `tensors` (weighted by `grad_tensors`) into `.gradient` of the leaves (or
    only of `inputs`, leaves or not), as torch.autograd.backward."""
    if create_graph:
        raise NotImplementedError(CREATE_GRAPH_MESSAGE)
    tensors = _as_tuple(tensors, "tensors")
    walk = None if inputs is None else targets_walk(inputs, "backward", None)
    tape.run_backward(tensors, _seeds(tensors, grad_tensors, "backward"), bool(retain_graph), walk)


__all__ = [
    "backward",
    "detect_anomaly",
    "grad",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "set_detect_anomaly",
]
