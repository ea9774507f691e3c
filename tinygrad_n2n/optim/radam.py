"""RAdam: Adam with the variance of its adaptive step size rectified (optionally decoupled weight decay)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from ._adam_family import AdamFamily


class RAdam(AdamFamily):
    """torch.optim.RAdam's update, op for op (so results match it exactly)::

    t += 1;  g = ∇ + weight_decay·p  (decoupled_weight_decay instead: p *= 1 - lr·weight_decay)
    m = lerp(m, g, 1 - β1);  v = β2·v + (1 - β2)·g²;  m̂ = m / (1 - β1ᵗ)
    ρ∞ = 2 / (1 - β2) - 1;  ρₜ = ρ∞ - 2t·β2ᵗ / (1 - β2ᵗ)
    ρₜ > 5: r = √((ρₜ - 4)(ρₜ - 2)ρ∞ / ((ρ∞ - 4)(ρ∞ - 2)ρₜ));  p -= m̂·lr·√(1 - β2ᵗ) / (√v + eps)·r
    else:   p -= m̂·lr

    (∇ is negated first when `maximize`.) State: `step`, `exp_avg` (m) and `exp_avg_sq` (v).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
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
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            decoupled_weight_decay=decoupled_weight_decay,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict) -> None:
        _, step = self._moments(param, grad, state, group)
        lr, (beta1, beta2), exp_avg_sq = group["lr"], group["betas"], state["exp_avg_sq"]
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        bias_corrected_exp_avg = state["exp_avg"] / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive_lr = (bias_correction2**0.5) / exp_avg_sq.sqrt().add_(group["eps"])
            param.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
        else:
            param.add_(bias_corrected_exp_avg * lr, alpha=-1.0)
