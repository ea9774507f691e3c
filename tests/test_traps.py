"""Small traps from code ported from PyTorch: assigning `.grad`, `requires_grad_`, the `tn.tensor` / `tn.as_tensor` /
`tn.from_numpy` factories, pickling and copying tensors, and Parameters made from torch tensors. Each case runs the
same lines in torch and compares."""

from __future__ import annotations

import copy
import importlib
import pickle
import re

import numpy as np
import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n import nn

NON_LEAF_FLAG = "you can only change requires_grad flags of leaf variables"


def _error(call):
    try:
        call()
    except Exception as error:
        return error
    return None


def _same_refusal(ours, theirs) -> Exception:
    """Both calls raise, ours an instance of torch's exception type; returns ours."""
    their_error, our_error = _error(theirs), _error(ours)
    assert their_error is not None and isinstance(our_error, type(their_error)), (our_error, their_error)
    return our_error


# ---------------------------------------------------------------- .grad assignment


def _assign_grad(tensor, value):
    tensor.grad = value


def test_grad_accepts_none_and_a_tensor_of_the_same_shape_dtype_and_device():
    ours, theirs = tn.Tensor(torch.ones(3), requires_grad=True), torch.ones(3, requires_grad=True)
    raw = torch.full((3,), 2.0)
    ours.grad, theirs.grad = raw, raw.clone()
    assert ours.grad is raw and ours.gradient is raw  # kept as it is, as torch keeps it
    (ours * 3).sum().backward()
    (theirs * 3).sum().backward()
    assert torch.equal(ours.grad, theirs.grad) and torch.equal(ours.grad, torch.full((3,), 5.0))
    ours.grad = tn.Tensor(torch.zeros(3))
    assert torch.equal(ours.gradient, torch.zeros(3))
    ours.grad = theirs.grad = None
    assert ours.gradient is None and theirs.grad is None


def test_grad_set_on_a_parameter_drives_the_optimizer():
    param = nn.Parameter(torch.ones(2))
    optimizer = tn.optim.SGD([param], lr=0.5)
    param.grad = torch.tensor([1.0, -1.0])
    optimizer.step()
    assert torch.equal(param.data, torch.tensor([0.5, 1.5]))


def test_grad_may_be_set_on_non_leaves_and_tensors_without_requires_grad_as_torch():
    x = tn.Tensor(torch.ones(3), requires_grad=True)
    for ours, theirs in [(x * 2, torch.ones(3, requires_grad=True) * 2), (tn.zeros(3), torch.zeros(3))]:
        ours.grad, theirs.grad = torch.ones(3), torch.ones(3)
        assert torch.equal(ours.grad, theirs.grad)


GRAD_REFUSALS = {  # value assigned to .grad of a float32 tensor of shape (3,)
    "wrong-size": (
        RuntimeError,
        lambda: torch.zeros(2),
        "attempting to assign a gradient of size '[2]' to a tensor of",
    ),
    "wrong-dtype": (RuntimeError, lambda: torch.zeros(3, dtype=torch.float64), "a gradient with dtype 'torch.float64'"),
    "integer-dtype": (RuntimeError, lambda: torch.zeros(3, dtype=torch.long), "with dtype 'torch.int64'"),
    "wrong-device": (RuntimeError, lambda: torch.zeros(3, device="meta"), "gradient with device 'meta'"),
    "dtype-and-size": (RuntimeError, lambda: torch.zeros(2, dtype=torch.float64), "with dtype"),
    "list": (TypeError, lambda: [1.0, 2.0, 3.0], "expected to be a Tensor or None but got grad of type list"),
    "number": (TypeError, lambda: 1.0, "got grad of type float"),
    "ndarray": (TypeError, lambda: np.zeros(3, dtype=np.float32), "got grad of type ndarray"),
}


@pytest.mark.parametrize("name", list(GRAD_REFUSALS))
def test_grad_refuses_what_torch_refuses(name):
    kind, make, message = GRAD_REFUSALS[name]
    ours, theirs = tn.Tensor(torch.ones(3), requires_grad=True), torch.ones(3, requires_grad=True)
    with pytest.raises(kind):
        _assign_grad(theirs, make())
    with pytest.raises(kind, match=re.escape(message)):
        _assign_grad(ours, make())
    with pytest.raises(kind, match=re.escape(message)):
        _assign_grad(ours, tn.Tensor(make()) if isinstance(make(), torch.Tensor) else make())
    assert ours.gradient is None


def test_a_tensor_is_not_its_own_grad_but_a_detached_alias_may_be_as_torch():
    ours, theirs = tn.Tensor(torch.ones(3), requires_grad=True), torch.ones(3, requires_grad=True)
    error = _same_refusal(lambda: _assign_grad(ours, ours), lambda: _assign_grad(theirs, theirs))
    assert "can't assign Variable as its own grad" in str(error)
    ours.grad, theirs.grad = ours.detach(), theirs.detach()
    assert ours.grad is ours.data and theirs.grad.data_ptr() == theirs.data_ptr()


def test_a_grad_that_requires_grad_is_refused():
    """torch keeps such a gradient with its graph; the engine has no double backward, so it refuses it."""
    x = tn.Tensor(torch.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match=r"requires a gradient itself.*g\.detach"):
        x.grad = x * 2
    with pytest.raises(TypeError, match="requires a gradient itself"):
        x.grad = torch.ones(3, requires_grad=True)
    assert x.gradient is None


# ---------------------------------------------------------------- requires_grad_


def test_requires_grad_underscore_sets_the_flag_and_returns_self_as_torch():
    for make in (lambda lib: lib.ones(2), lambda lib: lib.ones(2, requires_grad=True)):
        ours, theirs = make(tn), make(torch)
        assert ours.requires_grad_() is ours and theirs.requires_grad_() is theirs
        assert ours.requires_grad and theirs.requires_grad
        assert ours.requires_grad_(False) is ours and theirs.requires_grad_(requires_grad=False) is theirs
        assert not ours.requires_grad and not theirs.requires_grad
    assert tn.ones(2).requires_grad_(requires_grad=True).requires_grad


def test_a_non_leaf_keeps_requiring_grad_as_torch():
    ours, theirs = tn.Tensor(torch.ones(2), requires_grad=True) * 2, torch.ones(2, requires_grad=True) * 2
    assert ours.requires_grad_(True) is ours and theirs.requires_grad_(True) is theirs
    for call in (lambda t: t.requires_grad_(False), lambda t: setattr(t, "requires_grad", False)):
        error = _same_refusal(lambda c=call: c(ours), lambda c=call: c(theirs))
        assert str(error).startswith(NON_LEAF_FLAG) and "detach()" in str(error)
    assert ours.requires_grad and not ours.is_leaf


def test_results_computed_under_no_grad_are_leaves_whose_flag_may_change_as_torch():
    x = tn.Tensor(torch.ones(2), requires_grad=True)
    with tn.no_grad():
        y = x * 2
    assert not y.requires_grad_(False).requires_grad and y.requires_grad_().requires_grad


def test_integer_tensors_cannot_require_grad_as_torch():
    for call in (lambda t: t.requires_grad_(), lambda t: setattr(t, "requires_grad", True)):
        error = _same_refusal(lambda c=call: c(tn.Tensor([1, 2])), lambda c=call: c(torch.tensor([1, 2])))
        assert isinstance(error, TypeError)  # and a TypeError as well, the engine's earlier contract
    assert not tn.Tensor([1, 2]).requires_grad_(False).requires_grad


@pytest.mark.parametrize("flag", [1, 0, None, "yes", np.bool_(True), torch.tensor(True)])
def test_requires_grad_underscore_takes_a_bool_only_as_torch(flag):
    error = _same_refusal(lambda: tn.ones(2).requires_grad_(flag), lambda: torch.ones(2).requires_grad_(flag))
    assert "argument 'requires_grad' (position 1) must be bool" in str(error)


# ---------------------------------------------------------------- factories


def test_tn_tensor_is_a_function_and_no_module_shadows_it():
    assert callable(tn.tensor) and not isinstance(tn.tensor, type(tn))
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("tinygrad_n2n.tensor")


@pytest.mark.filterwarnings("ignore:To copy construct from a tensor")
@pytest.mark.parametrize("source", ["list", "ndarray", "torch", "engine"])
def test_tn_tensor_copies_its_data_as_torch_tensor(source):
    array = np.array([[1.0, 2.0], [3.0, 4.0]])
    data = {
        "list": [[1.0, 2.0], [3.0, 4.0]],
        "ndarray": array,
        "torch": torch.from_numpy(array),
        "engine": tn.Tensor(torch.from_numpy(array), requires_grad=True),
    }[source]
    ours, theirs = tn.tensor(data), torch.tensor(data.data if source == "engine" else data)
    assert isinstance(ours, tn.Tensor) and ours.is_leaf and not ours.requires_grad
    assert ours.dtype == theirs.dtype and torch.equal(ours.data, theirs)
    ours.data[0, 0] = 100.0
    assert array[0, 0] == 1.0  # nothing shared


def test_tn_tensor_takes_dtype_device_and_requires_grad_as_torch():
    ours = tn.tensor([1, 2], dtype=torch.float64, device="cpu", requires_grad=True)
    theirs = torch.tensor([1, 2], dtype=torch.float64, device="cpu", requires_grad=True)
    assert ours.dtype == theirs.dtype and ours.device == theirs.device and ours.requires_grad and ours.is_leaf
    assert torch.equal(tn.tensor([tn.Tensor(1.0), tn.Tensor(2.0)]).data, torch.tensor([1.0, 2.0]))
    assert tn.tensor(3).dtype == torch.tensor(3).dtype and tn.tensor(3.0).shape == torch.Size([])
    error = _same_refusal(
        lambda: tn.tensor([1, 2], requires_grad=True), lambda: torch.tensor([1, 2], requires_grad=True)
    )
    assert "only floating-point" in str(error)


def test_tn_as_tensor_shares_memory_where_torch_as_tensor_does():
    array = np.zeros(3)
    shared = tn.as_tensor(array)
    shared.data[0] = 5.0
    assert array[0] == 5.0
    raw = torch.zeros(3)
    wrapped = tn.as_tensor(raw)
    wrapped.data[2] = 1.0
    assert raw[2] == 1.0 and raw._version == wrapped.data._version  # one tensor's memory and version counter
    copied = tn.as_tensor(array, dtype=torch.float32)  # a conversion copies, as in torch
    copied.data[1] = 7.0
    assert array[1] == 0.0 and copied.dtype == torch.float32
    assert torch.equal(tn.as_tensor([1, 2]).data, torch.as_tensor([1, 2]))


def test_tn_as_tensor_of_an_engine_tensor_is_itself_unless_it_converts():
    x = tn.Tensor(torch.ones(2), requires_grad=True)
    assert tn.as_tensor(x) is x and tn.as_tensor(x, dtype=torch.float32, device="cpu") is x
    theirs = torch.ones(2, requires_grad=True)
    assert torch.as_tensor(theirs) is theirs
    converted = tn.as_tensor(x, dtype=torch.float64)
    assert converted.dtype == torch.float64 and converted.requires_grad and not converted.is_leaf  # recorded
    converted.sum().backward()
    assert torch.equal(x.gradient, torch.ones(2))


def test_tn_from_numpy_shares_memory_as_torch():
    array = np.arange(4.0)
    ours, theirs = tn.from_numpy(array), torch.from_numpy(array)
    assert ours.dtype == theirs.dtype == torch.float64
    ours.data[0] = -1.0
    assert array[0] == -1.0 and theirs[0] == -1.0
    error = _same_refusal(lambda: tn.from_numpy([1, 2]), lambda: torch.from_numpy([1, 2]))
    assert "expected np.ndarray" in str(error)


# ---------------------------------------------------------------- pickling and copying


def _round_trip(value):
    return pickle.loads(pickle.dumps(value))


def test_a_leaf_round_trips_with_its_flag_and_without_its_gradient_as_torch():
    ours, theirs = tn.Tensor(torch.arange(3.0), requires_grad=True), torch.arange(3.0, requires_grad=True)
    ours.grad, theirs.grad = torch.ones(3), torch.ones(3)
    back, their_back = _round_trip(ours), _round_trip(theirs)
    assert type(back) is tn.Tensor and back.requires_grad == their_back.requires_grad is True
    assert torch.equal(back.data, ours.data) and back.is_leaf
    assert back.grad is None and their_back.grad is None
    (back * 2).sum().backward()
    assert torch.equal(back.grad, torch.full((3,), 2.0))
    assert not _round_trip(tn.Tensor([1, 2])).requires_grad


@pytest.mark.parametrize("requires_grad", [True, False])
def test_a_parameter_round_trips_as_a_parameter(requires_grad):
    ours = nn.Parameter(torch.ones(2), requires_grad=requires_grad)
    theirs = torch.nn.Parameter(torch.ones(2), requires_grad=requires_grad)
    back, their_back = _round_trip(ours), _round_trip(theirs)
    assert type(back) is nn.Parameter and type(their_back) is torch.nn.Parameter
    assert back.requires_grad == their_back.requires_grad == requires_grad and torch.equal(back.data, ours.data)


def test_a_pickled_non_leaf_comes_back_as_a_leaf_as_torch():
    ours = tn.Tensor(torch.ones(2), requires_grad=True) * 3
    theirs = torch.ones(2, requires_grad=True) * 3
    back, their_back = _round_trip(ours), _round_trip(theirs)
    assert back.is_leaf and their_back.is_leaf and back.requires_grad and their_back.requires_grad
    assert torch.equal(back.data, their_back.detach())


def test_deepcopy_of_a_non_leaf_is_refused_as_torch():
    ours = tn.Tensor(torch.ones(2), requires_grad=True) * 3
    theirs = torch.ones(2, requires_grad=True) * 3
    error = _same_refusal(lambda: copy.deepcopy(ours), lambda: copy.deepcopy(theirs))
    assert str(error).startswith("Only Tensors created explicitly by the user (graph leaves)")


def test_deepcopy_of_a_leaf_copies_data_and_gradient_as_torch():
    ours, theirs = tn.Tensor(torch.ones(3), requires_grad=True), torch.ones(3, requires_grad=True)
    ours.grad, theirs.grad = torch.full((3,), 2.0), torch.full((3,), 2.0)
    copied, their_copy = copy.deepcopy(ours), copy.deepcopy(theirs)
    assert copied.requires_grad and their_copy.requires_grad
    assert torch.equal(copied.grad, their_copy.grad) and copied.grad is not ours.grad
    copied.data.zero_()
    assert torch.equal(ours.data, torch.ones(3))
    row, their_row = copy.deepcopy([ours, ours.detach()[0:2]]), copy.deepcopy([theirs, theirs.detach()[0:2]])
    row[0].data[0], their_row[0].data[0] = 9.0, 9.0  # views of one tensor stay views of one copy
    assert row[1].data[0] == their_row[1][0] == 9.0


def test_deepcopy_of_a_parameter_drops_its_gradient_as_torch():
    ours, theirs = nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    ours.grad, theirs.grad = torch.ones(2), torch.ones(2)
    copied, their_copy = copy.deepcopy(ours), copy.deepcopy(theirs)
    assert type(copied) is nn.Parameter and copied.requires_grad and copied.grad is None and their_copy.grad is None
    assert copied.data.data_ptr() != ours.data.data_ptr()


def test_copy_copy_shares_the_data_as_torch():
    ours, theirs = tn.Tensor(torch.ones(2), requires_grad=True), torch.ones(2, requires_grad=True)
    shallow, their_shallow = copy.copy(ours * 2), copy.copy(theirs * 2)
    assert shallow.is_leaf and their_shallow.is_leaf and shallow.requires_grad and their_shallow.requires_grad
    leaf_copy = copy.copy(ours)
    assert leaf_copy is not ours and leaf_copy.data is ours.data


def test_a_module_deep_copies_into_independent_parameters():
    model = nn.Linear(2, 2)
    twin = copy.deepcopy(model)
    with tn.no_grad():
        twin.weight.data.zero_()
    assert not torch.equal(model.weight.data, twin.weight.data) and type(twin.weight) is nn.Parameter


# ---------------------------------------------------------------- Parameters made from torch tensors


@pytest.mark.parametrize("source", ["torch-parameter", "requires-grad", "non-leaf"])
def test_a_parameter_from_a_torch_tensor_that_requires_grad_is_a_new_leaf_as_torch(source):
    base = torch.ones(3, requires_grad=True)
    data = {"torch-parameter": torch.nn.Parameter(torch.ones(3)), "requires-grad": base, "non-leaf": base * 2}[source]
    ours, theirs = nn.Parameter(data), torch.nn.Parameter(data)
    assert ours.is_leaf and ours.requires_grad and theirs.is_leaf and theirs.grad_fn is None
    assert not ours.data.requires_grad and ours.data.grad_fn is None
    assert ours.data.data_ptr() == data.data_ptr() == theirs.data_ptr()  # shared, as torch shares
    assert nn.Parameter(data, requires_grad=False).requires_grad is False


def test_a_plain_tensor_from_a_torch_tensor_that_requires_grad_is_still_refused():
    with pytest.raises(TypeError, match="requires grad"):
        tn.Tensor(torch.ones(3, requires_grad=True))


def test_an_integer_parameter_is_refused_as_torch():
    error = _same_refusal(
        lambda: nn.Parameter(torch.ones(2, dtype=torch.long)),
        lambda: torch.nn.Parameter(torch.ones(2, dtype=torch.long)),
    )
    assert isinstance(error, TypeError)
    assert not nn.Parameter(torch.ones(2, dtype=torch.long), requires_grad=False).requires_grad
