"""In-place methods and operators (`_tensor_inplace.py`): each runs the same lines on an engine tensor and on a torch
tensor in float64 and compares values, object identity, the raw tensor kept, views and version counters, and the
exception type when torch refuses."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n import functional as F
from tinygrad_n2n import nn

LEAF = "a leaf Variable that requires grad is being used in an in-place operation."
RECORDED = "in-place ops on a tensor recorded on the tape"
MODIFIED = "modified by an inplace operation"


def randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def seeded() -> torch.Generator:
    return torch.Generator().manual_seed(7)


def iadd(t, o):
    t += o
    return t


def isub(t, o):
    t -= o
    return t


def imul(t, o):
    t *= o
    return t


def itruediv(t, o):
    t /= o
    return t


def ipow(t, _):
    t **= 2
    return t


def setitem_row(t, o):
    t[0] = o[1]
    return t


def setitem_mask(t, o):
    t[o > 0] = -1.0
    return t


def setitem_tuple(t, o):
    t[1, o[0] > 0] = o[1, 0]
    return t


# name -> f(tensor, other): the same line for an engine tensor (other an engine tensor) and a torch tensor
CASES = {
    "add_": lambda t, o: t.add_(o),
    "add_-alpha": lambda t, o: t.add_(o, alpha=-0.5),
    "add_-number": lambda t, o: t.add_(2.5),
    "sub_": lambda t, o: t.sub_(o),
    "sub_-alpha": lambda t, o: t.sub_(o, alpha=3),
    "mul_": lambda t, o: t.mul_(o),
    "mul_-broadcast-row": lambda t, o: t.mul_(o[0]),
    "div_": lambda t, o: t.div_(o),
    "div_-floor": lambda t, o: t.div_(o, rounding_mode="floor"),
    "div_-trunc": lambda t, o: t.div_(0.3, rounding_mode="trunc"),
    "pow_": lambda t, o: t.pow_(2),
    "pow_-tensor": lambda t, o: t.pow_(o),
    "addcmul_": lambda t, o: t.addcmul_(o, o, value=0.5),
    "addcdiv_": lambda t, o: t.addcdiv_(o, o.abs() + 1, value=-2),
    "lerp_": lambda t, o: t.lerp_(o, 0.25),
    "+=": iadd,
    "-=": isub,
    "*=": imul,
    "/=": itruediv,
    "**=": ipow,
    "neg_": lambda t, o: t.neg_(),
    "exp_": lambda t, o: t.exp_(),
    "log_": lambda t, o: t.log_(),
    "sqrt_": lambda t, o: t.sqrt_(),
    "abs_": lambda t, o: t.abs_(),
    "relu_": lambda t, o: t.relu_(),
    "sigmoid_": lambda t, o: t.sigmoid_(),
    "tanh_": lambda t, o: t.tanh_(),
    "clamp_": lambda t, o: t.clamp_(-0.5, 0.5),
    "clamp_-tensor": lambda t, o: t.clamp_(min=o),
    "clip_": lambda t, o: t.clip_(max=0.1),
    "clamp_min_": lambda t, o: t.clamp_min_(0.2),
    "clamp_max_": lambda t, o: t.clamp_max_(-0.2),
    "zero_": lambda t, o: t.zero_(),
    "fill_": lambda t, o: t.fill_(3.5),
    "fill_-0d": lambda t, o: t.fill_(o[0, 0]),
    "copy_": lambda t, o: t.copy_(o),
    "copy_-broadcast": lambda t, o: t.copy_(o[1]),
    "masked_fill_": lambda t, o: t.masked_fill_(o > 0, 7.0),
    "setitem-row": setitem_row,
    "setitem-mask": setitem_mask,
    "setitem-tuple": setitem_tuple,
    "uniform_": lambda t, o: t.uniform_(-2, 3, generator=seeded()),
    "normal_": lambda t, o: t.normal_(1.0, 2.0, generator=seeded()),
}

MODES = {
    "plain": (False, contextlib.nullcontext),  # recording on, nothing requires a gradient
    "no_grad-leaf": (True, torch.no_grad),  # a leaf that requires a gradient, updated as optimizers do
    "inference_mode-leaf": (True, torch.inference_mode),
}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("name", list(CASES))
def test_each_method_writes_in_place_as_torch(name, mode):
    op, (requires_grad, switch) = CASES[name], MODES[mode]
    ours = tn.Tensor(randn(2, 3), requires_grad=requires_grad)
    theirs = randn(2, 3).requires_grad_(requires_grad)
    raw, row = ours.data, ours[0] if not requires_grad else ours.detach()[0]  # a view of the data
    versions = (ours.data._version, theirs._version)
    our_other, their_other = tn.Tensor(randn(2, 3, seed=1)), randn(2, 3, seed=1)
    with switch():
        result = op(ours, our_other)
        expected = op(theirs, their_other)
    assert result is ours and ours.data is raw  # same object, same raw tensor
    torch.testing.assert_close(ours.data, theirs.detach(), rtol=0, atol=0, equal_nan=True)
    torch.testing.assert_close(expected.detach(), theirs.detach(), rtol=0, atol=0, equal_nan=True)
    torch.testing.assert_close(row.data, ours.data[0], rtol=0, atol=0, equal_nan=True)
    assert ours.data._version - versions[0] == theirs._version - versions[1] > 0
    assert ours.is_leaf and ours.requires_grad == requires_grad and not ours.data.requires_grad
    assert ours.dtype == torch.float64


def test_a_view_taken_by_indexing_shares_the_write_both_ways():
    x = tn.Tensor(torch.zeros(2, 3))
    row = x[1]
    row.add_(5)
    x.mul_(2)
    assert torch.equal(x.data, torch.tensor([[0.0] * 3, [10.0] * 3])) and torch.equal(row.data, torch.full((3,), 10.0))


def test_detached_alias_writes_into_the_original_as_torch():
    ours, theirs = tn.Tensor(torch.ones(3), requires_grad=True), torch.ones(3, requires_grad=True)
    ours.detach().mul_(3)
    theirs.detach().mul_(3)
    assert torch.equal(ours.data, theirs.detach()) and ours.data._version == theirs._version == 1


# ---------------------------------------------------------------- dtypes: the result keeps self's dtype


DTYPE_CASES = {
    "long-add-float": (torch.long, lambda t: t.add_(1.5)),
    "long-add-float-tensor": (torch.long, lambda t: t.add_(torch.ones(3))),
    "long-mul-float": (torch.long, lambda t: t.mul_(2.0)),
    "long-div": (torch.long, lambda t: t.div_(2)),
    "long-div-floor": (torch.long, lambda t: t.div_(2, rounding_mode="floor")),
    "long-sqrt": (torch.long, lambda t: t.sqrt_()),
    "long-sigmoid": (torch.long, lambda t: t.sigmoid_()),
    "long-clamp-float": (torch.long, lambda t: t.clamp_(1.5)),
    "long-uniform": (torch.long, lambda t: t.uniform_()),
    "long-normal": (torch.long, lambda t: t.normal_()),
    "long-fill-float": (torch.long, lambda t: t.fill_(1.7)),
    "long-copy-float": (torch.long, lambda t: t.copy_(torch.tensor([1.7, 2.2, 3.9]))),
    "long-neg": (torch.long, lambda t: t.neg_()),
    "long-add-alpha-float": (torch.long, lambda t: t.add_(torch.ones(3, dtype=torch.long), alpha=0.5)),
    "bool-neg": (torch.bool, lambda t: t.neg_()),
    "bool-add": (torch.bool, lambda t: t.add_(1)),
    "float-add-double": (torch.float32, lambda t: t.add_(torch.ones(3, dtype=torch.float64) / 3)),
    "float-add-complex": (torch.float32, lambda t: t.add_(1j)),
    "float-broadcast-out": (torch.float32, lambda t: t.add_(torch.ones(2, 3))),
    "float-masked-fill-long-mask": (torch.float32, lambda t: t.masked_fill_(torch.tensor([1, 0, 1]), 2.0)),
    "float-fill-1d": (torch.float32, lambda t: t.fill_(torch.tensor([2.0]))),
    "float-uniform-bounds": (torch.float32, lambda t: t.uniform_(1, 0)),
    "float-clamp-nothing": (torch.float32, lambda t: t.clamp_()),
}


def _outcome(call):
    try:
        return call(), None
    except Exception as error:
        return None, error


@pytest.mark.parametrize("name", list(DTYPE_CASES))
def test_dtype_rules_and_refusals_are_torchs(name):
    dtype, op = DTYPE_CASES[name]
    theirs = torch.tensor([1, 2, 3]).to(dtype)
    ours = tn.Tensor(theirs.clone())
    _, their_error = _outcome(lambda: op(theirs))
    result, our_error = _outcome(lambda: op(ours))
    if their_error is None:
        assert our_error is None, our_error
        assert result is ours and ours.dtype == dtype and torch.equal(ours.data, theirs)
    else:
        assert type(our_error) is type(their_error), (our_error, their_error)
        assert str(their_error).split("\n")[0] in str(our_error)
        assert torch.equal(ours.data, torch.tensor([1, 2, 3]).to(dtype)), "a refused op leaves the tensor untouched"


def test_torch_errors_gain_the_op_name():
    with pytest.raises(RuntimeError, match=r"^add_: result type Float can't be cast to the desired output type Long"):
        tn.Tensor([1, 2]).add_(0.5)
    with pytest.raises(NotImplementedError, match=r"^uniform_: .*not implemented for 'Long'"):
        tn.Tensor([1, 2]).uniform_()


# ---------------------------------------------------------------- when recording: torch's leaf error, ours otherwise

LEAF_CASES = {
    "add_": lambda t: t.add_(1),
    "+=": lambda t: iadd(t, 1),
    "-=": lambda t: isub(t, torch.ones(3)),
    "*=": lambda t: imul(t, 2),
    "/=": lambda t: itruediv(t, 2),
    "zero_": lambda t: t.zero_(),
    "fill_": lambda t: t.fill_(1),
    "copy_": lambda t: t.copy_(torch.zeros(3)),
    "uniform_": lambda t: t.uniform_(),
    "normal_": lambda t: t.normal_(),
    "clamp_": lambda t: t.clamp_(0, 1),
    "exp_": lambda t: t.exp_(),
}


@pytest.mark.parametrize("name", list(LEAF_CASES))
def test_a_leaf_that_requires_grad_refuses_while_recording_as_torch(name):
    op = LEAF_CASES[name]
    ours, theirs = tn.Tensor(torch.ones(3), requires_grad=True), torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=LEAF):
        op(theirs)
    with pytest.raises(RuntimeError, match=LEAF) as raised:
        op(ours)
    assert "no_grad" in str(raised.value)
    assert torch.equal(ours.data, torch.ones(3)) and ours.data._version == 0 and ours.is_leaf


def test_the_loop_variable_idiom_updates_every_parameter():
    """`-=` used to rebind the loop variable, leaving every weight at its initial value."""
    model = nn.Linear(3, 2)
    before = [p.data.clone() for p in model.parameters()]
    F.mse_loss(model(tn.Tensor(torch.ones(4, 3))), tn.Tensor(torch.zeros(4, 2))).backward()
    with tn.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    for p, old in zip(model.parameters(), before):
        torch.testing.assert_close(p.data, old - 0.1 * p.grad)
        assert p.is_leaf and p.requires_grad


def test_a_recorded_tensor_refuses_and_names_the_rewrite():
    """Our design choice (torch would record the op): the error names the op and the out-of-place line."""
    x = tn.Tensor(torch.ones(3), requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=rf"^add_: {RECORDED} \(computed by 'mul'\) .*write y = y \+ other"):
        y += 1
    with pytest.raises(RuntimeError, match=rf"^sub_: {RECORDED}.*write y = y - alpha \* other"):
        y.sub_(1, alpha=2)
    with pytest.raises(RuntimeError, match=rf"^exp_: {RECORDED}.*write y = y.exp\(\)"):
        y.exp_()
    with pytest.raises(RuntimeError, match=rf"^__setitem__: {RECORDED}.*torch.where"):
        y[0] = 5.0
    with pytest.raises(RuntimeError, match=rf"^detach_: {RECORDED}.*y = y.detach\(\)"):
        y.detach_()
    assert torch.equal(y.data, torch.full((3,), 2.0)) and y.data._version == 0 and y.requires_grad
    (y * y).sum().backward()
    assert torch.equal(x.gradient, torch.full((3,), 8.0))


def test_an_operand_that_requires_grad_refuses_while_recording():
    """`buf += x` with x requiring a gradient: torch records it; the engine refuses instead of losing it."""
    x = tn.Tensor(torch.ones(3), requires_grad=True)
    buf = tn.zeros(3)
    for write in (lambda: iadd(buf, x), lambda: buf.copy_(x), lambda: buf.addcmul_(x, x), lambda: buf.fill_(x[0])):
        with pytest.raises(RuntimeError, match=r"an operand requires a gradient.*out of place"):
            write()
    assert torch.equal(buf.data, torch.zeros(3)) and not buf.requires_grad
    with tn.no_grad():
        buf += x  # nothing records: a plain write, as torch
    assert torch.equal(buf.data, torch.ones(3)) and not buf.requires_grad


def test_a_torch_tensor_that_requires_grad_is_an_operand_under_no_grad_only():
    """Loading torch weights with copy_ under no_grad works; while grad mode is on the write would give the raw
    data a torch grad_fn, so it is refused (as `tn.Tensor(t)` refuses such a tensor)."""
    ours, theirs = nn.Linear(3, 2).double(), torch.nn.Linear(3, 2).double()
    with pytest.raises(TypeError, match=r"copy_: got a torch tensor that requires a gradient"):
        ours.weight.copy_(theirs.weight)
    with tn.no_grad():
        ours.weight.copy_(theirs.weight)
        ours.bias.copy_(theirs.bias)
    assert torch.equal(ours.weight.data, theirs.weight.detach()) and ours.weight.data.grad_fn is None
    assert not ours.weight.data.requires_grad


def test_nothing_records_inside_an_eval_mode_module_so_writes_go_through():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(1))

        def forward(self, x):
            self.scale.mul_(2)
            return x * self.scale

    module = Counter().eval()
    assert torch.equal(module(tn.Tensor(torch.ones(2))).data, torch.full((2,), 2.0))
    with pytest.raises(RuntimeError, match=LEAF):
        module.train()(tn.Tensor(torch.ones(2)))


def test_detach_on_a_leaf_stops_its_gradient_as_torch():
    ours, theirs = tn.Tensor(torch.ones(3), requires_grad=True), torch.ones(3, requires_grad=True)
    assert ours.detach_() is ours and theirs.detach_() is theirs
    assert not ours.requires_grad and not theirs.requires_grad and ours.is_leaf and theirs.is_leaf


def test_a_numpy_operand_of_an_in_place_op_is_refused():
    """torch's `t += ndarray` quietly rebinds t to a new tensor (NumPy's __radd__); the engine refuses instead."""
    x = tn.Tensor(torch.ones(3))
    with pytest.raises(TypeError, match=r"must be Tensor, not numpy\.ndarray"):
        x += np.ones(3)
    with pytest.raises(TypeError, match=r"must be Tensor, not numpy\.ndarray"):
        torch.ones(3).add_(np.ones(3))


# ---------------------------------------------------------------- version counters through these methods


@pytest.mark.parametrize("write", ["-=", "sub_", "mul_", "zero_", "copy_", "setitem"])
def test_updating_a_saved_weight_between_forward_and_backward_raises_as_torch(write):
    ops = {
        "-=": lambda p: isub(p, 0.1 * torch.ones_like(p.data)),
        "sub_": lambda p: p.sub_(0.1),
        "mul_": lambda p: p.mul_(0.5),
        "zero_": lambda p: p.zero_(),
        "copy_": lambda p: p.copy_(torch.zeros(p.shape)),
        "setitem": lambda p: p.__setitem__(0, 1.0),
    }
    ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    our_loss = ours(tn.Tensor(torch.ones(4, 3), requires_grad=True)).sum()
    their_loss = theirs(torch.ones(4, 3, requires_grad=True)).sum()
    with tn.no_grad():
        ops[write](ours.weight)
        ops[write](theirs.weight)
    with pytest.raises(RuntimeError, match=MODIFIED):
        their_loss.backward()
    with pytest.raises(RuntimeError, match=MODIFIED):
        our_loss.backward()


def test_a_recorded_result_changed_under_no_grad_is_caught_at_backward_as_torch():
    ours, theirs = tn.Tensor(torch.ones(3), requires_grad=True), torch.ones(3, requires_grad=True)
    our_y, their_y = ours.exp(), theirs.exp()  # exp saves its output
    with torch.no_grad():
        our_y.mul_(2)
        their_y.mul_(2)
    assert our_y.requires_grad and not our_y.is_leaf
    with pytest.raises(RuntimeError, match=MODIFIED):
        their_y.sum().backward()
    with pytest.raises(RuntimeError, match=MODIFIED):
        our_y.sum().backward()


# ---------------------------------------------------------------- the optimizer idiom trains as torch


def test_manual_sgd_with_in_place_updates_trains_like_torch():
    torch.manual_seed(0)
    theirs = torch.nn.Linear(3, 2).double()
    ours = nn.Linear(3, 2).double()
    with tn.no_grad():
        for mine, reference in zip(ours.parameters(), theirs.parameters()):
            mine.copy_(reference)
    inputs, targets = randn(8, 3), randn(8, 2, seed=1)
    params, initial = list(ours.parameters()), [p.data.clone() for p in ours.parameters()]
    for _ in range(4):
        F.mse_loss(ours(tn.Tensor(inputs)), tn.Tensor(targets)).backward()
        torch.nn.functional.mse_loss(theirs(inputs), targets).backward()
        with tn.no_grad():
            for p in ours.parameters():
                p -= 0.3 * p.grad
                p.grad = None
        with torch.no_grad():
            for p in theirs.parameters():
                p -= 0.3 * p.grad
                p.grad = None
    assert [id(p) for p in ours.parameters()] == [id(p) for p in params]
    for mine, reference in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(mine.data, reference.detach(), rtol=1e-12, atol=1e-12)
        assert mine.is_leaf and mine.requires_grad
    assert not any(torch.equal(p.data, start) for p, start in zip(params, initial))
