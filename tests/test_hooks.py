"""Tensor hooks (register_hook, register_post_accumulate_grad_hook) and Module hooks (forward pre/forward,
full backward) against torch (float64): the same gradients, calls, arguments and exception types."""

from __future__ import annotations

import gc
import weakref

import pytest
import torch

import tinygrad_n2n as tn
from tests.helpers import randn
from tinygrad_n2n import _graph_hooks, nn


def engine_leaf(value: torch.Tensor) -> tn.Tensor:
    return tn.Tensor(value.clone(), requires_grad=True)


def torch_leaf(value: torch.Tensor) -> torch.Tensor:
    return value.clone().requires_grad_()


BOTH = [(engine_leaf, "engine"), (torch_leaf, "torch")]

# ---------------------------------------------------------------- tensor hooks


def run_leaf_hook(make):
    """A leaf used twice: its hook is called once, with the summed gradient, and may replace it."""
    x = make(randn(3))
    calls = []
    x.register_hook(lambda g: calls.append(g.clone()))
    x.register_hook(lambda g: g * 10)
    (x * 2 + x * 3).sum().backward()
    return calls, x.grad


def test_leaf_hook_sees_the_summed_gradient_once_and_may_replace_it():
    (calls, grad), (tcalls, tgrad) = run_leaf_hook(engine_leaf), run_leaf_hook(torch_leaf)
    assert len(calls) == len(tcalls) == 1
    torch.testing.assert_close(calls[0], tcalls[0])
    torch.testing.assert_close(grad, tgrad)


def run_intermediate_hooks(make):
    x = make(randn(3))
    y = x.tanh()
    y.retain_grad()
    seen = []
    y.register_hook(lambda g: seen.append(g.clone()))
    handle = y.register_hook(lambda g: g * 5)
    y.register_hook(lambda g: g + 1)
    (y * y).sum().backward(retain_graph=True)
    first = (x.grad.clone(), y.grad.clone())
    handle.remove()
    x.grad = y.grad = None
    (y * y).sum().backward()
    return seen, first, (x.grad, y.grad)


def test_intermediate_hooks_chain_in_order_reach_retain_grad_and_remove():
    ours, theirs = run_intermediate_hooks(engine_leaf), run_intermediate_hooks(torch_leaf)
    for mine, ref in zip(ours[0], theirs[0]):
        torch.testing.assert_close(mine, ref)
    for mine, ref in zip((*ours[1], *ours[2]), (*theirs[1], *theirs[2])):
        torch.testing.assert_close(mine, ref, rtol=0, atol=1e-12)


def run_post_accumulate(make):
    a = make(randn(2))
    seen = []
    handle = a.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.clone()))
    (a * a).sum().backward()
    (a * a * a).sum().backward()
    handle.remove()
    (a * 4).sum().backward()
    return seen


def test_post_accumulate_grad_hook_runs_after_grad_is_updated():
    ours, theirs = run_post_accumulate(engine_leaf), run_post_accumulate(torch_leaf)
    assert len(ours) == len(theirs) == 2
    for mine, ref in zip(ours, theirs):
        torch.testing.assert_close(mine, ref, rtol=0, atol=1e-12)


def test_post_accumulate_hook_can_step_in_backward():
    """Optimizer-in-backward: the hook updates the parameter and drops its gradient, as in torch's tutorial."""
    results = []
    for make, _ in BOTH:
        w = make(randn(3))

        def step(param):
            param.data.sub_(0.1 * param.grad)
            param.grad = None

        w.register_post_accumulate_grad_hook(step)
        (w * w).sum().backward()
        results.append((w.data.clone() if isinstance(w, tn.Tensor) else w.detach().clone(), w.grad))
    torch.testing.assert_close(results[0][0], results[1][0])
    assert results[0][1] is None and results[1][1] is None


def _hooks_that_refer_to(leaf):
    leaf.register_hook(lambda g: g * leaf.data)
    leaf.register_post_accumulate_grad_hook(lambda t: leaf)


def test_a_hook_that_refers_to_its_leaf_does_not_keep_it_alive():
    x = engine_leaf(randn(3))
    _hooks_that_refer_to(x)
    (x * 2).sum().backward()
    torch.testing.assert_close(x.grad, 2 * x.data)
    key, ref = id(x), weakref.ref(x)
    del x
    gc.collect()
    assert ref() is None and key not in _graph_hooks.HOOKED_LEAVES


HOOK_ERRORS = {
    "no_grad_tensor": lambda make, x: make(randn(3)).detach().register_hook(lambda g: g),
    "post_on_non_leaf": lambda make, x: (x * 2).register_post_accumulate_grad_hook(lambda t: None),
    "post_on_no_grad": lambda make, x: x.detach().register_post_accumulate_grad_hook(lambda t: None),
    "changed_size": lambda make, x: _backward_with_hook(x, lambda g: torch.ones(2, dtype=torch.float64)),
    "changed_dtype": lambda make, x: _backward_with_hook(x, lambda g: g.float()),
    "returned_number": lambda make, x: _backward_with_hook(x, lambda g: 3.0),
}


def _backward_with_hook(x, hook):
    y = x * 2
    y.register_hook(hook)
    y.sum().backward()


@pytest.mark.parametrize("name", sorted(HOOK_ERRORS))
def test_hook_errors_have_torchs_type_and_words(name):
    raised = []
    for make, _ in BOTH:
        with pytest.raises(Exception) as info:
            HOOK_ERRORS[name](make, make(randn(3)))
        raised.append(info.value)
    assert type(raised[0]) is type(raised[1])
    assert str(raised[0]) == str(raised[1])


# ---------------------------------------------------------------- module forward hooks


def twin_linears():
    ours = nn.Linear(3, 2).double()
    theirs = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        theirs.weight.copy_(ours.weight.data)
        theirs.bias.copy_(ours.bias.data)
    return ours, theirs


def add_forward_hooks(module, log):
    module.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    module.register_forward_pre_hook(lambda m, args: args[0] * 3)  # a non-tuple is wrapped
    module.register_forward_pre_hook(lambda m, args, kw: ((args[0] + 1,), kw), with_kwargs=True)
    module.register_forward_hook(lambda m, args, out: out + 1)
    module.register_forward_hook(lambda m, args, kw, out: log.append(("kw", dict(kw))), with_kwargs=True)
    module.register_forward_hook(lambda m, args, out: log.append(("first", float(args[0].sum()))), prepend=True)
    return module.register_forward_hook(lambda m, args, out: out * 2)


def test_forward_hooks_replace_inputs_and_outputs_in_torchs_order():
    ours, theirs = twin_linears()
    logs = ([], [])
    handles = add_forward_hooks(ours, logs[0]), add_forward_hooks(theirs, logs[1])
    x = randn(2, 3, seed=4)
    torch.testing.assert_close(ours(x).data, theirs(x).detach(), rtol=0, atol=1e-12)
    assert logs[0] == logs[1]
    for handle in handles:
        handle.remove()
    torch.testing.assert_close(ours(x).data, theirs(x).detach(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("result", [(1, 2, 3), 5])
def test_bad_pre_hook_result_with_kwargs_raises_as_torch(result):
    raised = []
    for module in twin_linears():
        module.register_forward_pre_hook(lambda m, args, kw: result, with_kwargs=True)
        with pytest.raises(RuntimeError) as info:
            module(randn(1, 3))
        raised.append(str(info.value))
    assert raised[0] == raised[1]


# ---------------------------------------------------------------- full backward hooks


class Scaled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 2).double()

    def forward(self, u, v, k=None):
        return self.lin(u) * v, self.lin(u).sum()


class TorchScaled(torch.nn.Module):
    def __init__(self, twin: Scaled) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(3, 2).double()
        with torch.no_grad():
            self.lin.weight.copy_(twin.lin.weight.data)
            self.lin.bias.copy_(twin.lin.bias.data)

    def forward(self, u, v, k=None):
        return self.lin(u) * v, self.lin(u).sum()


def record_backward(module, u, v, use_second: bool):
    seen = []
    module.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go)))
    first, second = module(u, v, k=u)
    (first.sum() + (second if use_second else 0)).backward()
    return seen


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
@pytest.mark.parametrize("u_grad", [True, False])
def test_full_backward_hook_sees_torchs_grad_input_and_grad_output(u_grad):
    """grad_input: one per tensor positional arg (even v, which needs no gradient, gets one when u does, as
    torch); grad_output: one per tensor output; all None inputs when no arg requires a gradient."""
    ours = Scaled()
    theirs = TorchScaled(ours)
    u, v = randn(4, 3, seed=1), randn(4, 2, seed=2)
    mine = record_backward(ours, tn.Tensor(u, requires_grad=u_grad), tn.Tensor(v), use_second=not u_grad)
    ref = record_backward(theirs, u.clone().requires_grad_(u_grad), v, use_second=not u_grad)
    assert len(mine) == len(ref) == 1
    for got, expected in zip((*mine[0][0], *mine[0][1]), (*ref[0][0], *ref[0][1])):
        assert (got is None) == (expected is None)
        if got is not None:
            torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)


def run_replacing_hook(linear, make):
    linear.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0 + go[0].sum(),))
    u = make(randn(4, 3))
    linear(u).tanh().sum().backward()
    return u.grad


def test_full_backward_hook_may_replace_grad_input():
    ours, theirs = twin_linears()
    torch.testing.assert_close(run_replacing_hook(ours, engine_leaf), run_replacing_hook(theirs, torch_leaf))


@pytest.mark.parametrize("bad", ["count", "size"])
def test_full_backward_hook_bad_result_raises_as_torch(bad):
    raised = []
    for linear, (make, _) in zip(twin_linears(), BOTH):
        if bad == "count":
            linear.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
        else:
            linear.register_full_backward_hook(lambda m, gi, go: (gi[0][:1],))
        with pytest.raises(RuntimeError) as info:
            linear(make(randn(4, 3))).sum().backward()
        raised.append(str(info.value))
    assert raised[0] == raised[1]


def test_full_backward_hook_on_identity_and_after_remove():
    seen = []
    module = nn.Identity()
    handle = module.register_full_backward_hook(lambda m, gi, go: seen.append((gi[0].clone(), go[0].clone())))
    x = engine_leaf(randn(3))
    (module(x) * 3).sum().backward()
    torch.testing.assert_close(seen[0][0], torch.full((3,), 3.0, dtype=torch.float64))
    handle.remove()
    (module(x) * 3).sum().backward()
    assert len(seen) == 1


def run_root_and_checkpoint_hooks(make, checkpoint):
    """Hooks on the root run; a leaf used inside and outside a checkpoint sees its summed gradient once."""
    x = make(randn(3))
    calls = []
    x.register_hook(lambda g: calls.append(g.clone()))
    y = checkpoint(lambda t: t * t, x, use_reentrant=False) + x
    y.register_hook(lambda g: g * 2)
    y.backward(torch.ones(3, dtype=torch.float64))
    return calls, x.grad


def test_hooks_on_the_root_and_on_a_leaf_used_inside_a_checkpoint():
    calls, grad = run_root_and_checkpoint_hooks(engine_leaf, tn.utils.checkpoint)
    tcalls, tgrad = run_root_and_checkpoint_hooks(torch_leaf, torch.utils.checkpoint.checkpoint)
    assert len(calls) == len(tcalls) == 1
    torch.testing.assert_close(calls[0], tcalls[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(grad, tgrad, rtol=0, atol=1e-12)


def run_retained_target_and_leaf_root(make):
    x = make(randn(2))
    y = x * 3
    y.retain_grad()
    y.register_hook(lambda g: g * 2)
    (y * y).sum().backward(inputs=[y, x])  # y retains and is an input: its .grad gets the hooked gradient once
    leaf = make(randn(2, seed=1))
    leaf.register_hook(lambda g: g * 5)
    leaf.backward(torch.ones(2, dtype=torch.float64))  # a leaf root's hooks run too
    return y.grad, x.grad, leaf.grad


def test_retained_input_of_backward_and_hooks_on_a_leaf_root():
    for mine, ref in zip(run_retained_target_and_leaf_root(engine_leaf), run_retained_target_and_leaf_root(torch_leaf)):
        torch.testing.assert_close(mine, ref, rtol=0, atol=1e-12)
