"""StepLR and CosineAnnealingLR against torch.optim.lr_scheduler: the same lr at every epoch."""

from __future__ import annotations

import pytest
import torch

from tinygrad_n2n import nn, optim
from tinygrad_n2n.optim import lr_scheduler

SCHEDULES = [
    ("StepLR", {"step_size": 3}),
    ("StepLR", {"step_size": 2, "gamma": 0.5}),
    ("CosineAnnealingLR", {"T_max": 7}),
    ("CosineAnnealingLR", {"T_max": 5, "eta_min": 0.01}),
]


def _lrs(
    lib_optim, lib_sched, param, name: str, options: dict, epochs: int = 25, halve_at: int | None = None
) -> list[list[float]]:
    """Every epoch's lrs of two param groups; at epoch `halve_at` the lrs are halved from outside."""
    opt = lib_optim.SGD([{"params": [param[0]]}, {"params": [param[1]], "lr": 0.3}], lr=0.1)
    scheduler = getattr(lib_sched, name)(opt, **options)
    seen = [scheduler.get_last_lr()]
    for epoch in range(epochs):
        if epoch == halve_at:
            for group in opt.param_groups:
                group["lr"] /= 2
        opt.step()
        scheduler.step()
        seen.append(scheduler.get_last_lr())
        assert seen[-1] == [group["lr"] for group in opt.param_groups]
    return seen


@pytest.mark.parametrize("halve_at", [None, 4])
@pytest.mark.parametrize(("name", "options"), SCHEDULES)
def test_schedule_matches_torch(name, options, halve_at):
    """Exactly torch's lrs, past T_max too, and chainable: an lr changed from outside is followed from there."""
    params = [nn.Parameter(torch.ones(1)), nn.Parameter(torch.ones(1))]
    ours = _lrs(optim, lr_scheduler, params, name, options, halve_at=halve_at)
    params = [torch.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)]
    theirs = _lrs(torch.optim, torch.optim.lr_scheduler, params, name, options, halve_at=halve_at)
    assert ours == theirs
    assert len(set(map(tuple, ours))) > 3, "the schedule changes the lr"


def test_scheduler_state_round_trip_resumes_the_schedule():
    def make():
        opt = optim.SGD([nn.Parameter(torch.ones(1))], lr=1.0)
        return opt, lr_scheduler.CosineAnnealingLR(opt, T_max=6)

    opt, scheduler = make()
    for _ in range(4):
        scheduler.step()
    saved_opt, saved_sched = opt.state_dict(), scheduler.state_dict()
    expected = []
    for _ in range(4):
        scheduler.step()
        expected.append(scheduler.get_last_lr())
    opt, scheduler = make()
    opt.load_state_dict(saved_opt)
    scheduler.load_state_dict(saved_sched)
    resumed = []
    for _ in range(4):
        scheduler.step()
        resumed.append(scheduler.get_last_lr())
    assert resumed == expected


def test_bad_scheduler_arguments():
    opt = optim.SGD([nn.Parameter(torch.ones(1))], lr=1.0)
    with pytest.raises(TypeError, match="is not a tinygrad_n2n Optimizer"):
        lr_scheduler.StepLR(torch.optim.SGD([torch.ones(1, requires_grad=True)]), 2)
    with pytest.raises(ValueError, match="step_size must be a positive int"):
        lr_scheduler.StepLR(opt, 0)
    with pytest.raises(ValueError, match="T_max must be a positive int"):
        lr_scheduler.CosineAnnealingLR(opt, T_max=0)
