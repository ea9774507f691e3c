"""Anomaly mode: tn.autograd.detect_anomaly / set_detect_anomaly (torch's own switches govern the engine).

A NaN made by a backward raises a RuntimeError where torch's does, starting with torch's words; the engine's
message also names the op's module path, the shapes and the forward call that recorded the op. The engine
also refuses NaN/Inf in a recorded op's forward output and Inf in gradients (torch checks backward NaNs only).
"""

from __future__ import annotations

import contextlib

import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n import nn, tape

pytestmark = [
    pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled"),
    pytest.mark.filterwarnings("ignore:Error detected in"),
]


def nan_in_backward(x):
    """Finite forward (sqrt(0) * 0 = 0), NaN in sqrt's backward (0 / (2 * sqrt(0)))."""
    return (x.sqrt() * 0).sum()


def zeros_leaf(lib):
    value = torch.zeros(3, dtype=torch.float64)
    return tn.Tensor(value, requires_grad=True) if lib is tn else value.requires_grad_()


def anomaly_on(switch: str):
    """The four spellings: the engine's or torch's context manager, the engine's or torch's setter."""
    module = tn.autograd if switch.startswith("tn") else torch.autograd
    if switch.endswith("context"):
        return module.detect_anomaly()
    module.set_detect_anomaly(True)
    return contextlib.nullcontext()


@pytest.mark.parametrize("switch", ["tn_context", "torch_context", "tn_set", "torch_set"])
def test_backward_nan_raises_where_torch_does(switch):
    messages = []
    for lib in (tn, torch):
        x = zeros_leaf(lib)
        try:
            with anomaly_on(switch):
                loss = nan_in_backward(x)
                with pytest.raises(RuntimeError) as info:
                    loss.backward()
        finally:
            torch.autograd.set_detect_anomaly(False)
        messages.append(str(info.value))
    ours, theirs = messages
    assert theirs.startswith("Function 'SqrtBackward0' returned nan values in its 0th output")
    assert ours.startswith("Function 'sqrt' returned nan values in its 0th output")
    assert "nan_in_backward" in ours and "x.sqrt() * 0" in ours  # the forward call that recorded sqrt
    assert "input shapes: (3,)" in ours


def test_off_the_nan_flows_into_the_gradient_as_in_torch():
    assert not torch.is_anomaly_enabled()
    grads = []
    for lib in (tn, torch):
        x = zeros_leaf(lib)
        nan_in_backward(x).backward()
        grads.append(x.grad)
    assert torch.isnan(grads[0]).all() and torch.isnan(grads[1]).all()


def test_check_nan_false_records_stacks_but_does_not_check():
    for lib in (tn, torch):
        x = zeros_leaf(lib)
        with torch.autograd.detect_anomaly(check_nan=False):
            nan_in_backward(x).backward()
        assert torch.isnan(x.grad).all()


def test_stacks_are_captured_only_in_anomaly_mode():
    x = zeros_leaf(tn)
    plain = x.exp()
    with tn.autograd.detect_anomaly():
        watched = x.exp()
    assert plain._entry.extra is None
    assert any("watched = x.exp()" in line for line in watched._entry.extra.stack)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Tanh(), nn.Linear(3, 2).double())

    def forward(self, x):
        return self.body(x)


def test_forward_nan_names_op_module_path_shapes_and_stack():
    net = Net()
    net.body[1].weight.data[0, 0] = float("nan")
    x = tn.Tensor(torch.ones(4, 3, dtype=torch.float64), requires_grad=True)
    with tn.autograd.detect_anomaly(), pytest.raises(RuntimeError) as info:
        net(x)
    message = str(info.value)
    assert "returned nan values in its forward output of shape (4, 2)" in message
    assert "module path: Net > body.1 (Linear)" in message
    assert "(4, 3), (2, 3), (2,)" in message  # input shapes of the linear op
    assert "net(x)" in message  # this test's line, in the forward stack
    net(x)  # off again: no check


def test_forward_inf_in_a_recorded_op_raises_and_unrecorded_ops_are_not_checked():
    x = tn.Tensor(torch.zeros(2, dtype=torch.float64), requires_grad=True)
    with tn.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="Function 'log' returned inf values in its forward output"):
            x.log()
        with tn.no_grad():
            assert torch.isinf(x.log().data).all()


def test_other_backward_errors_get_the_forward_stack_as_a_note():
    x = tn.Tensor(torch.ones(3, dtype=torch.float64), requires_grad=True)
    with tn.autograd.detect_anomaly():
        y = x.exp()
        loss = (y * y).sum()
    with tn.no_grad():
        y.data.add_(1)  # changes a tensor saved by the multiplication
    with tn.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="modified by an inplace operation") as info:
        loss.backward()
    assert any("loss = (y * y).sum()" in note for note in info.value.__notes__)


def test_anomaly_mode_costs_nothing_when_off():
    """Off, recorded entries keep no extras (no stack) and backward takes the fast path."""
    x = tn.Tensor(torch.ones(3, dtype=torch.float64), requires_grad=True)
    start = tape._state.log.next_seq
    y = (x * 2).exp()
    assert y._entry.extra is None
    assert [entry.extra for entry in tape.live_entries() if entry.seq >= start] == [None, None]
