"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from .optimizer import Optimizer, _number


class SGD(Optimizer):
    """torch.optim.SGD's update, op for op (so results match it exactly)::

    g = ∇ + weight_decay·p;  b = g at the first step, else momentum·b + (1 - dampening)·g
    g = g + momentum·b (nesterov) or b (momentum ≠ 0);  p -= lr·g

    (∇ is negated first when `maximize`.) State: `momentum_buffer` (b), only when momentum ≠ 0.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)

    def _check_options(self, group: dict[str, Any]) -> None:
        super()._check_options(group)
        _number("SGD", "momentum", group["momentum"])
        _number("SGD", "weight_decay", group["weight_decay"])
        _number("SGD", "dampening", group["dampening"], low=-math.inf)  # torch accepts any dampening
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening")

    def _update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict) -> None:
        # no state to set up: the momentum buffer starts as the first (decayed) gradient
        grad = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            grad = grad.add(param, alpha=group["weight_decay"])
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = grad.detach().clone()
                state["momentum_buffer"] = buf
            else:
                buf.mul_(momentum).add_(grad, alpha=1 - group["dampening"])
            grad = grad.add(buf, alpha=momentum) if group["nesterov"] else buf
        param.add_(grad, alpha=-group["lr"])
