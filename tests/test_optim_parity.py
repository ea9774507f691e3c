"""Every optimizer, step for step against torch.optim: the same starting parameters, the same gradients fed for
20 steps, options drawn by hypothesis (two param groups with their own options), float64 to rtol 1e-12."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_n2n import nn, optim

STEPS = 20

lrs = st.floats(1e-4, 0.3)
unit = st.floats(0.0, 0.999)
small = st.floats(0.0, 0.1)
epsilons = st.sampled_from([0.0, 1e-10, 1e-8, 1e-6, 1e-3])
flags = st.booleans()
betas = st.tuples(unit, st.one_of(unit, st.sampled_from([0.99, 0.999])))


def _sgd_options(momentum: float, dampening: float, nesterov: bool, **others) -> dict:
    if nesterov:  # torch's rule: Nesterov momentum needs a momentum and no dampening
        momentum, dampening = max(momentum, 0.1), 0.0
    return dict(momentum=momentum, dampening=dampening, nesterov=nesterov, **others)


OPTIONS = {
    "SGD": st.builds(
        _sgd_options, lr=lrs, momentum=unit, dampening=unit, nesterov=flags, weight_decay=small, maximize=flags
    ),
    "Adam": st.fixed_dictionaries(
        dict(lr=lrs, betas=betas, eps=epsilons, weight_decay=small, amsgrad=flags, maximize=flags),
        optional=dict(decoupled_weight_decay=flags),
    ),
    "AdamW": st.fixed_dictionaries(
        dict(lr=lrs, betas=betas, eps=epsilons, weight_decay=small, amsgrad=flags, maximize=flags)
    ),
    "RMSprop": st.fixed_dictionaries(
        dict(lr=lrs, alpha=unit, eps=epsilons, weight_decay=small, momentum=unit, centered=flags, maximize=flags)
    ),
    "Adagrad": st.fixed_dictionaries(
        dict(
            lr=lrs,
            lr_decay=st.floats(0.0, 1.0),
            weight_decay=small,
            initial_accumulator_value=st.floats(0.0, 1.0),
            eps=epsilons,
            maximize=flags,
        )
    ),
    "Adadelta": st.fixed_dictionaries(
        dict(lr=st.floats(0.01, 2.0), rho=st.floats(0.0, 1.0), eps=epsilons, weight_decay=small, maximize=flags)
    ),
    "Adamax": st.fixed_dictionaries(dict(lr=lrs, betas=betas, eps=epsilons, weight_decay=small, maximize=flags)),
    "NAdam": st.fixed_dictionaries(
        dict(
            lr=lrs,
            betas=betas,
            eps=epsilons,
            weight_decay=small,
            momentum_decay=st.floats(0.0, 0.05),
            decoupled_weight_decay=flags,
            maximize=flags,
        )
    ),
    "RAdam": st.fixed_dictionaries(
        dict(lr=lrs, betas=betas, eps=epsilons, weight_decay=small, decoupled_weight_decay=flags, maximize=flags)
    ),
}
NAMES = sorted(OPTIONS)


def _run(lib, name: str, options: dict, second_group: dict, dtypes=(torch.float64, torch.float64), seed: int = 0):
    """Each step's parameters and the final state dict; gradient = sin(2p) + noise, from each side's own p."""
    gen = torch.Generator().manual_seed(seed)
    shapes = [(3, 2), (4,)]
    start = [torch.randn(shape, generator=gen, dtype=torch.float64).to(dtype) for shape, dtype in zip(shapes, dtypes)]
    noise = [torch.randn((STEPS, *p.shape), generator=gen, dtype=torch.float64).to(p.dtype) for p in start]
    if lib is torch:
        params = [p.clone().requires_grad_(True) for p in start]
        datas = [p.detach() for p in params]
    else:
        params = [nn.Parameter(p.clone()) for p in start]
        datas = [p.data for p in params]
    groups = [{"params": params[:1]}, {"params": params[1:], **second_group}]
    opt = getattr(torch.optim if lib is torch else optim, name)(groups, **options)
    history = [torch.empty_like(param_noise) for param_noise in noise]  # history[i][t]: param i after step t
    for step in range(STEPS):
        for param, data, param_noise in zip(params, datas, noise):
            gradient = torch.sin(2 * data) + param_noise[step]
            if lib is torch:
                param.grad = gradient
            else:
                param.gradient = gradient
        opt.step()
        for param_history, data in zip(history, datas):
            param_history[step] = data
    return history, opt.state_dict()


def _assert_same_run(name: str, options: dict, second_group: dict, rtol: float = 1e-12, **kwargs) -> None:
    ours, our_state = _run(optim, name, options, second_group, **kwargs)
    theirs, their_state = _run(torch, name, options, second_group, **kwargs)
    for mine, reference in zip(ours, theirs):
        torch.testing.assert_close(mine, reference, rtol=rtol, atol=rtol * 1e-2, equal_nan=True)
    assert our_state["param_groups"] == their_state["param_groups"]
    assert our_state["state"].keys() == their_state["state"].keys()
    for index, state in their_state["state"].items():
        assert our_state["state"][index].keys() == state.keys()
        for key, value in state.items():
            torch.testing.assert_close(our_state["state"][index][key], value, rtol=rtol, atol=0, equal_nan=True)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=max(5, settings.default.max_examples // 3))  # nine optimizers: a third of the profile each
@given(data=st.data())
def test_steps_match_torch(name, data):
    options = data.draw(OPTIONS[name], label="options")
    second_group = data.draw(OPTIONS[name], label="second group")
    _assert_same_run(name, options, second_group)


@pytest.mark.parametrize("name", NAMES)
def test_defaults_match_torch(name):
    _assert_same_run(name, {"lr": 0.01} if name == "SGD" else {}, {})


@pytest.mark.parametrize("name", NAMES)
def test_mixed_float32_and_float64_parameters(name):
    """State lives in each parameter's dtype, as in torch, and the float32 parameter follows torch's float32 steps."""
    options = {"lr": 0.01, "momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    _assert_same_run(name, options, {}, rtol=1e-6, dtypes=(torch.float32, torch.float64))
    param32, param64 = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt = getattr(optim, name)([param32, param64], **options)
    param32.gradient, param64.gradient = torch.ones(2), torch.ones(3, dtype=torch.float64)
    opt.step()
    for param in (param32, param64):
        buffers = [v for k, v in opt.state[param].items() if k not in ("step", "mu_product")]
        assert buffers and all(buffer.dtype == param.dtype for buffer in buffers)
    assert param32.data.dtype == torch.float32 and param64.data.dtype == torch.float64
