"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from .optimizer import Optimizer, _betas, _number, _step_counter


class Adamax(Optimizer):
    """torch.optim.Adamax's update, op for op (so results match it exactly)::

    t += 1;  g = ∇ + weight_decay·p
    m = lerp(m, g, 1 - β1);  u = max(β2·u, |g| + eps);  p -= lr / (1 - β1ᵗ) · m / u

    (∇ is negated first when `maximize`.) State: `step`, `exp_avg` (m) and `exp_inf` (u).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def _check_options(self, group: dict[str, Any]) -> None:
        super()._check_options(group)
        _betas("Adamax", group["betas"])
        _number("Adamax", "eps", group["eps"])
        _number("Adamax", "weight_decay", group["weight_decay"])

    def _init_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": _step_counter(), "exp_avg": torch.zeros_like(param), "exp_inf": torch.zeros_like(param)}

    def _update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict) -> None:
        grad = -grad if group["maximize"] else grad
        beta1, beta2 = group["betas"]
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad.add(param, alpha=group["weight_decay"])
        exp_avg.lerp_(grad, 1 - beta1)
        torch.maximum(exp_inf.mul_(beta2), grad.abs().add_(group["eps"]), out=exp_inf)
        step_size = group["lr"] / (1 - beta1 ** state["step"].item())
        param.addcdiv_(exp_avg, exp_inf, value=-step_size)
