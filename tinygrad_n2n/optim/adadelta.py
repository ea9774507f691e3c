"""Adadelta: step sizes from running averages of squared gradients and of squared updates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from .optimizer import Optimizer, _number, _step_counter


class Adadelta(Optimizer):
    """torch.optim.Adadelta's update, op for op (so results match it exactly)::

    t += 1;  g = ∇ + weight_decay·p;  v = ρ·v + (1 - ρ)·g²
    Δ = √(u + eps) / √(v + eps) · g;  u = ρ·u + (1 - ρ)·Δ²;  p -= lr·Δ

    (∇ is negated first when `maximize`.) State: `step`, `square_avg` (v) and `acc_delta` (u).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            rho=rho,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            capturable=capturable,
            foreach=foreach,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _check_options(self, group: dict[str, Any]) -> None:
        super()._check_options(group)
        _number("Adadelta", "rho", group["rho"], 0.0, 1.0, closed=True)
        _number("Adadelta", "eps", group["eps"])
        _number("Adadelta", "weight_decay", group["weight_decay"])

    def _init_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": _step_counter(), "square_avg": torch.zeros_like(param), "acc_delta": torch.zeros_like(param)}

    def _update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict) -> None:
        rho, eps = group["rho"], group["eps"]
        state["step"] += 1
        grad = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            grad = grad.add(param, alpha=group["weight_decay"])
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
        std = square_avg.add(eps).sqrt_()
        delta = acc_delta.add(eps).sqrt_().div_(std).mul_(grad)
        acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        param.add_(delta, alpha=-group["lr"])
