"""`Optimizer`: parameter groups with per-group options, the step loop, zero_grad and state dicts.

Subclasses set up a parameter's state in `_init_state(param, group)` and implement the maths in
`_update(param, grad, state, group)`, both on raw torch tensors; updates happen in place on each
parameter's `.data` and record nothing on the tape.
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import torch

from .. import tape
from .._tensor import Tensor

_REQUIRED = object()  # marks an option without a default


def _number(
    owner: str, name: str, value: Any, low: float = 0.0, high: float | None = None, closed: bool = False
) -> None:
    """Check that `value` is a real number in [low, high) ([low, high] when `closed`; ≥ low when high is None).

    Raises TypeError for a non-number and ValueError (torch's type) for a number out of range or NaN.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__}")
    too_high = high is not None and (value > high if closed else value >= high)
    if math.isnan(value) or value < low or too_high:
        bound = f"≥ {low}" if high is None else f"in [{low}, {high}{']' if closed else ')'}"
        raise ValueError(f"{owner}: invalid {name} {value!r}; it must be {bound}")


def _betas(owner: str, betas: Any) -> None:
    """Check a (beta1, beta2) pair, each in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
    _number(owner, "beta1", betas[0], 0.0, 1.0)
    _number(owner, "beta2", betas[1], 0.0, 1.0)


def scalar_dtype() -> torch.dtype:
    """The dtype torch.optim uses for step counters (float64 when that is the default dtype)."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def _step_counter(value: float = 0.0) -> torch.Tensor:
    """A CPU scalar tensor holding a step count (or a running product such as NAdam's mu_product)."""
    return torch.tensor(value, dtype=scalar_dtype())


class Optimizer:
    """Base of optimizers. params: an iterable of Parameters, of (name, Parameter) pairs, or of dicts
    (param groups: {"params": [...], **options overriding the defaults}).

    `state[param]` holds each parameter's buffers (in the parameter's dtype and device; step counters are
    CPU scalars, as in torch); `param_groups` the options of each group, which schedulers may change.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, (Tensor, torch.Tensor)):
            raise TypeError(f"{name}: params must be an iterable of Parameters or of dicts, got a single tensor")
        if isinstance(params, set):
            raise TypeError(f"{name}: params must be an ordered collection (a list), not a set")
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list (does the model register any Parameter?)")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)  # as torch: state[p] is {} until set up
        for group in groups:
            self.add_param_group(group)

    def _check_options(self, group: dict[str, Any]) -> None:
        """Validate a group's options (subclasses check their own hyper-parameters).

        torch's implementation switches are accepted: `foreach` and `fused` (any value, not both True;
        there is one implementation), `differentiable` and `capturable` (False only: updates record nothing).
        """
        name = type(self).__name__
        _number(name, "learning rate", group["lr"])
        for switch in ("differentiable", "capturable"):
            if group.get(switch):
                raise ValueError(f"{name}: {switch}=True is not supported (updates happen in place and record nothing)")
        if group.get("fused") and group.get("foreach"):
            raise RuntimeError(f"{name}: `fused` and `foreach` cannot be `True` together")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group {"params": tensors, **options}; missing options take the optimizer's defaults."""
        name, group = type(self).__name__, param_group
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{name}: a param group must be a dict with a 'params' entry, got {type(group).__name__}")
        params = group["params"]
        if isinstance(params, set):
            raise TypeError(f"{name}: a param group's params must be an ordered collection (a list), not a set")
        params = [params] if isinstance(params, (Tensor, torch.Tensor)) else list(params)
        named = [isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in params]
        if any(named) and not all(named):
            raise ValueError(f"{name}: all params of a group must come with names (name, param) or none")
        names = [p[0] for p in params] if params and all(named) else None
        params = [p[1] for p in params] if names is not None else params
        if not params:
            raise ValueError(f"{name}: a param group has an empty parameter list")
        for index, param in enumerate(params):
            if isinstance(param, torch.Tensor):
                raise TypeError(
                    f"{name}: params[{index}] is a plain torch.Tensor; the optimizer needs tinygrad_n2n "
                    "Parameters (pass model.parameters(), or wrap it in tinygrad_n2n.nn.Parameter)"
                )
            if not isinstance(param, Tensor):
                raise TypeError(f"{name}: params[{index}] is a {type(param).__name__}, not a tinygrad_n2n Parameter")
            if not param.is_leaf:
                raise ValueError(f"{name}: params[{index}] is not a leaf tensor (it was computed by an op)")
        known = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or known & {id(p) for p in params}:
            raise ValueError(f"{name}: some parameters appear more than once (in one group or across groups)")
        if self.param_groups and ("param_names" in self.param_groups[0]) != (names is not None):
            raise ValueError(f"{name}: all param groups must come with parameter names or none")
        options = {**self.defaults, **{k: v for k, v in group.items() if k not in ("params", "param_names")}}
        missing = [k for k, v in options.items() if v is _REQUIRED]
        if missing:
            raise ValueError(f"{name}: a param group does not specify the required option(s) {missing}")
        self._check_options(options)
        self.param_groups.append({"params": params, **options, **({"param_names": names} if names else {})})

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop (or zero in place) the gradient of every parameter."""
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none or param.gradient is None:
                    param.gradient = None
                else:
                    param.gradient.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place; returns `closure()` if one is given
        (the closure re-evaluates the loss and runs backward; it runs with recording on)."""
        loss = None
        if closure is not None:
            with tape.enable_grad():
                loss = closure()
        with tape.no_grad():
            for group in self.param_groups:
                for param in group["params"]:
                    if param.gradient is not None:
                        self._step_param(param, group)
        self._opt_called = True  # lets a scheduler warn when it is stepped before the optimizer
        return loss

    def _step_param(self, param: Tensor, group: dict[str, Any]) -> None:
        if param.gradient.shape != param.data.shape:
            raise RuntimeError(
                f"{type(self).__name__}: gradient of shape {tuple(param.gradient.shape)} for a "
                f"parameter of shape {tuple(param.data.shape)}"
            )
        state = self.state.get(param)
        if not state:
            state = self._init_state(param.data, group)
        self._update(param.data, param.gradient, state, group)
        if state:  # as torch, a parameter without any buffer (SGD without momentum) has no state entry
            self.state[param] = state

    def _init_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """The state of a parameter before its first update (buffers in its dtype and device)."""
        return {}

    def _update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict) -> None:
        """One update of `param` (in place) from its gradient, its state and its group's options."""
        raise NotImplementedError

    # ------------------------------------------------------------ state dicts (torch's layout)
    def _all_params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict[str, Any]:
        """{"state": {index: {name: value}}, "param_groups": [{options, "params": [index, ...]}]}; copies."""
        index = {id(p): i for i, p in enumerate(self._all_params())}
        groups = [
            {
                **{k: copy.deepcopy(v) for k, v in g.items() if k != "params"},
                "params": [index[id(p)] for p in g["params"]],
            }
            for g in self.param_groups
        ]
        state = {
            index[id(p)]: {k: v.clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v) for k, v in s.items()}
            for p, s in self.state.items()
            if id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and per-parameter state saved by `state_dict()` (ours or torch.optim's).

        Tensors are copied to each parameter's device; floating state (except `step`) to its dtype, as torch.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the state dict has {len(saved_groups)} param groups, "
                f"the optimizer has {len(self.param_groups)}"
            )
        for i, (saved, own) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: param group {i} holds {len(saved['params'])} parameters in the "
                    f"state dict but {len(own['params'])} in the optimizer"
                )
        by_index = {
            index: param
            for saved, own in zip(saved_groups, self.param_groups)
            for index, param in zip(saved["params"], own["params"])
        }
        self.state = defaultdict(dict)
        for index, saved_state in state_dict["state"].items():
            if index in by_index:
                param = by_index[index]
                self.state[param] = {k: _restore(k, v, param.data) for k, v in saved_state.items()}
        self.param_groups = [
            {
                **{k: copy.deepcopy(v) for k, v in own.items() if k == "param_names"},
                **{k: copy.deepcopy(v) for k, v in saved.items() if k != "params"},
                "params": own["params"],
            }
            for saved, own in zip(saved_groups, self.param_groups)
        ]

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        return "\n".join([*lines, ")"])


def _restore(key: str, value: Any, param: torch.Tensor) -> Any:
    """A copy of one saved state value, placed as torch places it (step counters stay CPU scalars)."""
    if key == "step":
        return value.detach().clone() if isinstance(value, torch.Tensor) else _step_counter(float(value))
    if not isinstance(value, torch.Tensor):
        return copy.deepcopy(value)
    if value.is_floating_point():
        return value.detach().to(device=param.device, dtype=param.dtype, copy=True)
    return value.detach().to(device=param.device, copy=True)
