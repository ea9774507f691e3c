"""The tape (tape.py): recording switches, the reverse walk, accumulation, freeing, and memory."""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import pytest
import torch

import tinygrad_n2n as tn
from tests.helpers import check_op, randn
from tinygrad_n2n import functional as F
from tinygrad_n2n import tape
from tinygrad_n2n.ops.function import Function


def leaf(*shape: int, seed: int = 0) -> tn.Tensor:
    return tn.Tensor(randn(*shape, seed=seed), requires_grad=True)


class Spy(Function):
    """y = x, counting backward calls (to see which entries the walk visits)."""

    calls = 0

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad_out):
        Spy.calls += 1
        return grad_out


# ---------------------------------------------------------------- recording switches


def test_records_only_when_some_input_requires_grad():
    constant, variable = tn.Tensor(randn(3)), leaf(3)
    before = tape.tape_length()
    out = constant * 2 + constant.exp()
    assert not out.requires_grad and out.is_leaf and tape.tape_length() == before
    mixed = constant * variable
    assert mixed.requires_grad and not mixed.is_leaf and tape.tape_length() == before + 1


def test_no_grad_stops_recording_and_enable_grad_resumes_it_inside():
    x = leaf(3)
    before = tape.tape_length()
    assert tn.is_grad_enabled()
    with tn.no_grad():
        assert not tn.is_grad_enabled()
        off = x * 2
        with tn.enable_grad():
            assert tn.is_grad_enabled()
            on = x * 3
        assert not tn.is_grad_enabled()
    assert tn.is_grad_enabled()
    assert not off.requires_grad and off.is_leaf
    assert on.requires_grad and tape.tape_length() == before + 1
    on.sum().backward()
    assert torch.equal(x.gradient, torch.full_like(x.data, 3.0))


def test_switches_work_as_decorators_and_restore_on_exceptions():
    @tn.no_grad()
    def frozen(t):
        return t * 2

    @tn.enable_grad()
    def forced(t):
        return t * 2

    x = leaf(2)
    assert not frozen(x).requires_grad
    with tn.no_grad():
        assert forced(x).requires_grad
        assert not frozen(x).requires_grad
    with pytest.raises(ValueError), tn.no_grad():
        raise ValueError
    assert tn.is_grad_enabled()


def test_inference_scope_turns_recording_off_unless_enable_grad_forced_it():
    x = leaf(2)
    with tape.inference_scope(True):
        assert not (x * 2).requires_grad
    with tn.enable_grad(), tape.inference_scope(True):
        assert (x * 2).requires_grad
    with tape.inference_scope(False):
        assert (x * 2).requires_grad


# ---------------------------------------------------------------- the reverse walk


def test_reused_values_diamonds_and_broadcasting_match_torch():
    def reused(a):
        b = a + a
        return b * b

    def diamond(a, w):
        h = a * w
        left, right = h.exp(), h.sigmoid()
        return (left * right + h) / (right + 1)

    def broadcast(a, row, col):
        mixed = a * row + col
        return mixed * a - (row * col).tanh()

    check_op(reused, reused, [randn(3, 2)])
    check_op(diamond, diamond, [randn(3, 4, seed=1), randn(4, seed=2)])
    check_op(broadcast, broadcast, [randn(3, 4, seed=3), randn(1, 4, seed=4), randn(3, 1, seed=5)])


def test_deep_graph_needs_no_recursion():
    x = leaf(2)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    torch.testing.assert_close(x.gradient, torch.full_like(x.data, 1.0001**5000))


def test_walk_visits_only_entries_that_receive_a_gradient():
    x = leaf(3)
    Spy.calls = 0
    on_path = Spy.apply(x)
    side_branch = Spy.apply(x) * 3  # recorded between, but not an ancestor of the loss
    (on_path * 2).sum().backward()
    assert Spy.calls == 1
    assert torch.equal(x.gradient, torch.full_like(x.data, 2.0))
    assert not side_branch._entry.freed  # untouched: it can still be differentiated
    side_branch.sum().backward()
    assert Spy.calls == 2 and torch.equal(x.gradient, torch.full_like(x.data, 5.0))


def test_input_that_receives_no_gradient_keeps_none():
    class FirstOnly(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, grad_out):
            return grad_out, None

    x, y = leaf(2), leaf(2, seed=1)
    Spy.calls = 0
    FirstOnly.apply(x, Spy.apply(y)).sum().backward()
    assert torch.equal(x.gradient, torch.ones(2, dtype=torch.float64))
    assert y.gradient is None and Spy.calls == 0


def test_leaves_accumulate_and_non_leaves_keep_gradient_only_when_retained():
    x = leaf(3)
    hidden, kept = x * 2, x * 4
    kept.retain_grad()
    loss = (hidden * kept).sum()
    loss.backward()
    first = x.gradient.clone()
    torch.testing.assert_close(first, 16 * x.data)
    assert hidden.gradient is None and hidden.grad is None
    torch.testing.assert_close(kept.gradient, hidden.data)
    (x * 3).sum().backward()
    torch.testing.assert_close(x.gradient, first + 3)
    assert x.grad is x.gradient
    x.grad = None  # settable, as in torch (tests/test_traps.py checks what it accepts)
    assert x.gradient is None


def test_scalar_output_seeds_one_and_gradient_argument_seeds_otherwise():
    x = leaf(2, 3)
    (x * 5).sum().backward()
    assert torch.equal(x.gradient, torch.full((2, 3), 5.0, dtype=torch.float64))
    y = leaf(2, 3)
    seed = randn(2, 3, seed=7)
    (y * 5).backward(gradient=seed)
    torch.testing.assert_close(y.gradient, 5 * seed)
    z = leaf(2)
    (z * 2).backward(tn.Tensor([1.0, -1.0]))
    assert z.gradient.tolist() == [2.0, -2.0] and z.gradient.dtype == torch.float64
    w = leaf(1, 1)
    (w * 2).backward()  # one element: seeded with 1 as well
    assert w.gradient.item() == 2.0


def test_backward_on_a_leaf_accumulates_the_seed():
    x = leaf(2)
    x.backward(torch.tensor([1.0, 2.0]))
    x.backward(torch.tensor([1.0, 2.0]))
    assert x.gradient.tolist() == [2.0, 4.0]


def test_leaf_gradients_are_private_contiguous_tensors():
    """In-place updates of one gradient (as optimizers do) never touch another gradient or the seed."""
    a, b = leaf(3), leaf(3, seed=1)
    seed = torch.ones(3, dtype=torch.float64)
    (a + b).backward(seed)
    a.gradient.mul_(10)
    assert b.gradient.tolist() == [1.0, 1.0, 1.0] and seed.tolist() == [1.0, 1.0, 1.0]
    c = leaf(2, 3)
    c.sum().backward()  # the sum's backward is a broadcast view; the stored gradient is not
    assert c.gradient.is_contiguous()
    c.gradient.add_(1)
    assert torch.equal(c.gradient, torch.full((2, 3), 2.0, dtype=torch.float64))


# ---------------------------------------------------------------- freeing


def test_backward_frees_consumed_entries_and_their_saved_tensors():
    x = leaf(4)
    hidden = x.exp()
    out = (hidden * x).sum()
    entries = [out._entry, hidden._entry]
    assert all(entry.ctx.saved_tensors or entry is out._entry for entry in entries)
    before = tape.tape_length()
    out.backward()
    for entry in entries:
        assert entry.freed and entry.inputs == () and entry.ctx.saved_tensors == ()
        assert not any(isinstance(value, torch.Tensor) for value in vars(entry.ctx).values())
    assert tape.tape_length() == before - 3


@pytest.mark.parametrize("compact_between", [False, True])
def test_second_backward_through_freed_graph_raises(compact_between):
    x = leaf(3)
    hidden = x * 2
    out = (hidden * 3).sum()
    out.backward()
    if compact_between:
        tape.tape_length()  # compacting drops freed entries from the tape; the error must survive that
    with pytest.raises(RuntimeError, match=r"freed.*retain_graph=True"):
        out.backward()
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph=True"):
        (hidden * 4).sum().backward()  # reaches the freed entry of `hidden` through a new op


def test_retain_graph_keeps_the_graph_for_another_backward():
    x = leaf(3)
    out = (x.exp() * x).sum()
    out.backward(retain_graph=True)
    first = x.gradient.clone()
    assert not out._entry.freed
    out.backward()
    torch.testing.assert_close(x.gradient, 2 * first)
    assert out._entry.freed


# ---------------------------------------------------------------- memory


def _net(x: tn.Tensor, params: list[tn.Tensor]) -> tuple[tn.Tensor, tn.Tensor]:
    w1, b1, w2, b2 = params
    hidden = F.relu(F.conv2d(x, w1, b1, padding=1))
    out = F.sigmoid(F.conv2d(F.max_pool2d(hidden, 2), w2, b2, padding=1))
    return out, hidden


def test_entries_hold_no_strong_reference_to_their_output():
    x = leaf(3)
    gc.disable()
    try:
        out = x * 2
        out_ref, entry_ref = weakref.ref(out), weakref.ref(out._entry)
        del out
        assert out_ref() is None and entry_ref() is None  # freed by reference counting alone
    finally:
        gc.enable()


def _engine_objects() -> int:
    return sum(issubclass(type(o), (tn.Tensor, tape.Entry, Function)) for o in gc.get_objects())


def test_thousand_forwards_without_backward_leave_tape_and_memory_bounded():
    params = [leaf(4, 1, 3, 3, seed=1), leaf(4, seed=2), leaf(2, 4, 3, 3, seed=3), leaf(2, seed=4)]
    x, target = tn.Tensor(randn(2, 1, 8, 8, seed=5)), tn.Tensor(torch.rand(2, 2, 4, 4, dtype=torch.float64))
    for _ in range(20):  # warm-up: caches, lazily created objects
        loss = F.mse_loss(_net(x, params)[0], target)
    del loss
    gc.collect()
    base, objects = tape.tape_length(), _engine_objects()
    gc.disable()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        probes = []
        for i in range(1000):
            out, hidden = _net(x, params)
            loss = F.mse_loss(out, target)
            if i % 250 == 0:
                probes.append(weakref.ref(hidden))
        assert loss.requires_grad and tape.tape_length() == base + 6  # only the last graph is alive
        del out, hidden, loss
        assert all(probe() is None for probe in probes)  # freed by reference counting, no gc needed
        assert tape.tape_length() == base
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        gc.enable()
    assert _engine_objects() == objects
    # one retained graph costs about 9 kB of Python objects; allow for interpreter free lists, not for graphs
    assert growth < 1_000_000, f"{growth} bytes of Python objects survived 1000 dropped graphs"


def test_a_recorded_op_leaves_six_objects_for_the_garbage_collector():
    """Each recorded op of a chain leaves at most six objects tracked by Python's cyclic garbage collector (its
    Tensor, the raw result, its entry, which is its context, the inputs and saved tuples, and the tape's weak
    reference): needs_input_grad and the saved versions are shared tuples. The collector's passes grow with
    these objects, so they are part of the tape's overhead (bench: the tape overhead row)."""
    x = leaf(4, seed=0)

    def chain(length: int) -> tn.Tensor:
        y = x
        for _ in range(length):
            y = y * x
        return y

    chain(10).sum().backward()  # warm-up
    gc.collect()
    gc.disable()
    try:
        before = gc.get_count()[0]  # allocations minus deallocations of tracked objects since the collection
        y = chain(100)
        left = gc.get_count()[0] - before
    finally:
        gc.enable()
    assert y._entry is not None and left <= 6 * 100 + 10
