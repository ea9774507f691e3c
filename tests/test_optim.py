"""Optimizers against torch.optim on a small quadratic problem (float64, every option), plus bad input."""

from __future__ import annotations

import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n import nn, optim, tape

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "maximize": True}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
]


def _problem(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(4, 3, dtype=torch.float64, generator=g),
        torch.randn(4, dtype=torch.float64, generator=g),
        torch.randn(8, 3, dtype=torch.float64, generator=g),
    )


def _run(
    lib, name: str, options: dict, steps: int = 15, second_group: dict | None = None
) -> tuple[list[float], list[torch.Tensor]]:
    """Train weight (group 0, the defaults) and bias (group 1: `second_group`'s options) on a small problem."""
    weight, bias, x = _problem()
    second_group = {"lr": 0.01} if second_group is None else second_group
    if lib is torch:
        params = [weight.clone().requires_grad_(True), bias.clone().requires_grad_(True)]
    else:
        params = [nn.Parameter(weight.clone()), nn.Parameter(bias.clone())]
    groups = [{"params": params[:1]}, {"params": params[1:], **second_group}]
    opt = getattr(torch.optim if lib is torch else optim, name)(groups, **options)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((x @ params[0].T + params[1]) ** 2).mean() + (params[0] ** 3).sum() * 0.01
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().clone() if lib is torch else p.data.clone() for p in params]


@pytest.mark.parametrize(("name", "options"), CONFIGS)
def test_update_matches_torch_optim(name, options):
    losses, params = _run(tn, name, options)
    ref_losses, ref_params = _run(torch, name, options)
    assert max(abs(a - b) for a, b in zip(losses, ref_losses)) <= 1e-12
    for mine, theirs in zip(params, ref_params):
        torch.testing.assert_close(mine, theirs, atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    ("name", "options", "second_group"),
    [
        ("SGD", {"lr": 0.05}, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.2, "maximize": True}),
        ("SGD", {"lr": 0.05, "momentum": 0.9}, {"lr": 0.2, "momentum": 0.0, "dampening": 0.5}),
        ("Adam", {"lr": 0.05}, {"betas": (0.5, 0.9), "eps": 1e-3, "weight_decay": 0.1, "amsgrad": True}),
        ("AdamW", {"lr": 0.05, "amsgrad": True}, {"lr": 0.1, "weight_decay": 0.0, "amsgrad": False}),
    ],
)
def test_each_param_group_uses_its_own_options(name, options, second_group):
    losses, params = _run(tn, name, options, second_group=second_group)
    ref_losses, ref_params = _run(torch, name, options, second_group=second_group)
    assert max(abs(a - b) for a, b in zip(losses, ref_losses)) <= 1e-12
    for mine, theirs in zip(params, ref_params):
        torch.testing.assert_close(mine, theirs, atol=1e-12, rtol=0)
    _, defaults_only = _run(tn, name, options, second_group={})
    assert not torch.allclose(params[1], defaults_only[1]), "the second group's options changed its updates"


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_param_groups_have_torchs_options_and_implementation_switches(name):
    ours = getattr(optim, name)([nn.Parameter(torch.ones(2))], lr=0.1, foreach=False, fused=None)
    theirs = getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], lr=0.1, foreach=False)
    assert ours.state_dict()["param_groups"] == theirs.state_dict()["param_groups"]
    for switch in ("differentiable", "capturable") if name != "SGD" else ("differentiable",):
        with pytest.raises(ValueError, match=f"{name}: {switch}=True is not supported"):
            getattr(optim, name)([nn.Parameter(torch.ones(2))], **{switch: True})


def test_step_records_nothing_and_keeps_the_parameter_objects():
    param = nn.Parameter(torch.ones(3))
    data = param.data
    opt = optim.Adam([param], lr=0.1)
    (param * param).sum().backward()
    before = tape.tape_length()
    opt.step()
    assert tape.tape_length() == before
    assert param.data is data and not data.requires_grad and not param.data.equal(torch.ones(3))
    assert all(not v.requires_grad for v in opt.state[param].values())


def test_zero_grad_and_skipping_parameters_without_gradient():
    used, unused = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(2))
    opt = optim.SGD([used, unused], lr=1.0, momentum=0.5)
    (used * 3).sum().backward()
    opt.step()
    assert torch.equal(used.data, torch.full((2,), -2.0)) and torch.equal(unused.data, torch.ones(2))
    opt.zero_grad(set_to_none=False)
    assert torch.equal(used.gradient, torch.zeros(2)) and unused.gradient is None
    opt.zero_grad()
    assert used.gradient is None


def test_state_dict_matches_torch_layout_and_loads_torch_state():
    weight, _, x = _problem()
    theirs = weight.clone().requires_grad_(True)
    torch_opt = torch.optim.Adam([theirs], lr=0.05, amsgrad=True)
    for _ in range(3):
        torch_opt.zero_grad()
        ((x @ theirs.T) ** 2).mean().backward()
        torch_opt.step()
    ours = nn.Parameter(theirs.detach().clone())
    opt = optim.Adam([ours], lr=0.5)
    opt.load_state_dict(torch_opt.state_dict())
    assert opt.param_groups[0]["lr"] == 0.05 and opt.param_groups[0]["amsgrad"]
    assert set(opt.state_dict()["state"][0]) == set(torch_opt.state_dict()["state"][0])
    for _ in range(3):
        torch_opt.zero_grad()
        ((x @ theirs.T) ** 2).mean().backward()
        torch_opt.step()
        opt.zero_grad()
        ((tn.Tensor(x) @ ours.T) ** 2).mean().backward()
        opt.step()
    torch.testing.assert_close(ours.data, theirs.detach(), atol=1e-14, rtol=0)


def test_state_dict_is_a_copy():
    param = nn.Parameter(torch.ones(2))
    opt = optim.SGD([param], lr=0.1, momentum=0.9)
    (param * param).sum().backward()
    opt.step()
    saved = opt.state_dict()
    opt.step()
    assert torch.equal(saved["state"][0]["momentum_buffer"], torch.full((2,), 2.0))
    saved["param_groups"][0]["lr"] = 99.0
    assert opt.param_groups[0]["lr"] == 0.1


def test_bad_input_is_a_clear_error():
    param = nn.Parameter(torch.ones(2))
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Adam: got an empty parameter list"):
        optim.Adam(nn.ReLU().parameters())
    with pytest.raises(TypeError, match=r"params\[1\] is a plain torch.Tensor"):
        optim.SGD([param, torch.ones(2, requires_grad=True)], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[0\] is a Linear, not a tinygrad_n2n Parameter"):
        optim.SGD([nn.Linear(1, 1)], lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: invalid learning rate -0\.1; it must be ≥ 0"):
        optim.SGD([param], lr=-0.1)
    with pytest.raises(ValueError, match="Adam: invalid learning rate -1"):
        optim.Adam([{"params": [param], "lr": -1}])
    with pytest.raises(ValueError, match=r"Adam: invalid beta2 1\.0"):
        optim.Adam([param], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        optim.SGD([param], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="appear more than once"):
        optim.SGD([{"params": [param]}, {"params": [param]}], lr=0.1)
    with pytest.raises(ValueError, match="not a leaf"):
        optim.SGD([param * 2], lr=0.1)
    with pytest.raises(ValueError, match="2 param groups"):
        optim.SGD([param], lr=0.1).load_state_dict({"state": {}, "param_groups": [{}, {}]})
