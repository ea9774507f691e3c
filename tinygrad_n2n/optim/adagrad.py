"""Adagrad: per-coordinate step sizes from the running sum of squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from .optimizer import Optimizer, _number, _step_counter


class Adagrad(Optimizer):
    """torch.optim.Adagrad's update, op for op (so results match it exactly)::

    t += 1;  g = ∇ + weight_decay·p;  clr = lr / (1 + (t - 1)·lr_decay)
    s = s + g²;  p -= clr·g / (√s + eps)

    (∇ is negated first when `maximize`.) State: `step` and `sum` (s). As in torch, the state of every
    parameter is created by the constructor, and `sum` starts at the constructor's
    `initial_accumulator_value` (a param group's own value is kept in the group but not used).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                self.state[param] = self._init_state(param.data, group)

    def _check_options(self, group: dict[str, Any]) -> None:
        super()._check_options(group)
        for name in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            _number("Adagrad", name, group[name])

    def _init_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        initial = self.defaults["initial_accumulator_value"]
        return {"step": _step_counter(), "sum": torch.full_like(param, initial)}

    def _update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict) -> None:
        state["step"] += 1
        step = state["step"].item()
        grad = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            grad = grad.add(param, alpha=group["weight_decay"])
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        state["sum"].addcmul_(grad, grad, value=1)
        std = state["sum"].sqrt().add_(group["eps"])
        param.addcdiv_(grad, std, value=-clr)
