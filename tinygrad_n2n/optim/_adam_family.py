"""What Adam, AdamW, RAdam, NAdam and Adamax share: their option checks, state and first steps.

Each update starts the same way, op for op as in torch.optim (so results match it exactly)::

    g = -∇ if maximize else ∇;  t += 1
    weight decay: p *= 1 - lr·weight_decay (decoupled), or g = g + weight_decay·p
    m = lerp(m, g, 1 - β1);  v = β2·v + (1 - β2)·g²     (Adamax keeps u = max(β2·u, |g| + eps) instead of v)

and each optimizer's `_update` goes on from there with its own step size.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from .optimizer import Optimizer, _betas, _number, _step_counter


class AdamFamily(Optimizer):
    """Base of the Adam-like optimizers. Subclasses name their second-moment buffer (`SECOND_MOMENT`), the
    numeric options checked as numbers ≥ 0 (`NUMBERS`), and call `_moments` at the start of `_update`."""

    SECOND_MOMENT: ClassVar[str] = "exp_avg_sq"
    NUMBERS: ClassVar[tuple[str, ...]] = ("eps", "weight_decay")

    def _check_options(self, group: dict[str, Any]) -> None:
        super()._check_options(group)
        name = type(self).__name__
        _betas(name, group["betas"])
        for option in self.NUMBERS:
            _number(name, option, group[option])

    def _init_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        zeros = torch.zeros_like
        return {"step": _step_counter(), "exp_avg": zeros(param), self.SECOND_MOMENT: zeros(param)}

    def _moments(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: dict) -> tuple:
        """The shared first steps (module docstring); updates m and, with `exp_avg_sq`, v in place.

        param, grad: (same shape). Returns (g, t): the gradient after maximize and coupled weight decay, and
        the step count t as a Python number.
        """
        grad = -grad if group["maximize"] else grad
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        state["step"] += 1
        if weight_decay != 0:
            if group.get("decoupled_weight_decay", False):
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(param, alpha=weight_decay)
        state["exp_avg"].lerp_(grad, 1 - beta1)
        if self.SECOND_MOMENT == "exp_avg_sq":
            state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        return grad, state["step"].item()
