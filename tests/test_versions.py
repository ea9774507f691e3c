"""Version counters: backward refuses a saved tensor that changed in place after the op was recorded, as torch
does, whether through `.data.mul_()`, an optimizer step between two backwards, or any in-place kernel."""

from __future__ import annotations

import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n import functional as F
from tinygrad_n2n import nn, optim

MODIFIED = "modified by an inplace operation"


def test_data_mul_after_forward_raises_like_torch():
    x = tn.Tensor(torch.tensor([1.0, 2.0, 3.0]), requires_grad=True)
    y = (x * x).sum()
    x.data.mul_(10)
    reference = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    z = (reference * reference).sum()
    with torch.no_grad():
        reference.mul_(10)
    with pytest.raises(RuntimeError, match=MODIFIED):
        z.backward()
    with pytest.raises(RuntimeError, match=rf"mul.backward: .*{MODIFIED}.*is at version 1; expected version 0"):
        y.backward()


def test_an_unsaved_input_may_change():
    """add saves nothing: torch allows the change, and so does the engine (same gradient)."""
    x = tn.Tensor(torch.ones(3), requires_grad=True)
    y = (x + 1).sum()
    x.data.mul_(10)
    y.backward()
    assert torch.equal(x.gradient, torch.ones(3))


def test_optimizer_step_between_two_backwards_through_a_retained_graph_raises():
    layer = nn.Linear(3, 1)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    loss = layer(tn.Tensor(torch.ones(2, 3), requires_grad=True)).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_torch_optimizer_step_between_two_backwards_raises_too():
    """The torch twin of the test above, to pin that torch raises in the same place."""
    layer = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    loss = layer(torch.ones(2, 3, requires_grad=True)).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_a_changed_view_of_a_saved_tensor_is_caught():
    """Views share their base's version counter."""
    x = tn.Tensor(torch.ones(2, 3), requires_grad=True)
    y = x.exp().sum()  # exp saves its output, not x: changing x is fine
    w = tn.Tensor(torch.ones(2, 3), requires_grad=True)
    z = (w * w).sum()
    w.data[0].zero_()
    y.backward()
    with pytest.raises(RuntimeError, match=MODIFIED):
        z.backward()


def test_conv_weights_changed_after_forward_are_caught():
    weight = tn.Tensor(torch.randn(2, 1, 3, 3), requires_grad=True)
    out = F.conv2d(tn.Tensor(torch.randn(1, 1, 5, 5), requires_grad=True), weight, padding=1)
    weight.data.add_(1)
    with pytest.raises(RuntimeError, match=rf"conv2d.backward: .*{MODIFIED}"):
        out.sum().backward()


def test_a_fresh_forward_after_the_step_is_fine():
    layer = nn.Linear(3, 1)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        layer(tn.Tensor(torch.ones(2, 3))).sum().backward()
        opt.step()
    assert layer.weight.gradient is not None
