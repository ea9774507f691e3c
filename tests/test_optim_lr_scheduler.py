"""Every scheduler against torch.optim.lr_scheduler: the same lr (and momentum) at every step over 50 steps
with two param groups, followed when the lr is changed from outside, resumed from a state dict, ours or torch's."""

from __future__ import annotations

import math

import pytest
import torch

from tinygrad_n2n import nn, optim
from tinygrad_n2n.optim import lr_scheduler

STEPS = 50


class Halving:
    """A callable object with state, as torch saves it in LambdaLR's state dict."""

    def __init__(self) -> None:
        self.every = 7

    def __call__(self, epoch: int) -> float:
        return 0.5 ** (epoch // self.every)


# name -> (optimizer: "sgd" or "adam", scheduler built from (scheduler module, optimizer))
SCHEDULES = {
    "StepLR": ("sgd", lambda s, o: s.StepLR(o, step_size=3)),
    "StepLR-gamma": ("sgd", lambda s, o: s.StepLR(o, step_size=2, gamma=0.7)),
    "MultiStepLR": ("sgd", lambda s, o: s.MultiStepLR(o, milestones=[3, 8, 8, 20], gamma=0.5)),
    "ExponentialLR": ("sgd", lambda s, o: s.ExponentialLR(o, gamma=0.9)),
    "CosineAnnealingLR": ("sgd", lambda s, o: s.CosineAnnealingLR(o, T_max=7)),
    "CosineAnnealingLR-eta": ("sgd", lambda s, o: s.CosineAnnealingLR(o, T_max=5, eta_min=0.01)),
    "CosineAnnealingWarmRestarts": ("sgd", lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2)),
    "CosineAnnealingWarmRestarts-1": ("sgd", lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=6, eta_min=0.02)),
    "LambdaLR": ("sgd", lambda s, o: s.LambdaLR(o, lr_lambda=lambda epoch: 1 / (1 + epoch))),
    "LambdaLR-list": ("sgd", lambda s, o: s.LambdaLR(o, [lambda epoch: 0.9**epoch, Halving()])),
    "MultiplicativeLR": ("sgd", lambda s, o: s.MultiplicativeLR(o, lr_lambda=lambda epoch: 0.95)),
    "ConstantLR": ("sgd", lambda s, o: s.ConstantLR(o, factor=0.5, total_iters=4)),
    "LinearLR": ("sgd", lambda s, o: s.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=10)),
    "LinearLR-default": ("sgd", lambda s, o: s.LinearLR(o)),
    "PolynomialLR": ("sgd", lambda s, o: s.PolynomialLR(o, total_iters=30, power=2.0)),
    "OneCycleLR": ("sgd", lambda s, o: s.OneCycleLR(o, max_lr=[0.5, 1.0], total_steps=STEPS)),
    "OneCycleLR-adam-linear-3": (
        "adam",
        lambda s, o: s.OneCycleLR(
            o, max_lr=0.2, epochs=5, steps_per_epoch=10, anneal_strategy="linear", three_phase=True, pct_start=0.25
        ),
    ),
    "OneCycleLR-no-momentum": ("adam", lambda s, o: s.OneCycleLR(o, max_lr=0.1, total_steps=60, cycle_momentum=False)),
    "CyclicLR": ("sgd", lambda s, o: s.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=4, step_size_down=6)),
    "CyclicLR-triangular2-adam": (
        "adam",
        lambda s, o: s.CyclicLR(o, base_lr=[0.001, 0.002], max_lr=0.01, step_size_up=5, mode="triangular2"),
    ),
    "CyclicLR-exp_range": (
        "sgd",
        lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.97, base_momentum=0.7),
    ),
    "CyclicLR-scale_fn": (
        "sgd",
        lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=3, scale_fn=lambda x: 1 / (1 + x), scale_mode="iterations"),
    ),
    "SequentialLR": (
        "sgd",
        lambda s, o: s.SequentialLR(
            o, [s.LinearLR(o, start_factor=0.1, total_iters=5), s.CosineAnnealingLR(o, T_max=20)], milestones=[5]
        ),
    ),
    "SequentialLR-three": (
        "sgd",
        lambda s, o: s.SequentialLR(
            o,
            [s.ConstantLR(o, factor=0.2, total_iters=3), s.ExponentialLR(o, gamma=0.9), s.StepLR(o, step_size=4)],
            milestones=[6, 15],
        ),
    ),
    "ChainedScheduler": (
        "sgd",
        lambda s, o: s.ChainedScheduler([s.LinearLR(o, start_factor=0.5, total_iters=6), s.ExponentialLR(o, 0.95)]),
    ),
}
CHAINABLE = ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR-eta", "MultiplicativeLR", "LinearLR"]


def _optimizer(lib, kind: str, params: list):
    module = torch.optim if lib is torch else optim
    groups = [{"params": params[:1]}, {"params": params[1:], "lr": 0.3}]
    if kind == "adam":
        return module.Adam(groups, lr=0.1, betas=(0.9, 0.99))
    return module.SGD(groups, lr=0.1, momentum=0.9)


def _params(lib) -> list:
    if lib is torch:
        return [torch.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)]
    return [nn.Parameter(torch.ones(1)), nn.Parameter(torch.ones(1))]


def _options(opt) -> list[tuple]:
    """What a scheduler may change: each group's lr, momentum and betas."""
    return [(group["lr"], group.get("momentum"), group.get("betas")) for group in opt.param_groups]


def _follow(opt, scheduler, steps: int, halve_at: int | None = None, start: int = 0) -> list:
    seen = []
    for step in range(start, start + steps):
        if step == halve_at:
            for group in opt.param_groups:
                group["lr"] /= 2
        opt.step()
        scheduler.step()
        assert scheduler.get_last_lr() == [group["lr"] for group in opt.param_groups]
        seen.append(_options(opt))
    return seen


def _run(lib, name: str, halve_at: int | None = None) -> list:
    kind, build = SCHEDULES[name]
    opt = _optimizer(lib, kind, _params(lib))
    scheduler = build(torch.optim.lr_scheduler if lib is torch else lr_scheduler, opt)
    return [_options(opt), *_follow(opt, scheduler, STEPS, halve_at)]


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_matches_torch(name):
    ours, theirs = _run(optim, name), _run(torch, name)
    assert ours == theirs
    assert len({lrs[0][0] for lrs in ours}) > 1, "the schedule changes the lr"


@pytest.mark.parametrize("name", CHAINABLE)
def test_lr_changed_from_outside_is_followed_like_torch(name):
    assert _run(optim, name, halve_at=4) == _run(torch, name, halve_at=4)


def _resume(lib, name: str, saved_opt: dict, saved_scheduler: dict) -> list:
    kind, build = SCHEDULES[name]
    opt = _optimizer(lib, kind, _params(lib))
    scheduler = build(torch.optim.lr_scheduler if lib is torch else lr_scheduler, opt)
    opt.load_state_dict(saved_opt)
    scheduler.load_state_dict(saved_scheduler)
    return _follow(opt, scheduler, STEPS - 20, start=20)


@pytest.mark.parametrize("name", SCHEDULES)
def test_state_dict_round_trip_resumes_torchs_schedule(name):
    """Stop after 20 steps, rebuild, load our state dicts (or torch's, into ours): the rest is torch's."""
    kind, build = SCHEDULES[name]
    runs = {}
    for lib in (optim, torch):
        opt = _optimizer(lib, kind, _params(lib))
        scheduler = build(torch.optim.lr_scheduler if lib is torch else lr_scheduler, opt)
        _follow(opt, scheduler, 20)
        runs[lib] = (opt.state_dict(), scheduler.state_dict(), _follow(opt, scheduler, STEPS - 20, start=20))
    expected = runs[torch][2]
    assert runs[optim][2] == expected
    assert _resume(optim, name, *runs[optim][:2]) == expected
    assert _resume(optim, name, *runs[torch][:2]) == expected


def test_state_dict_can_be_saved_with_tn_save(tmp_path):
    import tinygrad_n2n as tn

    opt = _optimizer(optim, "sgd", _params(optim))
    schedulers = [
        lr_scheduler.MultiStepLR(opt, [2, 2, 5]),
        lr_scheduler.OneCycleLR(opt, 1.0, total_steps=10),
        lr_scheduler.ReduceLROnPlateau(opt),
    ]
    for scheduler in schedulers:
        tn.save(scheduler.state_dict(), tmp_path / "scheduler.pt")
        loaded = tn.load(tmp_path / "scheduler.pt")
        assert loaded.keys() == scheduler.state_dict().keys()


METRICS = [1.0, 0.8, 0.7, 0.7, 0.7, 0.69999, 0.7, 0.71, 0.5, 0.5, 0.5, 0.5, 0.5, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"patience": 1},
        {"patience": 2, "cooldown": 2, "factor": 0.5},
        {"mode": "max", "patience": 1, "threshold": 0.05, "threshold_mode": "abs"},
        {"mode": "max", "patience": 0},
        {"patience": 1, "threshold_mode": "abs", "threshold": 0.01, "min_lr": [0.02, 0.1]},
        {"patience": 0, "factor": 0.5, "min_lr": 0.05, "eps": 0.01},
    ],
)
def test_reduce_lr_on_plateau_follows_the_metric_like_torch(options):
    def run(lib, metrics):
        opt = _optimizer(lib, "sgd", _params(lib))
        scheduler = (torch.optim.lr_scheduler if lib is torch else lr_scheduler).ReduceLROnPlateau(opt, **options)
        seen = []
        for metric in metrics:
            opt.step()
            scheduler.step(metric)
            seen.append((scheduler.get_last_lr(), scheduler.num_bad_epochs, scheduler.cooldown_counter))
        return seen, scheduler.state_dict()

    metrics = METRICS * 2 + [0.4 - i / 1000 for i in range(10)]
    (ours, our_state), (theirs, their_state) = run(optim, metrics), run(torch, metrics)
    assert ours == theirs
    assert our_state == their_state
    assert len({lrs[0][0] for lrs in ours}) > 1, "the lr was reduced"


def test_deprecated_step_with_an_epoch_uses_the_closed_form_like_torch():
    names = ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "ConstantLR", "LinearLR", "PolynomialLR"]
    for name in names:
        runs = []
        for lib in (optim, torch):
            opt = _optimizer(lib, "sgd", _params(lib))
            scheduler = SCHEDULES[name][1](torch.optim.lr_scheduler if lib is torch else lr_scheduler, opt)
            seen = []
            for epoch in (3, 10, 4, 25):
                opt.step()
                with pytest.warns(UserWarning, match="epoch parameter"):
                    scheduler.step(epoch)
                seen.append(scheduler.get_last_lr())
            runs.append(seen)
        assert runs[0] == runs[1], name


def test_warm_restarts_take_fractional_epochs_like_torch():
    def run(lib):
        opt = _optimizer(lib, "sgd", _params(lib))
        scheduler = SCHEDULES["CosineAnnealingWarmRestarts"][1](
            torch.optim.lr_scheduler if lib is torch else lr_scheduler, opt
        )
        seen = []
        for epoch in (0.5, 1.25, 3.9, 4.0, 7.5, 13.0, 2.0, 30.2):
            opt.step()
            scheduler.step(epoch)
            seen.append((scheduler.get_last_lr(), scheduler.T_cur, scheduler.T_i, scheduler.last_epoch))
        return seen

    assert run(optim) == run(torch)


def test_stepping_before_the_optimizer_warns_like_torch():
    for lib, module in ((optim, lr_scheduler), (torch, torch.optim.lr_scheduler)):
        scheduler = module.StepLR(_optimizer(lib, "sgd", _params(lib)), 2)
        with pytest.warns(UserWarning, match=r"before `optimizer.step\(\)`"):
            scheduler.step()


def test_one_cycle_refuses_to_step_past_its_total():
    for lib, module in ((optim, lr_scheduler), (torch, torch.optim.lr_scheduler)):
        opt = _optimizer(lib, "sgd", _params(lib))
        scheduler = module.OneCycleLR(opt, max_lr=1.0, total_steps=3)
        for _ in range(3):
            opt.step()
            scheduler.step()
        with pytest.raises(ValueError, match="Tried to step 4 times"):
            scheduler.step()


BAD = [
    ("StepLR", {"step_size": 0}, ValueError),
    ("CosineAnnealingLR", {"T_max": 0}, ValueError),
    ("CosineAnnealingWarmRestarts", {"T_0": 0}, ValueError),
    ("CosineAnnealingWarmRestarts", {"T_0": 2, "T_mult": 0}, ValueError),
    ("LinearLR", {"start_factor": 0.0}, ValueError),
    ("LinearLR", {"end_factor": 1.5}, ValueError),
    ("ConstantLR", {"factor": 2.0}, ValueError),
    ("ReduceLROnPlateau", {"factor": 1.0}, ValueError),
    ("ReduceLROnPlateau", {"mode": "median"}, ValueError),
    ("ReduceLROnPlateau", {"threshold_mode": "ratio"}, ValueError),
    ("ReduceLROnPlateau", {"min_lr": [0.1]}, ValueError),
    ("OneCycleLR", {"max_lr": 1.0}, ValueError),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 10, "pct_start": 1.5}, ValueError),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 10, "anneal_strategy": "exp"}, ValueError),
    ("OneCycleLR", {"max_lr": [1.0, 2.0, 3.0], "total_steps": 10}, ValueError),
    ("CyclicLR", {"base_lr": 0.1, "max_lr": 1.0, "mode": "square"}, ValueError),
    ("LambdaLR", {"lr_lambda": [lambda e: 1.0]}, ValueError),
    ("MultiplicativeLR", {"lr_lambda": 0.9}, TypeError),
    ("SequentialLR", {"schedulers": [], "milestones": []}, ValueError),
]


@pytest.mark.parametrize(("name", "options", "error"), BAD)
def test_bad_scheduler_arguments_raise_torchs_error_type(name, options, error):
    if name not in ("StepLR", "CosineAnnealingLR"):  # torch fails on those later, with a ZeroDivisionError
        with pytest.raises(error):
            getattr(torch.optim.lr_scheduler, name)(_optimizer(torch, "sgd", _params(torch)), **options)
    with pytest.raises(error):
        getattr(lr_scheduler, name)(_optimizer(optim, "sgd", _params(optim)), **options)


def test_scheduler_needs_our_optimizer_and_cycle_momentum_needs_a_momentum():
    with pytest.raises(TypeError, match="is not a tinygrad_n2n Optimizer"):
        lr_scheduler.StepLR(torch.optim.SGD([torch.ones(1, requires_grad=True)]), 2)
    opt = optim.Adagrad([nn.Parameter(torch.ones(1))])
    with pytest.raises(ValueError, match="must support momentum"):
        lr_scheduler.CyclicLR(opt, 0.1, 1.0)
    lr_scheduler.CyclicLR(opt, 0.1, 1.0, cycle_momentum=False)
    scheduler = lr_scheduler.StepLR(optim.SGD([nn.Parameter(torch.ones(1))], lr=1.0), 2)
    assert math.isclose(scheduler.get_last_lr()[0], 1.0) and scheduler.state_dict()["last_epoch"] == 0
