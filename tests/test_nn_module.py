"""Module and Parameter: registration, traversal, modes, devices, state dicts, repr, recording, errors."""

from __future__ import annotations

import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n import nn, tape


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.act = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 2, 1, bias=False)

    def forward(self, x):
        return self.conv2(self.act(self.conv1(x)))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.encoder = Block()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
        self.note = "plain attributes are not registered"

    def forward(self, x):
        return self.head(self.encoder(x) * self.scale)


def test_registration_order_and_dotted_names():
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == [
        "scale",
        "encoder.conv1.weight",
        "encoder.conv1.bias",
        "encoder.conv2.weight",
        "head.1.weight",
        "head.1.bias",
    ]
    assert [p for p in net.parameters()] == [p for _, p in net.named_parameters()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad and p.is_leaf for p in net.parameters())
    assert [n for n, _ in net.named_children()] == ["encoder", "head"]
    assert [n for n, _ in net.named_modules()] == [
        "",
        "encoder",
        "encoder.conv1",
        "encoder.act",
        "encoder.conv2",
        "head",
        "head.0",
        "head.1",
    ]
    assert next(iter(net.modules())) is net and list(net.children()) == [net.encoder, net.head]
    assert list(net.state_dict()) == names
    assert net.num_parameters() == 1 + (4 * 3 * 9 + 4) + 4 * 2 + (32 * 3 + 3)


def test_reassignment_deletion_and_none_parameters():
    layer = nn.Linear(2, 3, bias=False)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    layer.weight = nn.Parameter(torch.zeros(3, 2))
    assert torch.equal(layer.weight.data, torch.zeros(3, 2))
    with pytest.raises(TypeError, match="holds a Parameter"):
        layer.weight = torch.zeros(3, 2)
    del layer.weight
    assert list(layer.parameters()) == []
    with pytest.raises(AttributeError, match="no attribute 'weight'"):
        _ = layer.weight

    class Forgetful(nn.Module):
        def __init__(self) -> None:
            self.w = nn.Parameter(torch.zeros(1))

    with pytest.raises(AttributeError, match=r"super\(\)\.__init__\(\)"):
        Forgetful()


def test_shared_parameters_counted_once():
    shared = nn.Linear(2, 2)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(net.parameters())) == 2
    assert list(net.named_modules())[1][0] == "0"


def test_train_eval_recursive_and_return_self():
    net = Net()
    assert net.eval() is net and not any(m.training for m in net.modules())
    assert net.train() is net and all(m.training for m in net.modules())
    net.head.train(False)
    assert net.training and not net.head[1].training


def test_eval_mode_records_nothing_unless_enable_grad():
    net = Net().eval()
    x = torch.randn(2, 3, 4, 4)
    before = tape.tape_length()
    out = net(x)
    assert not out.requires_grad and tape.tape_length() == before
    with tn.enable_grad():
        xin = tn.Tensor(x, requires_grad=True)
        out = net(xin)
    assert out.requires_grad
    out.sum().backward()
    assert xin.gradient is not None and xin.gradient.shape == x.shape
    net.train()
    assert net(x).requires_grad


def test_inputs_may_be_torch_tensors_or_engine_tensors():
    net = Net()
    x = torch.randn(2, 3, 4, 4)
    a, b = net(x), net(tn.Tensor(x))
    assert isinstance(a, tn.Tensor) and torch.equal(a.data, b.data)
    assert not x.requires_grad


def test_entries_are_tagged_with_the_module_stack():
    net = Net()
    out = net(torch.randn(1, 3, 4, 4))
    scopes = {entry.op_name: entry.scope for entry in tape.live_entries() if entry.scope[:1] == (net,)}
    assert scopes["conv2d"][:3] in ((net, net.encoder, net.encoder.conv1), (net, net.encoder, net.encoder.conv2))
    assert scopes["linear"] == (net, net.head, net.head[1])
    assert scopes["mul"] == (net,)
    del out


def test_zero_grad_and_to():
    net = Net()
    net(torch.randn(2, 3, 4, 4)).sum().backward()
    assert all(p.gradient is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(torch.count_nonzero(p.gradient) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.gradient is None for p in net.parameters())
    assert net.to(torch.float64) is net and all(p.dtype == torch.float64 for p in net.parameters())
    assert net(torch.randn(1, 3, 4, 4, dtype=torch.float64)).dtype == torch.float64
    assert all(p.dtype == torch.float32 for p in net.float().parameters())


def test_state_dict_round_trip_and_sharing():
    a, b = Net(), Net()
    state = a.state_dict()
    assert all(isinstance(v, torch.Tensor) and not isinstance(v, tn.Tensor) for v in state.values())
    assert not any(v.requires_grad for v in state.values())
    assert b.load_state_dict(state) == nn.IncompatibleKeys([], [])
    assert all(torch.equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters()))
    b.load_state_dict({k: tn.Tensor(v * 2) for k, v in state.items()})
    assert torch.equal(b.scale.data, 2 * a.scale.data)


def test_load_state_dict_lists_every_problem_at_once():
    net = Net()
    state = dict(net.state_dict())
    del state["encoder.conv1.bias"]
    state["encoder.conv9.weight"] = torch.zeros(1)
    state["head.1.weight"] = torch.zeros(5, 5)
    before = net.scale.data.clone()
    state["scale"] = torch.full((1,), 7.0)
    with pytest.raises(RuntimeError) as error:
        net.load_state_dict(state)
    message = str(error.value)
    assert "missing keys: encoder.conv1.bias" in message
    assert "unexpected keys: encoder.conv9.weight" in message
    assert "'head.1.weight': the model has (3, 32), the state dict has (5, 5)" in message
    assert torch.equal(net.scale.data, before), "nothing is copied when the state dict is rejected"
    del state["head.1.weight"]
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["encoder.conv1.bias", "head.1.weight"]
    assert result.unexpected_keys == ["encoder.conv9.weight"]
    assert net.scale.item() == 7.0


def test_repr_matches_torch_and_summary_counts_parameters():
    ours = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.LeakyReLU(0.2), nn.MaxPool2d(2), nn.Flatten())
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2, padding=1),
        torch.nn.LeakyReLU(0.2),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
    )
    assert repr(ours) == repr(theirs)
    summary = Net().summary()
    assert "encoder.conv1  Conv2d" in summary and "Total parameters: 220" in summary
    assert repr(nn.Upsampling(4, 2)) == (
        "Upsampling(4, 2, kernel_size=(3, 3), scale_factor=(2, 2), stride=(1, 1), padding=(1, 1))"
    )


def test_parameter_is_a_leaf_engine_tensor():
    param = nn.Parameter(torch.ones(2))
    assert isinstance(param, tn.Tensor) and param.requires_grad and param.is_leaf
    assert not param.data.requires_grad
    assert repr(param).startswith("Parameter containing:")
    assert not isinstance(param * 2, nn.Parameter)
    frozen = nn.Linear(2, 2).requires_grad_(False)
    assert not frozen(torch.ones(1, 2)).requires_grad


def test_wrong_channels_error_names_the_layer_path():
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 3), nn.Conv2d(5, 2, 1))
    with pytest.raises(ValueError, match=r"^3 \(Conv2d\): conv2d: input has 4 channels .* expects 5$"):
        net(torch.randn(1, 3, 9, 9))
    nested = Net()
    with pytest.raises(ValueError, match=r"^encoder\.conv1 \(Conv2d\): conv2d: input has 1 channels .* expects 3"):
        nested(torch.randn(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"^head\.1 \(Linear\): linear: input of shape \(1, 50\) has 50 features"):
        nested(torch.randn(1, 3, 5, 5))
    with pytest.raises(ValueError, match=r"^Linear: linear"):
        nn.Linear(3, 2)(torch.randn(4, 2))
