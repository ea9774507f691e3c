"""`Function` (the base of every primitive op) and `Context` (what one recorded op keeps for its backward).

A primitive defines two static methods side by side::

    class ReLU(Function):
        '''y = max(x, 0); dy/dx = [x > 0]'''
        @staticmethod
        def forward(ctx, x):            # raw torch tensors in, a raw torch tensor out
            ctx.save_for_backward(x)
            return x.clamp(min=0)
        @staticmethod
        def backward(ctx, grad_out):    # one gradient per forward input (None where there is none)
            (x,) = ctx.saved_tensors
            return grad_out * (x > 0)

`Function.apply(*inputs, **attrs)` unwraps engine tensors, runs `forward` with a fresh `Context`, wraps the
result, and records an entry on the tape only when recording is on and some input requires a gradient.
An op declares in `label_attributes` which of its ctx attributes (stride, padding, ...) describe it on graph
labels; everything else it keeps on the ctx is backward bookkeeping. Un-broadcasting and gradient shape
checks live in the tape's backward walk, with the op's name in any error.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import torch

from .. import _tensor, tape

_new_object = object.__new__
_thread_state = tape._state
_grad_mode = torch.is_grad_enabled  # torch's grad mode is the recording switch (read, never used for autograd)


# One shared tuple per common pattern of needs_input_grad: a recorded op keeps it instead of a fresh tuple.
_SHARED_NEEDS = tape.shared_tuples((False, True), 4)


def _describe(value: Any) -> str:
    if isinstance(value, _tensor.Tensor):
        value = value.data
    if isinstance(value, torch.Tensor):
        return f"{tuple(value.shape)} {str(value.dtype).removeprefix('torch.')} on {value.device}"
    return repr(value)


class Context(tape.Entry):
    """The state one op application keeps for its backward (as torch's `FunctionCtx`); when the op is
    recorded, the context becomes its tape entry (`tape.Entry`).

    saved_tensors: the raw tensors passed to `save_for_backward` (freed by the tape after backward).
    saved_versions: their version counters (torch's `_version`, bumped by every in-place kernel) when the op
    was recorded; the tape refuses to run `backward` if one changed since.
    needs_input_grad: one bool per forward input, set when the op is recorded.
    Any other attribute is the op's own: its arguments (stride, dim) and backward bookkeeping (shapes).
    """

    def save_for_backward(self, *tensors: torch.Tensor | None) -> None:
        """Keep raw tensors (or None, numbers, indices) that `backward` needs; when the op is recorded, the tape
        also keeps their versions, and refuses to run `backward` if one changed since."""
        self.saved_tensors = tensors


class Function:
    """Base class of primitive ops: `forward(ctx, ...)` and `backward(ctx, grad_out)`, both static."""

    label_attributes: ClassVar[tuple[str, ...]] = ()  # ctx attributes that describe the op on graph labels

    @classmethod
    def op_name(cls) -> str:
        """snake_case name of the op (`MaxPool2d` -> `max_pool2d`), used in labels and errors."""
        name = cls.__name__.replace("ReLU", "Relu")  # acronyms read as one word: relu, leaky_relu
        return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()

    @classmethod
    def labels(cls, ctx: Context) -> dict[str, Any]:
        """The declared attributes of one application of the op, name -> value (for graph labels)."""
        return {name: getattr(ctx, name, None) for name in cls.label_attributes}

    @staticmethod
    def forward(ctx: Context, *args: Any, **attrs: Any) -> torch.Tensor:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad_out: torch.Tensor) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **attrs: Any) -> _tensor.Tensor:
        """Run the op on engine tensors (or numbers) and record it when a gradient is needed."""
        # This runs for every op: one pass over the inputs, one thread-local lookup, the result built in place.
        tensor_type = _tensor.Tensor
        raw, needs = [], []
        for x in inputs:
            if isinstance(x, tensor_type):
                raw.append(x.data)
                needs.append(x._requires_grad)
            else:
                raw.append(x)
                needs.append(False)
        ctx = Context()
        log = _thread_state.log
        recording = True in needs and log.enabled and _grad_mode()
        if recording:
            needs = tuple(needs)
            ctx.needs_input_grad = _SHARED_NEEDS.get(needs, needs)
        try:
            out = cls.forward(ctx, *raw, **attrs)
        except RuntimeError as error:
            raise cls._explain(error, raw) from error
        result = _new_object(tensor_type)  # Tensor._make inlined: calling it costs 1.5% of the tape row's instructions
        result.data = out
        result.gradient = None
        result._retains_grad = False
        if recording:
            result._requires_grad = True
            result._entry = tape.record(cls, ctx, inputs, result, log)
        else:
            result._requires_grad = False
            result._entry = None
        return result

    @classmethod
    def _explain(cls, error: RuntimeError, raw: list) -> RuntimeError:
        """Turn a torch error raised inside `forward` into one naming this op and its inputs."""
        tensors = [x for x in raw if isinstance(x, torch.Tensor)]
        described = ", ".join(_describe(x) for x in raw if x is not None)
        devices = {x.device for x in tensors}
        if len(devices) > 1:
            return RuntimeError(
                f"{cls.op_name()}: inputs are on different devices ({described}); move them to one device "
                "with .to(device) first"
            )
        if "must match the size of tensor" in str(error):
            shapes = " and ".join(str(tuple(x.shape)) for x in tensors)
            return RuntimeError(f"{cls.op_name()}: shapes {shapes} do not broadcast together ({error})")
        return RuntimeError(f"{cls.op_name()}: {error} (inputs: {described})")
