"""Adam and AdamW (decoupled weight decay), with optional AMSGrad."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from ._adam_family import AdamFamily


class Adam(AdamFamily):
    """torch.optim.Adam's update, op for op (so results match it exactly)::

    t += 1;  g = ∇ + weight_decay·p  (AdamW instead: p *= 1 - lr·weight_decay)
    m = lerp(m, g, 1 - β1);  v = β2·v + (1 - β2)·g²;  (AMSGrad: v̂ = max(v̂, v))
    p -= lr / (1 - β1ᵗ) · m / (√v / √(1 - β2ᵗ) + eps)

    (∇ is negated first when `maximize`.) State: `step`, `exp_avg` (m), `exp_avg_sq` (v) and, with
    amsgrad, `max_exp_avg_sq` (v̂).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _init_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = super()._init_state(param, group)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = torch.zeros_like(param)
        return state

    def _update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict) -> None:
        _, step = self._moments(param, grad, state, group)
        lr, (beta1, beta2), exp_avg_sq = group["lr"], group["betas"], state["exp_avg_sq"]
        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        if group["amsgrad"]:
            torch.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            denom = (state["max_exp_avg_sq"].sqrt() / bias_correction2_sqrt).add_(group["eps"])
        else:
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(group["eps"])
        param.addcdiv_(state["exp_avg"], denom, value=-step_size)


class AdamW(Adam):
    """Adam with decoupled weight decay (p *= 1 - lr·weight_decay before the Adam step); default decay 1e-2."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        switches = dict(foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused)
        super().__init__(
            params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, decoupled_weight_decay=True, **switches
        )
