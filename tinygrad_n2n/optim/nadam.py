"""NAdam: Adam with Nesterov momentum and a momentum schedule (optionally decoupled weight decay)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from ._adam_family import AdamFamily
from .optimizer import _step_counter


class NAdam(AdamFamily):
    """torch.optim.NAdam's update, op for op (so results match it exactly)::

    t += 1;  g = ∇ + weight_decay·p  (decoupled_weight_decay instead: p *= 1 - lr·weight_decay)
    μₜ = β1·(1 - ½·0.96^(t·ψ));  μₜ₊₁ likewise;  Π = Π·μₜ      (ψ = momentum_decay, Π = mu_product)
    m = lerp(m, g, 1 - β1);  v = β2·v + (1 - β2)·g²;  d = √(v / (1 - β2ᵗ)) + eps
    p -= lr·(1 - μₜ) / (1 - Π) · g / d;  p -= lr·μₜ₊₁ / (1 - Π·μₜ₊₁) · m / d

    (∇ is negated first when `maximize`.) State: `step`, `mu_product` (Π, a CPU scalar like `step`),
    `exp_avg` (m) and `exp_avg_sq` (v).
    """

    NUMBERS = ("eps", "weight_decay", "momentum_decay")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _init_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {**super()._init_state(param, group), "mu_product": _step_counter(1.0)}

    def _update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict) -> None:
        grad, step = self._moments(param, grad, state, group)
        lr, (beta1, beta2), momentum_decay = group["lr"], group["betas"], group["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        state["mu_product"] *= mu
        mu_product = state["mu_product"].item()
        denom = state["exp_avg_sq"].div(1 - beta2**step).sqrt().add_(group["eps"])
        param.addcdiv_(grad, denom, value=-lr * (1.0 - mu) / (1.0 - mu_product))
        param.addcdiv_(state["exp_avg"], denom, value=(-lr * mu_next) / (1.0 - mu_product * mu_next))
