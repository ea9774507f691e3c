"""The engine never uses torch.autograd: the same gradients as torch.autograd with torch.autograd's entry points
patched to fail, and no raw tensor with requires_grad or a grad_fn anywhere (parameters, gradients, saved
tensors, outputs, every torch call's result, seen by a TorchFunctionMode watcher).

torch's grad mode is the engine's recording switch (reading a flag is not using autograd), so it is no longer
a way to prove anything here: these tests patch torch.autograd out instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch.overrides import TorchFunctionMode

import tinygrad_n2n as tn
from tests.helpers import randn
from tinygrad_n2n import functional as F
from tinygrad_n2n import nn, optim, tape

STEPS = 2


class AutogradAudit(TorchFunctionMode):
    """Sees every torch function the engine calls and records any argument or result that autograd tracks."""

    def __init__(self) -> None:
        super().__init__()
        self.calls, self.tracked = 0, []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        self.calls += 1
        for value in _raw_tensors((args, kwargs, result)):
            if value.requires_grad or value.grad_fn is not None:
                self.tracked.append(getattr(func, "__name__", repr(func)))
        return result


def _raw_tensors(obj: Any) -> Iterator[torch.Tensor]:
    """Every raw torch tensor inside obj: engine tensors' data and gradient, containers, dict values."""
    if isinstance(obj, tn.Tensor):
        yield obj.data
        if obj.gradient is not None:
            yield obj.gradient
    elif isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _raw_tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _raw_tensors(item)


def _assert_untracked(tensors: list[torch.Tensor]) -> None:
    assert tensors, "nothing was audited"
    tracked = [tuple(t.shape) for t in tensors if t.requires_grad or t.grad_fn is not None]
    assert not tracked, f"raw tensors tracked by torch.autograd: {tracked}"


def _tape_tensors(since: int) -> list[torch.Tensor]:
    """The raw tensors that this thread's live tape entries recorded from sequence number `since` on (this test's,
    not graphs other tests keep alive) hold: saved ones, attributes and inputs (every output but the last is an
    input of a later entry; callers audit the last)."""
    found = []
    for entry in (e for e in tape.live_entries() if e.seq >= since):
        saved = [t for t in entry.ctx.saved_tensors if t is not None]
        assert all(isinstance(t, torch.Tensor) for t in saved), f"{entry.op_name} saved a non-torch value"
        found += saved + list(_raw_tensors(vars(entry.ctx))) + list(_raw_tensors(entry.inputs))
    return found


@pytest.fixture
def forbid_torch_autograd(monkeypatch):
    """Make any call into torch.autograd's entry points fail the test."""

    def forbidden(*args, **kwargs):
        raise AssertionError("torch.autograd was called")

    for owner, name in [(torch.autograd, "backward"), (torch.autograd, "grad"), (torch.Tensor, "backward")]:
        monkeypatch.setattr(owner, name, forbidden)
    monkeypatch.setattr(torch.Tensor, "requires_grad_", forbidden)


# ---------------------------------------------------------------- conv -> sigmoid -> mse


def _conv_inputs() -> list[torch.Tensor]:
    return [randn(2, 3, 6, 6), randn(4, 3, 3, 3, seed=1), randn(4, seed=2), randn(2, 4, 3, 3, seed=3).sigmoid()]


def _conv_step(x, weight, bias, target):
    return F.mse_loss(F.conv2d(x, weight, bias, stride=2, padding=1).sigmoid(), target)


def _torch_conv_step(x, weight, bias, target):
    conv = torch.nn.functional.conv2d(x, weight, bias, stride=2, padding=1)
    return torch.nn.functional.mse_loss(conv.sigmoid(), target)


def _engine_conv_gradients(audit: bool = False) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Run the conv step in the engine; returns (gradients of x, weight, bias; raw tensors it held)."""
    x, weight, bias, target = _conv_inputs()
    leaves = [tn.Tensor(v, requires_grad=True) for v in (x, weight, bias)]
    start = tape._state.log.next_seq
    loss = _conv_step(*leaves, tn.Tensor(target))
    held = _tape_tensors(start) + list(_raw_tensors(loss)) if audit else []
    loss.backward()
    held += list(_raw_tensors(leaves))
    return [leaf.gradient for leaf in leaves], held


def _reference_conv_gradients() -> list[torch.Tensor]:
    x, weight, bias, target = (v.requires_grad_(i < 3) for i, v in enumerate(_conv_inputs()))
    _torch_conv_step(x, weight, bias, target).backward()
    return [x.grad, weight.grad, bias.grad]


@pytest.fixture(scope="module")
def conv_reference() -> list[torch.Tensor]:
    """torch.autograd's gradients, computed before any test patches torch.autograd out."""
    return _reference_conv_gradients()


def test_conv_sigmoid_mse_matches_torch_autograd_with_torch_autograd_forbidden(conv_reference, forbid_torch_autograd):
    ours, _ = _engine_conv_gradients()
    for got, expected in zip(ours, conv_reference):
        torch.testing.assert_close(got, expected, atol=1e-10, rtol=0)


def test_the_forbidding_fixture_catches_torch_autograd(forbid_torch_autograd):
    with pytest.raises(AssertionError, match=r"torch\.autograd was called"):
        torch.ones(2).requires_grad_()
    with pytest.raises(AssertionError, match=r"torch\.autograd was called"):
        torch.autograd.grad(torch.ones(()), [torch.ones(())])


def test_conv_step_holds_no_raw_tensor_tracked_by_torch_autograd():
    with AutogradAudit() as audit:
        _, held = _engine_conv_gradients(audit=True)
    _assert_untracked(held)
    assert len(held) > 10 and audit.calls > 20, "the audit saw too little to prove anything"
    assert audit.tracked == [], f"torch calls with tracked tensors: {audit.tracked}"


def test_the_audit_itself_catches_torch_autograd():
    with AutogradAudit() as audit:
        torch.randn(3).requires_grad_().sigmoid()
    assert "sigmoid" in audit.tracked
    with pytest.raises(AssertionError, match=r"tracked by torch.autograd: \[\(3,\)\]"):
        _assert_untracked([torch.randn(2), torch.randn(3, requires_grad=True)])


# ---------------------------------------------------------------- a whole nn training step with an optimizer


def _engine_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 3, padding=1, stride=2), nn.Sigmoid()
    ).double()


def _torch_model() -> torch.nn.Module:
    layers = torch.nn
    return layers.Sequential(
        layers.Conv2d(1, 4, 3, padding=1), layers.ReLU(), layers.Conv2d(4, 1, 3, padding=1, stride=2), layers.Sigmoid()
    ).double()


def _batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    return randn(2, 1, 6, 6, seed=10 + step), randn(2, 1, 3, 3, seed=20 + step).sigmoid()


def _train_engine(state: dict, audit: bool = False) -> tuple[dict, dict, list[torch.Tensor]]:
    """STEPS Adam steps from `state`; returns (parameters, last gradients, raw tensors held along the way)."""
    model = _engine_model()
    model.load_state_dict(state)
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    held: list[torch.Tensor] = []
    for step in range(STEPS):
        x, target = _batch(step)
        optimizer.zero_grad()
        start = tape._state.log.next_seq
        loss = nn.MSELoss()(model(tn.Tensor(x)), tn.Tensor(target))
        held += _tape_tensors(start) if audit else []
        loss.backward()
        optimizer.step()
        held += list(_raw_tensors(loss)) + list(_raw_tensors(list(model.parameters())))
    held += list(_raw_tensors(list(optimizer.state.values())))
    grads = {name: p.gradient.clone() for name, p in model.named_parameters()}
    return {k: v.clone() for k, v in model.state_dict().items()}, grads, held


def _train_torch(state: dict) -> tuple[dict, dict]:
    model = _torch_model()
    model.load_state_dict(state)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for step in range(STEPS):
        x, target = _batch(step)
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), target).backward()
        optimizer.step()
    return {k: v.detach() for k, v in model.state_dict().items()}, {n: p.grad for n, p in model.named_parameters()}


@pytest.fixture(scope="module")
def initial_state() -> dict:
    return {k: v.clone() for k, v in _engine_model().state_dict().items()}


@pytest.fixture(scope="module")
def torch_reference(initial_state) -> tuple[dict, dict]:
    """torch.nn + torch.autograd + torch.optim, run before any test patches torch.autograd out."""
    return _train_torch(initial_state)


def test_training_step_with_torch_autograd_forbidden_matches_torch_autograd_and_torch_optim(
    initial_state, torch_reference, forbid_torch_autograd
):
    params_torch, grads_torch = torch_reference
    params, grads, _ = _train_engine(initial_state)
    assert grads.keys() == grads_torch.keys() == {"0.weight", "0.bias", "2.weight", "2.bias"}
    for name in grads_torch:
        assert not torch.equal(params[name], initial_state[name]), f"{name} was not updated"
        torch.testing.assert_close(grads[name], grads_torch[name], atol=1e-10, rtol=0, msg=name)
        torch.testing.assert_close(params[name], params_torch[name], atol=1e-10, rtol=0, msg=name)


def test_training_step_holds_no_raw_tensor_tracked_by_torch_autograd(initial_state, forbid_torch_autograd):
    with AutogradAudit() as audit:
        _, _, held = _train_engine(initial_state, audit=True)
    _assert_untracked(held)
    assert len(held) > 30 and audit.calls > 50, "the audit saw too little to prove anything"
    assert audit.tracked == [], f"torch calls with tracked tensors: {audit.tracked}"
