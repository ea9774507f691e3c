"""RAdam: Adam with the variance of its adaptive step size rectified (optionally decoupled weight decay)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from .optimizer import Optimizer, _betas, _number, _step_counter


class RAdam(Optimizer):
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

    def _check_options(self, group: dict[str, Any]) -> None:
        super()._check_options(group)
        _betas("RAdam", group["betas"])
        _number("RAdam", "eps", group["eps"])
        _number("RAdam", "weight_decay", group["weight_decay"])

    def _init_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": _step_counter(), "exp_avg": torch.zeros_like(param), "exp_avg_sq": torch.zeros_like(param)}

    def _update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict) -> None:
        grad = -grad if group["maximize"] else grad
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        step = state["step"].item()
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(param, alpha=weight_decay)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        bias_corrected_exp_avg = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive_lr = (bias_correction2**0.5) / exp_avg_sq.sqrt().add_(group["eps"])
            param.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
        else:
            param.add_(bias_corrected_exp_avg * lr, alpha=-1.0)
