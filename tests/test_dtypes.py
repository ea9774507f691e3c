"""Gradient dtypes: every gradient has its input's dtype, as in torch, so mixed float32/float64 steps work with
every optimizer (a float32 model with numpy's float64 targets is the everyday case)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n import functional as F
from tinygrad_n2n import nn, optim


def _pairs(engine_dtype_a, engine_dtype_b):
    a = torch.randn(3, 4, dtype=engine_dtype_a, generator=torch.Generator().manual_seed(0))
    b = torch.randn(3, 4, dtype=engine_dtype_b, generator=torch.Generator().manual_seed(1))
    return a, b


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum"])
@pytest.mark.parametrize(("dtype_a", "dtype_b"), [(torch.float32, torch.float64), (torch.float64, torch.float32)])
def test_mixed_dtype_binary_ops_give_each_input_its_own_gradient_dtype(op, dtype_a, dtype_b):
    a, b = _pairs(dtype_a, dtype_b)
    ours = [tn.Tensor(a, requires_grad=True), tn.Tensor(b, requires_grad=True)]
    theirs = [a.clone().requires_grad_(), b.clone().requires_grad_()]
    getattr(ours[0], op)(ours[1]).sum().backward()
    getattr(theirs[0], op)(theirs[1]).sum().backward()
    for mine, reference in zip(ours, theirs):
        assert mine.gradient.dtype == reference.grad.dtype == mine.dtype
        torch.testing.assert_close(mine.gradient, reference.grad)


def test_float32_model_with_a_float64_numpy_target():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 16, 1))
    reference = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(2 * 16, 1)
    )
    reference.load_state_dict({k: v.data.clone() for k, v in model.state_dict().items()})
    x = torch.randn(5, 1, 4, 4)
    target = np.linspace(0, 1, 5).reshape(5, 1)  # float64, as numpy makes it
    loss = F.mse_loss(model(x), tn.Tensor(target))
    loss.backward()
    ref_loss = torch.nn.functional.mse_loss(reference(x), torch.from_numpy(target))
    ref_loss.backward()
    assert loss.dtype == ref_loss.dtype == torch.float64
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        assert p.gradient.dtype == torch.float32, name
        torch.testing.assert_close(p.gradient, q.grad, msg=name)


OPTIMIZERS = {
    "SGD momentum": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    "Adam": lambda ps: optim.Adam(ps, lr=0.1),
    "AdamW": lambda ps: optim.AdamW(ps, lr=0.1),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_steps_a_float32_parameter_driven_by_float64_values(name):
    param = nn.Parameter(torch.ones(3))
    opt = OPTIMIZERS[name]([param])
    for _ in range(2):
        opt.zero_grad()
        (param * tn.Tensor(np.array([1.0, 2.0, 3.0]))).sum().backward()
        assert param.gradient.dtype == torch.float32
        opt.step()
    assert param.dtype == torch.float32
    assert all(v.dtype == torch.float32 for v in opt.state[param].values() if v.is_floating_point() and v.ndim)


def test_backward_seed_takes_the_output_dtype():
    x = tn.Tensor(torch.ones(2), requires_grad=True)
    (x * 2).backward(torch.ones(2, dtype=torch.float64))
    assert x.gradient.dtype == torch.float32
