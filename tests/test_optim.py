"""Optimizers against torch.optim on a small quadratic problem (float64, every option), plus bad input."""

from __future__ import annotations

import inspect

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


ALL_OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"]
# options that give every optimizer all of its state buffers
FULL_STATE = {
    "SGD": {"lr": 0.1, "momentum": 0.9},
    "Adam": {"amsgrad": True},
    "RMSprop": {"momentum": 0.5, "centered": True},
}


def _train(opt, params, x, steps: int) -> None:
    for _ in range(steps):
        opt.zero_grad()
        for param in params:
            data = param.data if isinstance(param, nn.Parameter) else param.detach()
            gradient = torch.cos(data) + x[: data.numel()].reshape(data.shape)
            if isinstance(param, nn.Parameter):
                param.gradient = gradient
            else:
                param.grad = gradient
        opt.step()


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_state_dict_round_trip_and_loading_torch_state(name):
    """Our state dict has torch's layout; loading ours or torch's mid-run continues exactly torch's run."""
    options, x = FULL_STATE.get(name, {}), torch.linspace(-1, 1, 12, dtype=torch.float64)
    start = [torch.randn(3, 2, dtype=torch.float64), torch.randn(4, dtype=torch.float64)]
    theirs = [p.clone().requires_grad_(True) for p in start]
    torch_opt = getattr(torch.optim, name)(theirs, **options)
    ours = [nn.Parameter(p.clone()) for p in start]
    opt = getattr(optim, name)(ours, **options)
    _train(torch_opt, theirs, x, 3)
    _train(opt, ours, x, 3)
    saved, torch_saved = opt.state_dict(), torch_opt.state_dict()
    assert saved["param_groups"] == torch_saved["param_groups"]
    assert {i: set(s) for i, s in saved["state"].items()} == {i: set(s) for i, s in torch_saved["state"].items()}
    for source in (saved, torch_saved):
        resumed = [nn.Parameter(p.detach().clone()) for p in theirs]
        fresh = getattr(optim, name)(resumed, lr=0.5)
        fresh.load_state_dict(source)
        _train(fresh, resumed, x, 4)
        reference = [p.detach().clone().requires_grad_(True) for p in theirs]
        torch_fresh = getattr(torch.optim, name)(reference, lr=0.5)
        torch_fresh.load_state_dict(torch_saved)
        _train(torch_fresh, reference, x, 4)
        for mine, expected in zip(resumed, reference):
            torch.testing.assert_close(mine.data, expected.detach(), rtol=1e-13, atol=0)


def test_state_entries_appear_as_in_torch():
    """SGD without momentum keeps no state, Adagrad sets up every parameter's state on construction."""
    used, unused = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(2))
    sgd = optim.SGD([used, unused], lr=0.1)
    used.gradient = torch.ones(2)
    sgd.step()
    assert sgd.state_dict()["state"] == {}
    assert sgd.state[unused] == {}, "as torch's defaultdict, a parameter's state reads as {} before it exists"
    momentum = optim.SGD([used], lr=0.1, momentum=0.9)
    momentum.state[used]  # reading first must not stop the state from being set up
    momentum.step()
    assert torch.equal(momentum.state[used]["momentum_buffer"], torch.ones(2))
    adagrad = optim.Adagrad([used, unused], initial_accumulator_value=0.5)
    torch_adagrad = torch.optim.Adagrad([torch.ones(2, requires_grad=True)], initial_accumulator_value=0.5)
    assert set(adagrad.state_dict()["state"]) == {0, 1}
    assert set(adagrad.state[unused]) == set(torch_adagrad.state_dict()["state"][0]) == {"step", "sum"}
    assert torch.equal(adagrad.state[unused]["sum"], torch.full((2,), 0.5))


def test_named_parameters_are_kept_as_param_names_like_torch():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    reference = torch.nn.Linear(2, 1)
    torch_opt = torch.optim.SGD(reference.named_parameters(), lr=0.1)
    assert opt.state_dict()["param_groups"] == torch_opt.state_dict()["param_groups"]
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    with pytest.raises(ValueError, match="with names"):
        optim.SGD([("weight", model.weight), model.bias], lr=0.1)
    with pytest.raises(ValueError, match="names or none"):
        opt.add_param_group({"params": [nn.Parameter(torch.ones(1))]})


def test_closure_runs_with_recording_on_and_its_loss_is_returned():
    param = nn.Parameter(torch.tensor([2.0]))
    opt = optim.SGD([param], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (param * param).sum()
        loss.backward()
        return loss

    with tn.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0 and torch.equal(param.data, torch.tensor([1.6]))


INVALID = [
    ("SGD", {"lr": 0.1, "momentum": -0.1}),
    ("SGD", {"lr": 0.1, "weight_decay": -1.0}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}),
    ("Adam", {"eps": -1e-8}),
    ("Adam", {"betas": (1.0, 0.9)}),
    ("AdamW", {"betas": (0.9, -0.1)}),
    ("AdamW", {"lr": float("nan")}),
    ("RMSprop", {"alpha": -0.5}),
    ("RMSprop", {"momentum": -0.5}),
    ("RMSprop", {"eps": -1.0}),
    ("Adagrad", {"lr_decay": -0.1}),
    ("Adagrad", {"initial_accumulator_value": -0.1}),
    ("Adagrad", {"eps": -1.0}),
    ("Adadelta", {"rho": 1.1}),
    ("Adadelta", {"weight_decay": -1.0}),
    ("Adamax", {"betas": (0.9, 1.0)}),
    ("NAdam", {"momentum_decay": -0.1}),
    ("NAdam", {"betas": (-0.1, 0.9)}),
    ("RAdam", {"weight_decay": -0.1}),
    ("RAdam", {"lr": -1.0}),
]


@pytest.mark.parametrize(("name", "options"), INVALID)
def test_invalid_hyper_parameters_raise_torchs_error_type(name, options):
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.ones(1, requires_grad=True)], **options)
    with pytest.raises(ValueError, match=f"{name}: "):
        getattr(optim, name)([nn.Parameter(torch.ones(1))], **options)


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_signatures_and_defaults_are_torchs(name):
    ours, theirs = inspect.signature(getattr(optim, name)), inspect.signature(getattr(torch.optim, name))
    assert list(ours.parameters) == list(theirs.parameters)
    for parameter in theirs.parameters.values():
        assert ours.parameters[parameter.name].default == parameter.default, parameter.name
        assert ours.parameters[parameter.name].kind == parameter.kind, parameter.name


def test_boundary_values_torch_accepts_are_accepted():
    param = nn.Parameter(torch.ones(1))
    optim.Adadelta([param], rho=1.0)
    optim.SGD([param], lr=0.1, dampening=-0.5)
    optim.RMSprop([param], alpha=1.5)
    with pytest.raises(RuntimeError, match="cannot be `True` together"):
        optim.Adam([param], foreach=True, fused=True)
