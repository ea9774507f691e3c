"""End-to-end parity with torch.nn + torch.optim in float64: same outputs, losses and final parameters."""

from __future__ import annotations

import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n import nn, optim

STEPS = 20
TOL = 1e-9


def seed_architecture(lib) -> object:
    """The course's denoiser seed: two strided convs down, two (Upsample, conv) up, sigmoid out."""
    return lib.Sequential(
        lib.Conv2d(3, 32, 3, stride=2, padding=1),
        lib.ReLU(),
        lib.Conv2d(32, 64, 3, stride=2, padding=1),
        lib.ReLU(),
        lib.Upsample(scale_factor=2),
        lib.Conv2d(64, 32, 3, padding=1),
        lib.ReLU(),
        lib.Upsample(scale_factor=2),
        lib.Conv2d(32, 3, 3, padding=1),
        lib.Sigmoid(),
    )


def _twins(make) -> tuple[torch.nn.Module, nn.Module]:
    torch.manual_seed(0)
    theirs = make(torch.nn).double()
    ours = make(nn).double()
    ours.load_state_dict(theirs.state_dict())
    return theirs, ours


def _assert_same_parameters(theirs: torch.nn.Module, ours: nn.Module) -> None:
    mine = dict(ours.named_parameters())
    for name, param in theirs.named_parameters():
        torch.testing.assert_close(mine[name].data, param.detach(), atol=TOL, rtol=0, msg=name)


def _train_both(theirs, ours, torch_opt, our_opt, loss_fns, batches) -> None:
    for step, (x, target) in enumerate(batches):
        torch_opt.zero_grad()
        ref = loss_fns[0](theirs(x), target)
        ref.backward()
        torch_opt.step()
        our_opt.zero_grad()
        loss = loss_fns[1](ours(x), target)
        loss.backward()
        our_opt.step()
        assert abs(loss.item() - ref.item()) <= TOL, f"step {step}: loss {loss.item()} != torch {ref.item()}"


def test_seed_architecture_forward_is_identical():
    theirs, ours = _twins(seed_architecture)
    x = torch.rand(4, 3, 16, 16, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    torch.testing.assert_close(ours(x).data, theirs(x).detach(), atol=1e-12, rtol=0)
    assert ours.eval()(x).shape == (4, 3, 16, 16)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("SGD", {"lr": 0.5}),
        ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
        ("Adam", {"lr": 3e-3}),
        ("AdamW", {"lr": 3e-3, "weight_decay": 0.05}),
    ],
)
def test_seed_architecture_trains_identically(name, options):
    theirs, ours = _twins(seed_architecture)
    torch_opt = getattr(torch.optim, name)(theirs.parameters(), **options)
    our_opt = getattr(optim, name)(ours.parameters(), **options)
    g = torch.Generator().manual_seed(1)
    clean = torch.rand(STEPS, 4, 3, 16, 16, dtype=torch.float64, generator=g)
    noisy = (clean + 0.1 * torch.randn(clean.shape, dtype=torch.float64, generator=g)).clamp(0, 1)
    losses = (torch.nn.MSELoss(), nn.MSELoss())
    _train_both(theirs, ours, torch_opt, our_opt, losses, zip(noisy, clean))
    _assert_same_parameters(theirs, ours)


def mlp(lib) -> object:
    return lib.Sequential(
        lib.Flatten(),
        lib.Linear(12, 32),
        lib.Tanh(),
        lib.Dropout(0.3),
        lib.Linear(32, 16),
        lib.LeakyReLU(0.1),
        lib.Dropout(0.2),
        lib.Linear(16, 5),
    )


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_mlp_with_cross_entropy_and_dropout_trains_identically(mode):
    theirs, ours = _twins(mlp)
    theirs.train(mode == "train")
    ours.train(mode == "train")
    torch_opt = torch.optim.Adam(theirs.parameters(), lr=1e-2)
    our_opt = optim.Adam(ours.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(STEPS, 8, 3, 4, dtype=torch.float64, generator=g)
    y = torch.randint(0, 5, (STEPS, 8), generator=g)
    losses = (torch.nn.CrossEntropyLoss(), nn.CrossEntropyLoss())

    for step in range(STEPS):
        torch_opt.zero_grad()
        torch.manual_seed(100 + step)  # the same dropout masks on both sides in training mode
        ref = losses[0](theirs(x[step]), y[step])
        ref.backward()
        torch_opt.step()
        our_opt.zero_grad()
        torch.manual_seed(100 + step)
        with tn.enable_grad():  # an eval-mode module records only when asked to (torch records regardless)
            loss = losses[1](ours(x[step]), y[step])
        loss.backward()
        our_opt.step()
        assert abs(loss.item() - ref.item()) <= TOL, f"step {step}"
    _assert_same_parameters(theirs, ours)
