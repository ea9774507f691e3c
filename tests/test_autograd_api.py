"""tn.autograd.grad / tn.autograd.backward / Tensor.backward(inputs=...) against torch.autograd (float64):
the same numbers, the same side effects on .grad, the same exception types (and torch's wording)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_n2n as tn
from tests.helpers import randn


def pair(*shape: int, seed: int = 0) -> tuple[tn.Tensor, torch.Tensor]:
    """The same float64 leaf in the engine and in torch, both requiring a gradient."""
    value = randn(*shape, seed=seed)
    return tn.Tensor(value.clone(), requires_grad=True), value.clone().requires_grad_()


def chain(x):
    """y = 2x (a non-leaf), z = sum(y**2) + sum(x * y): works on either kind of tensor."""
    y = x * 2
    return y, (y**2).sum() + (x * y).sum()


def test_grad_leaf_and_nonleaf_inputs_match_torch_and_leave_grad_untouched():
    x, tx = pair(3)
    y, z = chain(x)
    ty, tz = chain(tx)
    ours = tn.autograd.grad(z, [x, y])
    theirs = torch.autograd.grad(tz, [tx, ty])
    for mine, ref in zip(ours, theirs):
        torch.testing.assert_close(mine, ref, rtol=0, atol=1e-12)
    assert x.grad is None and tx.grad is None


def test_grad_with_grad_outputs_and_several_outputs():
    x, tx = pair(2, 3)
    seed = randn(2, 3, seed=1)
    outs = [x.tanh(), (x * x).sum()]
    touts = [tx.tanh(), (tx * tx).sum()]
    ours = tn.autograd.grad(outs, x, grad_outputs=[seed, None])
    theirs = torch.autograd.grad(touts, tx, grad_outputs=[seed, None])
    torch.testing.assert_close(ours[0], theirs[0], rtol=0, atol=1e-12)


def test_grad_sees_hooks_and_fills_retain_grad_as_torch():
    """autograd.grad returns the gradient after tensor hooks, and retain_grad tensors on the way get .grad."""
    x, tx = pair(3)
    results = []
    for leaf, grad_fn in ((x, tn.autograd.grad), (tx, torch.autograd.grad)):
        y = leaf * 2
        y.retain_grad()
        y.register_hook(lambda g: g * 10)
        (g,) = grad_fn((y**2).sum(), [leaf])
        results.append((g, y.grad))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=0, atol=1e-12)
    torch.testing.assert_close(results[0][1], results[1][1], rtol=0, atol=1e-12)


def test_grad_runs_only_the_part_of_the_graph_between_outputs_and_inputs():
    """A hook on a branch that does not lead to the inputs does not run (torch prunes the graph)."""
    for lib, make, grad_fn in ((tn, lambda v: tn.Tensor(v, requires_grad=True), tn.autograd.grad),
                               (torch, lambda v: v.requires_grad_(), torch.autograd.grad)):  # fmt: skip
        a, b = make(randn(3, seed=1)), make(randn(3, seed=2))
        calls = []
        other = b.exp()
        other.register_hook(lambda g, calls=calls: calls.append(1))
        grad_fn((a * 3 + other).sum(), [a])
        assert calls == [], lib.__name__


def test_allow_unused_and_materialize_grads_as_torch():
    x, tx = pair(3)
    w, tw = pair(3, seed=1)
    z, tz = (x * 2).sum(), (tx * 2).sum()
    assert tn.autograd.grad(z, [w], retain_graph=True, allow_unused=True) == (None,)
    assert torch.autograd.grad(tz, [tw], retain_graph=True, allow_unused=True) == (None,)
    (ours,) = tn.autograd.grad(z, [w], retain_graph=True, materialize_grads=True)
    (theirs,) = torch.autograd.grad(tz, [tw], retain_graph=True, materialize_grads=True)
    torch.testing.assert_close(ours, theirs)
    with pytest.raises(RuntimeError) as mine:
        tn.autograd.grad(z, [w], retain_graph=True)
    with pytest.raises(RuntimeError) as ref:
        torch.autograd.grad(tz, [tw], retain_graph=True)
    assert str(mine.value) == str(ref.value)


ERROR_CASES = {  # name -> call(lib, x, z) ; x a leaf of shape (3,), z = sum(2x); y = 2x is made inside
    "unused_with_materialize": lambda lib, x, z: lib.autograd.grad(
        z, [x * 1], allow_unused=False, materialize_grads=True
    ),
    "input_not_requiring_grad": lambda lib, x, z: lib.autograd.grad(z, [x.detach()], retain_graph=True),
    "output_not_requiring_grad": lambda lib, x, z: lib.autograd.grad((x.detach() * 2).sum(), [x]),
    "implicit_non_scalar": lambda lib, x, z: lib.autograd.grad(x * 2, [x]),
    "implicit_non_scalar_none": lambda lib, x, z: lib.autograd.grad(x * 2, [x], grad_outputs=[None]),
    "grad_outputs_shape": lambda lib, x, z: lib.autograd.grad(x * 2, [x], grad_outputs=[torch.ones(2).double()]),
    "grad_outputs_number": lambda lib, x, z: lib.autograd.grad(z, [x], grad_outputs=3.0),
    "empty_inputs": lambda lib, x, z: lib.autograd.grad(z, []),
    "number_input": lambda lib, x, z: lib.autograd.grad(z, [1.0]),
    "backward_empty_inputs": lambda lib, x, z: lib.autograd.backward(z, inputs=[]),
    "backward_input_not_requiring_grad": lambda lib, x, z: lib.autograd.backward(z, inputs=[x.detach()]),
    "backward_implicit_non_scalar": lambda lib, x, z: lib.autograd.backward([z, x * 2]),
}
SAME_WORDS = {"unused_with_materialize", "input_not_requiring_grad", "output_not_requiring_grad",
              "implicit_non_scalar", "implicit_non_scalar_none", "grad_outputs_shape", "empty_inputs",
              "number_input", "backward_empty_inputs", "backward_input_not_requiring_grad"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_errors_have_torchs_type(name):
    x, tx = pair(3)
    raised = []
    for lib, leaf in ((tn, x), (torch, tx)):
        with pytest.raises(Exception) as info:
            ERROR_CASES[name](lib, leaf, (leaf * 2).sum())
        raised.append(info.value)
    assert type(raised[0]) is type(raised[1]), (raised[0], raised[1])
    if name in SAME_WORDS:
        assert str(raised[0]) == str(raised[1])


def test_grad_twice_without_retain_graph_raises_runtime_error_as_torch():
    x, tx = pair(3)
    z, tz = (x * 3).sum(), (tx * 3).sum()
    tn.autograd.grad(z, [x])
    torch.autograd.grad(tz, [tx])
    with pytest.raises(RuntimeError, match="second time"):
        tn.autograd.grad(z, [x])
    with pytest.raises(RuntimeError, match="second time"):
        torch.autograd.grad(tz, [tx])


def test_create_graph_is_not_supported_yet():
    x, _ = pair(3)
    z = (x * x).sum()
    for call in (
        lambda: tn.autograd.grad(z, [x], create_graph=True),
        lambda: tn.autograd.backward(z, create_graph=True),
        lambda: z.backward(create_graph=True),
    ):
        with pytest.raises(NotImplementedError, match="higher-order gradients are not supported yet"):
            call()
    z.backward()  # nothing was consumed
    torch.testing.assert_close(x.grad, 2 * x.data)


def test_autograd_backward_several_tensors_matches_torch():
    x, tx = pair(2, 2)
    seed = randn(2, 2, seed=3)
    tn.autograd.backward([(x * x).sum(), x.exp()], [None, seed])
    torch.autograd.backward([(tx * tx).sum(), tx.exp()], [None, seed])
    torch.testing.assert_close(x.grad, tx.grad, rtol=0, atol=1e-12)


@pytest.mark.parametrize("how", ["autograd", "method"])
def test_backward_inputs_fills_only_the_given_tensors_as_torch(how):
    grads = []
    for lib, make in ((tn, lambda v: tn.Tensor(v, requires_grad=True)), (torch, lambda v: v.requires_grad_())):
        x, a = make(randn(3, seed=0)), make(randn(3, seed=1))
        y = x * 2
        y.retain_grad()
        z = (y**2).sum() + (a * x).sum()
        if how == "autograd":
            lib.autograd.backward(z, inputs=[a], retain_graph=True)
        else:
            z.backward(inputs=[a], retain_graph=True)
        first = (a.grad.clone(), x.grad, y.grad)  # y is not on the path to a: no .grad (pruned)
        z.backward(inputs=[y])  # a non-leaf input accumulates into its .grad
        grads.append((*first, y.grad.clone(), x.grad))
    ours, theirs = grads
    torch.testing.assert_close(ours[0], theirs[0], rtol=0, atol=1e-12)
    assert ours[1] is None and theirs[1] is None and ours[2] is None and theirs[2] is None
    torch.testing.assert_close(ours[3], theirs[3], rtol=0, atol=1e-12)
    assert ours[4] is None and theirs[4] is None


def test_grad_of_a_leaf_output_and_repeated_inputs():
    x, tx = pair(3)
    ours = tn.autograd.grad(x.sum(), [x, x])
    theirs = torch.autograd.grad(tx.sum(), [tx, tx])
    for mine, ref in zip(ours, theirs):
        torch.testing.assert_close(mine, ref)


@settings(max_examples=15, deadline=None)
@given(rows=st.integers(1, 4), cols=st.integers(1, 4), seed=st.integers(0, 100))
def test_grad_broadcasting_expression_matches_torch(rows, cols, seed):
    a_value, b_value = randn(rows, cols, seed=seed), randn(cols, seed=seed + 1)
    a, b = tn.Tensor(a_value.clone(), requires_grad=True), tn.Tensor(b_value.clone(), requires_grad=True)
    ta, tb = a_value.clone().requires_grad_(), b_value.clone().requires_grad_()
    hidden, thidden = (a * b).tanh(), (ta * tb).tanh()
    ours = tn.autograd.grad((hidden * a).sum(), [a, b, hidden])
    theirs = torch.autograd.grad((thidden * ta).sum(), [ta, tb, thidden])
    for mine, ref in zip(ours, theirs):
        torch.testing.assert_close(mine, ref, rtol=0, atol=1e-12)
