"""Module API against torch.nn.Module: buffers, reassignment order, conversions, lookups, modes, errors.

Each test builds the same module with our nn and torch.nn and compares what the API returns."""

from __future__ import annotations

import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n import nn, optim


def with_buffers(lib):
    """A module holding a persistent float buffer, an integer buffer, a non-persistent buffer and a child."""

    class Stats(lib.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = lib.Parameter(torch.ones(3))
            self.register_buffer("mean", torch.zeros(3))
            self.register_buffer("count", torch.tensor(0, dtype=torch.long))
            self.register_buffer("scratch", torch.ones(2), persistent=False)
            self.register_buffer("absent", None)
            self.child = lib.Linear(3, 2)
            self.child.register_buffer("scale", torch.full((2,), 2.0))

        def forward(self, x):
            return self.child((x - self.mean) * self.weight) * self.scale_of_child()

        def scale_of_child(self):
            return self.child.scale

    return Stats()


def test_buffers_are_registered_named_and_saved_as_torch():
    ours, theirs = with_buffers(nn), with_buffers(torch.nn)
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_buffers()] == ["mean", "count", "scratch", "child.scale"]
    assert [n for n, _ in ours.named_buffers(prefix="m", recurse=False)] == ["m.mean", "m.count", "m.scratch"]
    assert len(list(ours.buffers())) == 4 and len(list(ours.buffers(recurse=False))) == 3
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(ours.state_dict()) == ["weight", "mean", "count", "child.weight", "child.bias", "child.scale"]
    assert ours.state_dict()._metadata == theirs.state_dict()._metadata
    assert isinstance(ours.mean, torch.Tensor) and ours.absent is None
    assert ours.get_buffer("child.scale") is ours.child.scale
    state = ours.state_dict()
    assert state["mean"].data_ptr() == ours.mean.data_ptr(), "values share storage, as in torch"
    assert ours.state_dict(keep_vars=True)["mean"] is ours.mean


def test_buffers_load_from_torch_and_copy_in_place():
    ours, theirs = with_buffers(nn), with_buffers(torch.nn)
    theirs.mean.fill_(0.5)
    theirs.count.fill_(7)
    mean = ours.mean
    ours.load_state_dict(theirs.state_dict())
    assert ours.mean is mean and torch.equal(mean, torch.full((3,), 0.5)) and ours.count.item() == 7
    assert ours.count.dtype == torch.long
    x = torch.randn(4, 3)
    torch.testing.assert_close(ours(x).data, theirs(x).detach())
    state = theirs.state_dict()
    state["scratch"] = torch.zeros(2)  # a non-persistent buffer is not part of the state
    with pytest.raises(RuntimeError, match="unexpected keys: scratch"):
        ours.load_state_dict(state)
    with pytest.raises(RuntimeError, match=r'Unexpected key.*"scratch"'):
        theirs.load_state_dict(state)
    del state["scratch"], state["count"]
    assert ours.load_state_dict(state, strict=False) == nn.IncompatibleKeys(["count"], [])
    assert theirs.load_state_dict(state, strict=False) == (["count"], [])
    fresh = torch.tensor([1.0, 2.0, 3.0])
    ours.load_state_dict({**state, "mean": fresh, "count": torch.tensor(1)}, assign=True)
    assert ours.mean is fresh


def test_buffer_assignment_and_deletion_follow_torch():
    for lib in (nn, torch.nn):
        module = with_buffers(lib)
        module.mean = torch.full((3,), 4.0)  # assigning to a buffer's name replaces the buffer
        assert "mean" in dict(module.named_buffers()) and module.mean[0] == 4.0
        module.scratch = torch.zeros(2)
        assert "scratch" not in module.state_dict(), "it stays non-persistent"
        module.plain = torch.zeros(1)  # any other tensor attribute is a plain attribute
        assert "plain" not in dict(module.named_buffers())
        with pytest.raises(TypeError, match="buffer 'mean'"):
            module.mean = 3
        with pytest.raises(KeyError, match="attribute 'weight' already exists"):
            module.register_buffer("weight", torch.zeros(1))
        with pytest.raises(KeyError, match="contain"):
            module.register_buffer("a.b", torch.zeros(1))
        with pytest.raises(TypeError, match="cannot assign 'int' object to buffer 'x'"):
            module.register_buffer("x", 3)
        del module.mean
        assert "mean" not in dict(module.named_buffers()) and not hasattr(module, "mean")
        module.register_buffer("scratch", torch.ones(2))  # registering again as persistent
        assert "scratch" in module.state_dict()


def test_engine_tensors_are_accepted_as_buffers():
    module = nn.Module()
    module.register_buffer("table", tn.Tensor([1.0, 2.0]))
    assert isinstance(module.state_dict()["table"], torch.Tensor)
    module.double()
    assert module.table.dtype == torch.float64 and isinstance(module.table, tn.Tensor)


def test_to_casts_floating_tensors_only_and_keeps_parameters_identity():
    ours, theirs = with_buffers(nn), with_buffers(torch.nn)
    weight = ours.weight
    for method, args in (("to", (torch.float64,)), ("half", ()), ("bfloat16", ()), ("float", ()), ("double", ())):
        assert getattr(ours, method)(*args) is ours
        getattr(theirs, method)(*args)
        assert [(n, b.dtype) for n, b in ours.named_buffers()] == [(n, b.dtype) for n, b in theirs.named_buffers()]
        assert [p.dtype for p in ours.parameters()] == [p.dtype for p in theirs.parameters()]
    assert ours.weight is weight and ours.count.dtype == torch.long
    ours.type(torch.float32)
    theirs.type(torch.float32)
    assert ours.count.dtype == theirs.count.dtype == torch.float32, "type() casts integer tensors too, as torch"
    ours.to(device="meta", dtype=torch.float64)
    assert all(b.device.type == "meta" for b in ours.buffers())
    ours = with_buffers(nn).to(torch.zeros(1, dtype=torch.float64))
    assert ours.mean.dtype == torch.float64 and ours.cpu().mean.device.type == "cpu"
    with pytest.raises(TypeError, match="only accepts floating point or complex dtypes"):
        ours.to(torch.int32)


def test_reassigning_a_parameter_or_module_keeps_its_place():
    def names(lib):
        layer = lib.Linear(2, 3)
        layer.weight = lib.Parameter(torch.zeros(3, 2))
        net = lib.Sequential(lib.Linear(1, 1), lib.ReLU(), lib.Linear(1, 1))
        net[0] = lib.Linear(1, 1)
        setattr(net, "1", lib.Tanh())
        return [n for n, _ in layer.named_parameters()], [n for n, _ in net.named_modules()]

    assert names(nn) == names(torch.nn) == (["weight", "bias"], ["", "0", "1", "2"])
    layer = nn.Linear(2, 3)
    layer.weight = nn.Parameter(torch.zeros(3, 2))
    optimizer = optim.SGD(layer.parameters(), lr=1.0)
    assert optimizer.param_groups[0]["params"][0] is layer.weight, "optimizer indices are torch's"


def test_get_submodule_and_get_parameter_errors_match_torch():
    def net(lib):
        return lib.Sequential(lib.Linear(2, 2), lib.Sequential(lib.ReLU(), lib.Linear(2, 1)))

    ours, theirs = net(nn), net(torch.nn)
    assert ours.get_submodule("") is ours and ours.get_submodule("1.1") is ours[1][1]
    assert ours.get_parameter("1.1.bias") is ours[1][1].bias
    for target, method in (("1.5", "get_submodule"), ("0.weight", "get_submodule"), ("1.0.weight", "get_parameter")):
        with pytest.raises(AttributeError) as expected:
            getattr(theirs, method)(target)
        with pytest.raises(AttributeError) as got:
            getattr(ours, method)(target)
        assert str(got.value) == str(expected.value)
    with pytest.raises(AttributeError, match="is not a buffer"):
        ours.get_buffer("0.weight")


def test_apply_children_modules_and_train_call_overrides():
    class Frozen(nn.Module):
        def train(self, mode: bool = True):
            return super().train(False)

    net = nn.Sequential(nn.Linear(1, 1), Frozen())
    net.train()
    assert net.training and not net[1].training, "train() reaches children through their own train()"
    visited = []
    assert net.apply(lambda m: visited.append(type(m).__name__)) is net
    torch_visited = []
    torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.Module()).apply(
        lambda m: torch_visited.append(type(m).__name__)
    )
    assert visited[0] == torch_visited[0] == "Linear" and visited[-1] == torch_visited[-1] == "Sequential"
    shared = nn.Linear(1, 1)
    twice = nn.Sequential(shared, shared)
    assert len(list(twice.children())) == 1 == len(list(torch.nn.Sequential(*[torch.nn.Linear(1, 1)] * 2).children()))
    assert len(list(twice.modules(remove_duplicate=False))) == 3
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train(1)


def test_requires_grad_and_zero_grad():
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    assert net.requires_grad_(False) is net and not any(p.requires_grad for p in net.parameters())
    net.requires_grad_()
    net(torch.randn(3, 2)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(p.gradient is not None and not p.gradient.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.gradient is None for p in net.parameters())


def test_torch_nn_objects_are_refused_with_what_to_write():
    module = nn.Module()
    with pytest.raises(TypeError, match=r"use tinygrad_n2n\.nn\.Parameter"):
        module.w = torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(TypeError, match=r"build it from tinygrad_n2n\.nn"):
        module.layer = torch.nn.Linear(1, 1)
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required "forward"'):
        module(torch.zeros(1))
