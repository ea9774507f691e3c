"""RMSprop, optionally centered and with momentum."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from .optimizer import Optimizer, _number, _step_counter


class RMSprop(Optimizer):
    """torch.optim.RMSprop's update, op for op (so results match it exactly)::

    t += 1;  g = ∇ + weight_decay·p;  v = α·v + (1 - α)·g²
    centered: ḡ = lerp(ḡ, g, 1 - α);  d = √(v - ḡ²) + eps      else: d = √v + eps
    momentum > 0: b = momentum·b + g / d;  p -= lr·b             else: p -= lr·g / d

    (∇ is negated first when `maximize`.) State: `step`, `square_avg` (v), `momentum_buffer` (b) when
    momentum > 0, `grad_avg` (ḡ) when centered.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _check_options(self, group: dict[str, Any]) -> None:
        super()._check_options(group)
        for name in ("eps", "momentum", "weight_decay", "alpha"):
            _number("RMSprop", name, group[name])

    def _init_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": _step_counter(), "square_avg": torch.zeros_like(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = torch.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = torch.zeros_like(param)
        return state

    def _update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict) -> None:
        grad = -grad if group["maximize"] else grad
        alpha, momentum = group["alpha"], group["momentum"]
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad.add(param, alpha=group["weight_decay"])
        square_avg = state["square_avg"].mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        if group["centered"]:
            grad_avg = state["grad_avg"].lerp_(grad, 1 - alpha)
            denom = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        else:
            denom = square_avg.sqrt()
        denom.add_(group["eps"])
        if momentum > 0:
            buffer = state["momentum_buffer"].mul_(momentum).addcdiv_(grad, denom)
            param.add_(buffer, alpha=-group["lr"])
        else:
            param.addcdiv_(grad, denom, value=-group["lr"])
