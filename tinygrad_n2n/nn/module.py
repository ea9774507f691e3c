"""`Module`: the registration, traversal, mode and state-dict machinery of every layer.

Parameters and submodules are registered through attribute assignment, in assignment order, exactly as in
torch.nn; their dotted names (`encoder.conv1.weight`) are the `state_dict` keys and the graph labels.
Calling a module runs `forward` inside `tape.scope(module)` (entries are tagged with the modules they were
recorded in) and, in eval mode, inside `tape.inference_scope` (nothing is recorded unless
`tn.enable_grad()` forces it).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch

from .. import tape
from .._tensor import Tensor
from .parameter import Parameter
from .state_dict import IncompatibleKeys, match_state_dict


class ModuleError(ValueError):
    """A bad input met inside a module's forward; the message names the module's dotted path and type."""

    def __init__(self, module: Module, detail: str, path: str = "") -> None:
        where = f"{path} ({type(module).__name__})" if path else type(module).__name__
        super().__init__(f"{where}: {detail}")
        self.module, self.detail, self.path = module, detail, path


def _as_input(value: Any) -> Any:
    """Plain torch tensors and NumPy arrays given to a module become constant engine tensors."""
    return Tensor(value) if isinstance(value, (torch.Tensor, np.ndarray)) else value


class Module:
    """Base class of layers and models: subclass it, assign layers/Parameters in `__init__`, write `forward`.

    `module(*inputs)` runs `forward`; engine tensors and plain torch tensors are accepted as inputs.
    """

    training: bool

    def __init__(self) -> None:
        self.__dict__.update(training=True, _parameters={}, _modules={})

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        params: dict | None = self.__dict__.get("_parameters")
        if isinstance(value, (Parameter, Module)):
            if params is None:
                raise AttributeError(
                    f"cannot assign {type(value).__name__} '{name}' before {type(self).__name__}.__init__() "
                    "called super().__init__()"
                )
            self._forget(name)
            (params if isinstance(value, Parameter) else self._modules)[name] = value
            return
        for registry, kind in ((params, "Parameter"), (self.__dict__.get("_modules"), "Module")):
            if registry is not None and name in registry:
                if value is not None:
                    raise TypeError(
                        f"cannot assign {type(value).__name__} to '{name}' of {type(self).__name__}: it holds a "
                        f"{kind}; assign a {kind} or None"
                    )
                registry[name] = None
                return
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        for registry in ("_parameters", "_modules"):
            entries = self.__dict__.get(registry, {})
            if name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters or name in self._modules:
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def _forget(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self.__dict__.pop(name, None)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` (or None: a declared but absent parameter such as a disabled bias) as `name`."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: '{name}' must be a Parameter or None, got {type(param).__name__}")
        self._forget(name)
        self._parameters[name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` as the child `name`."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: '{name}' must be a Module or None, got {type(module).__name__}")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    # ------------------------------------------------------------ traversal (explicit stack, no recursion)
    def named_modules(
        self, memo: set[Module] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module ("" or `prefix`) and every descendant, in pre-order.

        A module reached twice (shared) is yielded once unless `remove_duplicate=False`; `memo` holds those seen.
        """
        seen: set[Module] = set() if memo is None else memo
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if module in seen:
                    continue
                seen.add(module)
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self, remove_duplicate: bool = True) -> Iterator[Module]:
        """This module and every descendant, in pre-order."""
        for _, module in self.named_modules(remove_duplicate=remove_duplicate):
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) of the direct submodules, in registration order."""
        yield from ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self) -> Iterator[Module]:
        """The direct submodules, in registration order."""
        yield from (m for _, m in self.named_children())

    def _all_named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every (name, parameter) under every name, shared modules included (torch's state-dict keys)."""
        for module_name, module in self.named_modules(prefix=prefix, remove_duplicate=False):
            for name, param in module._parameters.items():
                if param is not None:
                    yield (f"{module_name}.{name}" if module_name else name), param

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) of every parameter (shared ones once), e.g. `0.weight`, `enc.conv1.bias`."""
        named = self._all_named_parameters(prefix)
        if not recurse:
            named = ((f"{prefix}.{n}" if prefix else n, p) for n, p in self._parameters.items() if p is not None)
        seen: set[int] = set()
        for name, param in named:
            if not remove_duplicate or id(param) not in seen:
                seen.add(id(param))
                yield name, param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter (shared ones once), in registration order; hand these to an optimizer."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Total number of scalar parameters (only those requiring a gradient if `trainable_only`)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call `fn` on every submodule (children first, as torch does) and then on self; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ modes, devices, gradients
    def train(self, mode: bool = True) -> Module:
        """Set training mode (True) or eval mode (False) on this module and all descendants; returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Eval mode: forward records nothing (unless `tn.enable_grad()`), Dropout is off; returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter; returns self."""
        for param in self.parameters():
            param.requires_grad = requires_grad
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Move/cast every parameter (and its gradient) in place, with `torch.Tensor.to` arguments; returns self."""
        for param in self.parameters():
            param.data = param.data.to(*args, **kwargs)
            if param.gradient is not None:
                param.gradient = param.gradient.to(*args, **kwargs)
        return self

    def double(self) -> Module:
        """Cast every parameter to float64; returns self."""
        return self.to(torch.float64)

    def float(self) -> Module:
        """Cast every parameter to float32; returns self."""
        return self.to(torch.float32)

    def cpu(self) -> Module:
        """Move every parameter to the CPU; returns self."""
        return self.to("cpu")

    def cuda(self, device: int | str | None = None) -> Module:
        """Move every parameter to a CUDA device (the current one by default); returns self."""
        return self.to(torch.device("cuda", device) if isinstance(device, int) else device or "cuda")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop (or zero in place) the gradient of every parameter."""
        for param in self.parameters():
            if set_to_none or param.gradient is None:
                param.gradient = None
            else:
                param.gradient.zero_()

    # ------------------------------------------------------------ state dicts
    def state_dict(self, *, prefix: str = "", keep_vars: bool = False) -> OrderedDict[str, Any]:
        """`prefix` + dotted name -> raw torch tensor (shares storage with the parameter; Parameter if keep_vars).

        As in torch, a shared layer's parameters appear under each of its names.
        """
        return OrderedDict(
            (prefix + name, param if keep_vars else param.data) for name, param in self._all_named_parameters()
        )

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> IncompatibleKeys:
        """Copy values into the parameters (keeping their dtype/device); accepts engine or torch tensors.

        Every missing key, unexpected key (when `strict`) and shape mismatch is listed in one RuntimeError,
        raised before anything is copied. So a torch.nn model's state_dict() loads into the equivalent model.
        `assign=True` makes each parameter hold the given tensor itself (its dtype/device) instead of a copy.
        """
        own = dict(self._all_named_parameters())
        values, missing, unexpected = match_state_dict(own, state_dict, strict, type(self).__name__)
        for key, value in values.items():
            own[key].data = value if assign else own[key].data.copy_(value)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses define it and callers use `module(*inputs)`, never `forward` directly."""
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        args = tuple(_as_input(a) for a in args)
        kwargs = {k: _as_input(v) for k, v in kwargs.items()}
        with tape.scope(self), tape.inference_scope(not self.training):
            try:
                return self.forward(*args, **kwargs)
            except ModuleError as error:
                path = next((name for name, m in self.named_modules() if m is error.module), None)
                if path is None:
                    raise
                raise ModuleError(error.module, error.detail, path) from error.__cause__
            except ValueError as error:
                detail = str(error).removeprefix(f"{type(self).__name__}: ")
                raise ModuleError(self, detail) from error

    # ------------------------------------------------------------ display
    def extra_repr(self) -> str:
        """The layer's hyper-parameters, shown inside its repr (override in layers)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr().split("\n") if self.extra_repr() else []
        children = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        if not children and len(extra) <= 1:
            return f"{type(self).__name__}({''.join(extra)})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(extra + children) + "\n)"

    def summary(self) -> str:
        """A table of every module holding parameters (name, type, parameter shapes, count) and the total."""
        rows = [("name", "type", "parameters", "count")]
        for name, module in self.named_modules():
            own = [p for p in module._parameters.values() if p is not None]
            if own:
                shapes = ", ".join("x".join(map(str, p.shape)) for p in own)
                rows.append((name or "(self)", type(module).__name__, shapes, f"{sum(p.numel() for p in own):,}"))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "-" * len(lines[0]))
        total, trainable = self.num_parameters(), self.num_parameters(trainable_only=True)
        lines.append(f"Total parameters: {total:,} (trainable: {trainable:,})")
        return "\n".join(lines)
