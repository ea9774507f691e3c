"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from ._adam_family import AdamFamily


class Adamax(AdamFamily):
    """torch.optim.Adamax's update, op for op (so results match it exactly)::

    t += 1;  g = ∇ + weight_decay·p
    m = lerp(m, g, 1 - β1);  u = max(β2·u, |g| + eps);  p -= lr / (1 - β1ᵗ) · m / u

    (∇ is negated first when `maximize`.) State: `step`, `exp_avg` (m) and `exp_inf` (u).
    """

    SECOND_MOMENT = "exp_inf"

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

    def _update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict) -> None:
        grad, step = self._moments(param, grad, state, group)
        exp_inf = state["exp_inf"]
        torch.maximum(exp_inf.mul_(group["betas"][1]), grad.abs().add_(group["eps"]), out=exp_inf)
        param.addcdiv_(state["exp_avg"], exp_inf, value=-group["lr"] / (1 - group["betas"][0] ** step))
