"""`Module`: the registration, traversal, mode, conversion and state-dict machinery of every layer.

Parameters, buffers and submodules are registered through attribute assignment, in assignment order, exactly
as in torch.nn (reassigning one keeps its place); their dotted names (`encoder.conv1.weight`,
`bn.running_mean`) are the `state_dict` keys and the graph labels. Calling a module runs `forward` inside
`tape.scope(module)` (entries are tagged with the modules they were recorded in) and, in eval mode, inside
`tape.inference_scope` (nothing is recorded unless `tn.enable_grad()` forces it).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .. import tape
from .._tensor import Tensor
from . import state_dict as sd
from ._module_conversion import ModuleConversion
from ._module_hooks import ModuleHooks
from ._module_traversal import ModuleTraversal
from .parameter import Parameter
from .state_dict import IncompatibleKeys


class ModuleError(Exception):
    """A bad input met inside a module's forward; the message names the module's dotted path and type.

    Raised as the type of the error it wraps (`module_error`): `ModuleError` and, for example, RuntimeError (the
    type torch raises for a wrong number of channels) both catch it.
    """

    kind: type[Exception] = ValueError

    def __init__(self, module: Module, detail: str, path: str = "") -> None:
        where = f"{path} ({type(module).__name__})" if path else type(module).__name__
        super().__init__(f"{where}: {detail}")
        self.module, self.detail, self.path = module, detail, path


_MODULE_ERRORS: dict[type, type] = {}


def module_error(kind: type[Exception], module: Module, detail: str, path: str = "") -> ModuleError:
    """A ModuleError that is also a `kind` (ValueError, RuntimeError, ...), one class per kind."""
    if kind not in _MODULE_ERRORS:
        _MODULE_ERRORS[kind] = type(f"Module{kind.__name__}", (ModuleError, kind), {"kind": kind})
    return _MODULE_ERRORS[kind](module, detail, path)


def _as_input(value: Any) -> Any:
    """Plain torch tensors and NumPy arrays given to a module become constant engine tensors."""
    return Tensor(value) if isinstance(value, (torch.Tensor, np.ndarray)) else value


def _is_tensor(value: Any) -> bool:
    return isinstance(value, (torch.Tensor, Tensor))


def _refuse_torch_nn(name: str, value: Any) -> None:
    """A torch.nn Parameter or Module given to an engine module would silently stay unregistered: refuse it."""
    if isinstance(value, torch.nn.Parameter):
        raise TypeError(
            f"cannot assign a torch.nn.Parameter to '{name}': use tinygrad_n2n.nn.Parameter(tensor) instead"
        )
    if isinstance(value, torch.nn.Module):
        raise TypeError(
            f"cannot assign the torch.nn module {type(value).__name__} to '{name}': build it from tinygrad_n2n.nn "
            "and copy its weights with load_state_dict(torch_module.state_dict())"
        )


class Module(ModuleTraversal, ModuleConversion, ModuleHooks):
    """Base class of layers and models: subclass it, assign layers/Parameters in `__init__`, write `forward`.

    `module(*inputs)` runs `forward`; engine tensors and plain torch tensors are accepted as inputs.
    Buffers (`register_buffer`) hold state that is not trained, such as BatchNorm's running statistics.
    """

    training: bool
    _version: int = 1  # of the state-dict layout, as torch's: modules whose keys changed raise it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'"
            )
        if args:
            raise TypeError(
                f"{type(self).__name__}.__init__() takes 1 positional argument but {len(args) + 1} were given"
            )
        self.__dict__.update(training=True, _parameters={}, _buffers={}, _non_persistent_buffers_set=set(), _modules={})

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        _refuse_torch_nn(name, value)
        params, modules = self.__dict__.get("_parameters"), self.__dict__.get("_modules")
        if isinstance(value, (Parameter, Module)) and params is None:
            raise AttributeError(
                f"cannot assign {type(value).__name__} '{name}' before {type(self).__name__}.__init__() "
                "called super().__init__()"
            )
        if isinstance(value, Parameter):
            self._remove(name, keep=self._parameters)
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self._remove(name, keep=self._modules)
            modules[name] = value  # type: ignore[index]
        elif params is not None and name in params:
            self._check_none(name, value, "Parameter")
            params[name] = None
        elif modules is not None and name in modules:
            self._check_none(name, value, "Module")
            modules[name] = None
        elif name in self.__dict__.get("_buffers", ()):
            if value is not None and not _is_tensor(value):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' (torch.Tensor or None expected)"
                )
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _check_none(self, name: str, value: Any, kind: str) -> None:
        if value is not None:
            raise TypeError(
                f"cannot assign {type(value).__name__} to '{name}' of {type(self).__name__}: it holds a {kind}; "
                f"assign a {kind} or None"
            )

    def __getattr__(self, name: str) -> Any:
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry, {})
            if name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters or name in self._buffers or name in self._modules:
            self._remove(name)
        else:
            object.__delattr__(self, name)

    def _remove(self, name: str, keep: dict | None = None) -> None:
        """Forget `name` everywhere but in `keep` (so a reassignment keeps its place there, as torch)."""
        for registry in (self.__dict__, self._parameters, self._buffers, self._modules):
            if registry is not keep:
                registry.pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def _check_new_name(self, kind: str, name: Any, registry: dict) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain "."' + (f", got: {name}" if kind == "module" else ""))
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if hasattr(self, name) and name not in registry:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` (or None: a declared but absent parameter such as a disabled bias) as `name`."""
        self._check_new_name("parameter", name, self.__dict__.get("_parameters", {}))
        _refuse_torch_nn(name, param)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' (Parameter or None required)"
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Register `tensor` (a torch or engine tensor, or None) as the buffer `name`: state that is not trained.

        Buffers move and cast with the module (`.to()` casts only floating-point ones) and, when `persistent`,
        appear in `state_dict` after the module's parameters.
        """
        self._check_new_name("buffer", name, self.__dict__.get("_buffers", {}))
        if tensor is not None and not _is_tensor(tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (torch Tensor or None required)"
            )
        self._buffers[name] = tensor
        (self._non_persistent_buffers_set.discard if persistent else self._non_persistent_buffers_set.add)(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` as the child `name`."""
        _refuse_torch_nn(name, module)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_new_name("module", name, self.__dict__.get("_modules", {}))
        self._modules[name] = module

    def register_module(self, name: str, module: Module | None) -> None:
        """Alias for `add_module`."""
        self.add_module(name, module)

    # ------------------------------------------------------------ modes, devices, dtypes, gradients
    def train(self, mode: bool = True) -> Module:
        """Set training mode (True) or eval mode (False) on this module and, through `train`, every child."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {type(mode).__name__}")
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Eval mode: forward records nothing (unless `tn.enable_grad()`), Dropout is off; returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter; returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop (or zero in place) the gradient of every parameter."""
        for param in self.parameters():
            if set_to_none or param.gradient is None:
                param.gradient = None
            else:
                param.gradient.zero_()

    # ------------------------------------------------------------ state dicts
    def state_dict(
        self, *, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Any]:
        """`prefix` + dotted name -> raw torch tensor, for every parameter and persistent buffer, in torch's order.

        Values share storage with the module (the Parameter or buffer itself if `keep_vars`). As in torch, a
        shared layer's entries appear under each of its names; `destination` (a dict) is filled and returned.
        """
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()  # type: ignore[attr-defined]
        if hasattr(destination, "_metadata"):
            destination._metadata.update(sd.versions(self, prefix))
        for key, (_, _, value) in sd.named_state(self, prefix).items():
            destination[key] = value if keep_vars else (value.data if isinstance(value, Tensor) else value.detach())
        return destination

    def _state_defaults(self, version: int | None) -> dict[str, Any]:
        """Local name -> value for entries that a state dict of layout `version` (None: unknown) may lack."""
        return {}

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> IncompatibleKeys:
        """Copy values into the parameters and persistent buffers (keeping their dtype/device); accepts engine
        tensors, torch tensors or NumPy arrays, so a torch.nn model's state_dict() loads into its twin.

        Every missing key, unexpected key (when `strict`) and shape mismatch is listed in one RuntimeError,
        raised before anything is copied. `assign=True` makes each parameter or buffer hold the given tensor
        itself (its dtype/device) instead of a copy.
        """
        return sd.load(self, state_dict, strict, assign)

    # ------------------------------------------------------------ calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses define it and callers use `module(*inputs)`, never `forward` directly."""
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        args = tuple(_as_input(a) for a in args)
        kwargs = {k: _as_input(v) for k, v in kwargs.items()}
        if self._forward_pre_hooks or self._forward_hooks or self._backward_hooks:
            return self._call_with_hooks(self._call_forward, args, kwargs)
        return self._call_forward(args, kwargs)

    def _call_forward(self, args: tuple, kwargs: dict) -> Any:
        with tape.scope(self), tape.inference_scope(not self.training):
            try:
                return self.forward(*args, **kwargs)
            except ModuleError as error:
                path = next((name for name, m in self.named_modules() if m is error.module), None)
                if path is None:
                    raise
                raise module_error(error.kind, error.module, error.detail, path) from error.__cause__
            except (ValueError, RuntimeError) as error:
                detail = str(error).removeprefix(f"{type(self).__name__}: ")
                raise module_error(type(error), self, detail) from error

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
