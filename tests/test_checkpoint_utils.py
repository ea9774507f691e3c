"""tn.utils.checkpoint / checkpoint_sequential (non-reentrant semantics): outputs and gradients equal the plain
run's bit for bit (dropout replays the same masks), match torch.utils.checkpoint on a torch twin (float64), and
the forward keeps no intermediate entries on the tape."""

from __future__ import annotations

import pytest
import torch

import tinygrad_n2n as tn
from tests.helpers import randn
from tinygrad_n2n import nn, tape


def engine_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.3), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2)
    ).double()


def torch_twin(net: nn.Sequential) -> torch.nn.Sequential:
    twin = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Dropout(0.3), torch.nn.Linear(8, 8), torch.nn.ReLU(),
        torch.nn.Linear(8, 2),
    ).double()  # fmt: skip
    twin.load_state_dict({k: v.clone() for k, v in net.state_dict().items()})
    return twin


def run(net, value: torch.Tensor, how, engine: bool = True):
    """Loss and gradients (parameters, then the input) of one training step, the RNG seeded first."""
    x = tn.Tensor(value.clone(), requires_grad=True) if engine else value.clone().requires_grad_()
    torch.manual_seed(1)
    loss = how(net, x).sum()
    loss.backward()
    grads = [p.grad.clone() for p in net.parameters()] + [x.grad.clone()]
    net.zero_grad()
    return loss.item(), grads


PLAIN = lambda net, x: net(x)  # noqa: E731
HOWS = {
    "checkpoint": lambda net, x: tn.utils.checkpoint(net, x, use_reentrant=False),
    "sequential_2": lambda net, x: tn.utils.checkpoint_sequential(net, 2, x, use_reentrant=False),
    "sequential_3": lambda net, x: tn.utils.checkpoint_sequential(net, 3, x, use_reentrant=False),
    "nested": lambda net, x: tn.utils.checkpoint(lambda y: net[3:](tn.utils.checkpoint(net[:3], y)), x),
}
TORCH_HOWS = {
    "checkpoint": lambda net, x: torch.utils.checkpoint.checkpoint(net, x, use_reentrant=False),
    "sequential_2": lambda net, x: torch.utils.checkpoint.checkpoint_sequential(net, 2, x, use_reentrant=False),
    "sequential_3": lambda net, x: torch.utils.checkpoint.checkpoint_sequential(net, 3, x, use_reentrant=False),
}


@pytest.mark.parametrize("name", sorted(HOWS))
def test_gradients_equal_the_plain_run_bit_for_bit(name):
    net, value = engine_net(), randn(5, 4)
    loss, grads = run(net, value, PLAIN)
    loss_ckpt, grads_ckpt = run(net, value, HOWS[name])
    assert loss == loss_ckpt
    for plain, ckpt in zip(grads, grads_ckpt):
        assert torch.equal(plain, ckpt)


@pytest.mark.parametrize("name", sorted(TORCH_HOWS))
def test_matches_torch_utils_checkpoint(name):
    net, value = engine_net(), randn(5, 4)
    twin = torch_twin(net)
    loss, grads = run(net, value, HOWS[name])
    ref_loss, ref_grads = run(twin, value, TORCH_HOWS[name], engine=False)
    assert loss == pytest.approx(ref_loss, abs=1e-12)
    for mine, ref in zip(grads, ref_grads):
        torch.testing.assert_close(mine, ref, rtol=0, atol=1e-12)


def test_forward_keeps_only_one_entry_and_no_saved_tensors():
    net, value = engine_net(), randn(5, 4)
    x = tn.Tensor(value, requires_grad=True)
    before = tape.tape_length()
    out = tn.utils.checkpoint(net, x)
    assert tape.tape_length() - before == 1
    assert out._entry.ctx.saved_tensors == ()
    assert out.requires_grad


def test_parameters_read_from_a_closure_and_kwargs_get_gradients():
    """Non-reentrant semantics: a function that reads parameters that are not arguments still trains them."""
    weight_value, x_value = randn(3, 3, seed=1), randn(2, 3, seed=2)
    grads = []
    for engine in (True, False):
        make = (
            (lambda v: tn.Tensor(v.clone(), requires_grad=True)) if engine else (lambda v: v.clone().requires_grad_())
        )
        weight, x = make(weight_value), make(x_value)

        def block(inp, scale=1.0, weight=weight):
            return (inp @ weight).tanh() * scale

        ckpt = tn.utils.checkpoint if engine else torch.utils.checkpoint.checkpoint
        (ckpt(block, x, use_reentrant=False, scale=3.0) ** 2).sum().backward()
        grads.append((weight.grad, x.grad))
    for mine, ref in zip(*grads):
        torch.testing.assert_close(mine, ref, rtol=0, atol=1e-12)


def test_several_outputs_and_a_non_leaf_input_replay_once():
    a_value = randn(3, seed=3)
    grads, calls = [], []

    def block(h):
        calls.append(1)
        return h.exp(), h.sin(), "label"

    for engine in (True, False):
        a = tn.Tensor(a_value.clone(), requires_grad=True) if engine else a_value.clone().requires_grad_()
        hidden = a * 2  # a non-leaf flowing into the checkpoint
        ckpt = tn.utils.checkpoint if engine else torch.utils.checkpoint.checkpoint
        first, second, label = ckpt(block, hidden, use_reentrant=False)
        assert label == "label"
        (first.sum() * 2 + (second * second).sum()).backward()
        grads.append(a.grad)
        assert len(calls) == 2  # the forward and one replay for both outputs, as torch
        calls.clear()
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=1e-12)


def test_autograd_grad_through_a_checkpoint_leaves_grad_untouched():
    net, value = engine_net(), randn(5, 4)
    net.eval()
    x = tn.Tensor(value, requires_grad=True)
    with tn.enable_grad():
        plain = tn.autograd.grad(net(x).sum(), [x])[0]
        ckpt = tn.autograd.grad(tn.utils.checkpoint(net, x).sum(), [x])[0]
    assert torch.equal(plain, ckpt)
    assert all(p.grad is None for p in net.parameters())


def test_replay_leaves_the_global_rng_state_alone_and_backward_can_repeat():
    net, value = engine_net(), randn(5, 4)
    x = tn.Tensor(value, requires_grad=True)
    loss = tn.utils.checkpoint(net, x).sum()
    state = torch.get_rng_state()
    loss.backward(retain_graph=True)
    assert torch.equal(torch.get_rng_state(), state)
    first = x.grad.clone()
    loss.backward()
    torch.testing.assert_close(x.grad, 2 * first)


def test_no_grad_just_runs_and_reentrant_is_refused():
    net, value = engine_net(), randn(5, 4)
    with tn.no_grad():
        out = tn.utils.checkpoint(net, tn.Tensor(value))
    assert not out.requires_grad
    with pytest.raises(NotImplementedError, match="use_reentrant=False"):
        tn.utils.checkpoint(net, tn.Tensor(value), use_reentrant=True)


def test_checkpointing_the_unet_blocks_keeps_under_0_6_of_its_activation_memory():
    """The bench's measure (`bench/activation_memory.py`: the bytes a forward leaves allocated, by torch.profiler)
    on a batch of 4: checkpointing the default U-Net's five blocks keeps little more than their inputs."""
    from bench.activation_memory import forwards, held_after_forward

    steps, x = forwards("tinygrad_n2n", 4)
    plain, checkpointed = (held_after_forward(steps[mode], x) for mode in ("plain", "checkpointed"))
    assert 0 < checkpointed < 0.6 * plain
