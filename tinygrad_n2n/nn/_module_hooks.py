"""Module hooks with torch.nn's names and semantics: forward pre-hooks, forward hooks, full backward hooks.

- `register_forward_pre_hook(hook)`: `hook(module, args)` (or `hook(module, args, kwargs)` with_kwargs) runs
  before `forward`; a returned value replaces the positional args (a non-tuple is wrapped), or with_kwargs
  `(args, kwargs)` replaces both.
- `register_forward_hook(hook)`: `hook(module, args, output)` (or `(module, args, kwargs, output)`) runs after
  `forward`; a returned value replaces the output.
- `register_full_backward_hook(hook)`: `hook(module, grad_input, grad_output)` once the gradients of the
  module's tensor positional args (`grad_input`) are known; `grad_output` holds the gradients of its tensor
  outputs. A returned tuple replaces grad_input. As in torch, tensor args and outputs pass through identity
  entries (`BackwardHookIdentity`) whose gradients are the ones the hook sees.

Every register method returns torch's `RemovableHandle`; `prepend=True` puts the hook first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import torch
from torch.utils.hooks import RemovableHandle

from .. import _graph_hooks, tape
from .._tensor import Tensor
from ..ops.function import Context, Function

_NONE: MappingProxyType = MappingProxyType({})  # the class-level "no hooks": a module's own dict appears on first use


class BackwardHookIdentity(Function):
    """y = x; dy/dx = 1: where a module's full backward hooks read grad_input and grad_output."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        """The input itself."""
        return x

    @staticmethod
    def backward(ctx: Context, grad_out: torch.Tensor) -> torch.Tensor:
        """The output's gradient, unchanged."""
        return grad_out


class _Side:
    """The identity entries of one side (inputs or outputs) of one module call; the first one the backward
    walk reaches completes the side: every member's gradient is final by then (their consumers were all
    recorded after the members)."""

    def __init__(self, call: _BackwardHookCall, is_input: bool) -> None:
        self.call, self.is_input = call, is_input
        self.members: list[tape.Entry] = []
        self.visited: set = set()  # members still to be reached by the walk that completed this side

    def wrap(self, values: list, positions: list[int]) -> None:
        """Replace values[positions] (tensors) by identity results recorded as members."""
        for position in positions:
            tensor = values[position]
            ctx = Context()
            ctx.needs_input_grad = (tensor._requires_grad,)
            out = Tensor._make(tensor.data, True)
            out._entry = tape.record(BackwardHookIdentity, ctx, (tensor,), out)
            _graph_hooks.extras(out._entry).group = self
            self.members.append(out._entry)
            values[position] = out

    def complete(self, entry: tape.Entry, grad_out: torch.Tensor, pending: dict) -> torch.Tensor | None:
        """Called by the walk for each member; the first completes the side (and may replace gradients)."""
        if entry in self.visited:
            self.visited.discard(entry)
            return grad_out
        self.visited = {m for m in self.members if m is not entry and m in pending}
        grads = tuple(grad_out if m is entry else pending.get(m) for m in self.members)
        if not self.is_input:
            self.call.grad_outputs = grads
            if not self.call.inputs.members:  # no input needs a gradient: the hooks fire now, as torch
                self.call.fire((None,) * self.call.n_inputs)
            return grad_out
        by_member = dict(zip(self.members, grads))
        grad_input = tuple(  # as torch: zeros for args that need no gradient or got none
            torch.zeros_like(data) if by_member.get(member) is None else by_member[member]
            for member, data in self.call.input_slots
        )
        new = self.call.fire(grad_input)
        for (member, _), grad in zip(self.call.input_slots, new):
            if member is None:
                continue
            if member is entry:
                grad_out = grad
            elif grad is None:
                pending.pop(member, None)
            else:
                pending[member] = grad
        return grad_out


class _BackwardHookCall:
    """One call of a module that has full backward hooks."""

    def __init__(self, module: Any, hooks: list[Callable]) -> None:
        self.module, self.hooks = module, hooks
        self.inputs, self.outputs = _Side(self, True), _Side(self, False)
        self.n_inputs = 0
        self.input_slots: list[tuple[tape.Entry | None, torch.Tensor]] = []  # per tensor arg: member, data
        self.grad_outputs: tuple = ()

    def setup_inputs(self, args: tuple) -> tuple:
        """The args with each tensor that requires a gradient passed through an identity entry."""
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.n_inputs = len(positions)
        if not (tape.is_recording() and any(args[i]._requires_grad for i in positions)):
            return args
        values = list(args)
        wrapped = [i for i in positions if args[i]._requires_grad]
        self.inputs.wrap(values, wrapped)
        members = dict(zip(wrapped, self.inputs.members))
        self.input_slots = [(members.get(i), args[i].data) for i in positions]
        return tuple(values)

    def setup_outputs(self, result: Any) -> Any:
        """The output (a tensor or a tuple) with its tensors passed through identity entries."""
        values = list(result) if isinstance(result, tuple) else [result]
        positions = [i for i, v in enumerate(values) if isinstance(v, Tensor)]
        if not (tape.is_recording() and any(values[i]._requires_grad for i in positions)):
            return result
        self.outputs.wrap(values, positions)
        return tuple(values) if isinstance(result, tuple) else values[0]

    def fire(self, grad_input: tuple) -> tuple:
        """Call the hooks in order; each may replace grad_input (checked as torch does)."""
        for hook in self.hooks:
            result = hook(self.module, grad_input, self.grad_outputs)
            if result is None:
                continue
            result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            if len(result) != len(grad_input):
                raise RuntimeError(
                    f"Backward hook returned an invalid number of grad_input, got {len(result)}, but expected "
                    f"{len(grad_input)}"
                )
            checked = []
            for old, new in zip(grad_input, result):
                new = new.data if isinstance(new, Tensor) else new
                if new is not None and old is not None and new.shape != old.shape:
                    raise RuntimeError("hook 'hook' has changed the size of value")
                checked.append(new)
            grad_input = tuple(checked)
        self.grad_outputs = ()
        return grad_input


class ModuleHooks:
    """The hook registries and the hooked call of `Module` (torch.nn's attribute names)."""

    _forward_pre_hooks: Any = _NONE
    _forward_pre_hooks_with_kwargs: Any = _NONE
    _forward_hooks: Any = _NONE
    _forward_hooks_with_kwargs: Any = _NONE
    _backward_hooks: Any = _NONE

    def _registry(self, name: str) -> OrderedDict:
        if name not in self.__dict__:
            self.__dict__[name] = OrderedDict()
        return self.__dict__[name]

    def _register(self, name: str, hook: Callable, prepend: bool, with_kwargs: bool) -> RemovableHandle:
        hooks, flags = self._registry(name), self._registry(name + "_with_kwargs")
        handle = RemovableHandle(hooks, extra_dict=flags)
        hooks[handle.id] = hook
        if with_kwargs:
            flags[handle.id] = True
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """`hook(module, args)` or, with_kwargs, `hook(module, args, kwargs)` before each forward."""
        return self._register("_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_forward_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False, always_call: bool = False
    ) -> RemovableHandle:
        """`hook(module, args, output)` or, with_kwargs, `hook(module, args, kwargs, output)` after each forward."""
        if always_call:
            raise NotImplementedError("register_forward_hook: always_call=True is not supported by the engine")
        return self._register("_forward_hooks", hook, prepend, with_kwargs)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """`hook(module, grad_input, grad_output) -> new grad_input or None` during backward."""
        hooks = self._registry("_backward_hooks")
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def _call_with_hooks(self, forward: Callable, args: tuple, kwargs: dict) -> Any:
        """torch's `_call_impl`: pre-hooks, input identities, forward, forward hooks, output identities."""
        for hook_id, hook in tuple(self._forward_pre_hooks.items()):
            if hook_id in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), but got {result}."
                        )
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        call = _BackwardHookCall(self, list(self._backward_hooks.values())) if self._backward_hooks else None
        if call is not None:
            args = call.setup_inputs(args)
        output = forward(args, kwargs)
        for hook_id, hook in tuple(self._forward_hooks.items()):
            if hook_id in self._forward_hooks_with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:
                output = result
        if call is not None:
            output = call.setup_outputs(output)
        return output
