"""Module and Parameter: registration, traversal, modes, devices, state dicts, repr, recording, errors."""

from __future__ import annotations

import inspect

import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n import nn, optim, serialization, tape


def twin_classes(lib) -> tuple[type, type]:
    """(Block, Net) written against `lib` (ours or torch.nn): the same code, so the same state-dict keys."""

    class Block(lib.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = lib.Conv2d(3, 4, 3, padding=1)
            self.act = lib.ReLU()
            self.conv2 = lib.Conv2d(4, 2, 1, bias=False)

        def forward(self, x):
            return self.conv2(self.act(self.conv1(x)))

    class Net(lib.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = lib.Parameter(torch.ones(1))
            self.encoder = Block()
            self.head = lib.Sequential(lib.Flatten(), lib.Linear(2 * 4 * 4, 3))
            self.note = "plain attributes are not registered"

        def forward(self, x):
            return self.head(self.encoder(x) * self.scale)

    return Block, Net


Block, Net = twin_classes(nn)
TorchBlock, TorchNet = twin_classes(torch.nn)


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


def test_shared_parameters_counted_once_unless_duplicates_are_asked_for():
    def names(lib, what, **kwargs):
        shared = lib.Linear(2, 2)
        net = lib.Sequential(shared, lib.ReLU(), shared)
        return [name for name, _ in getattr(net, what)(**kwargs)]

    for what in ("named_parameters", "named_modules"):
        for kwargs in ({}, {"remove_duplicate": False}, {"prefix": "net"}):
            assert names(nn, what, **kwargs) == names(torch.nn, what, **kwargs), (what, kwargs)
    assert names(nn, "named_parameters") == ["0.weight", "0.bias"]
    assert len(names(nn, "named_parameters", remove_duplicate=False)) == 4
    shared = nn.Linear(2, 2)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    twin = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
    twin.append(twin[0])
    assert list(net.state_dict()) == list(twin.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    net.load_state_dict(twin.state_dict())
    assert torch.equal(shared.weight.data, twin[0].weight.detach())


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
    tracked = x.clone().requires_grad_(True)  # would never get a gradient from the engine: refused
    with pytest.raises(TypeError, match=r"requires grad .*tn.Tensor\(t.detach\(\), requires_grad=True\)"):
        net(tracked)
    assert tracked.grad is None


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
    net(torch.randn(1, 3, 4, 4)).sum().backward()
    assert net.to("meta") is net, "a device move (meta: a device without data, available everywhere)"
    assert all(p.device.type == "meta" and p.gradient.device.type == "meta" for p in net.parameters())


def test_state_dict_round_trip_and_sharing():
    a, b = Net(), Net()
    state = a.state_dict()
    assert all(isinstance(v, torch.Tensor) and not isinstance(v, tn.Tensor) for v in state.values())
    assert not any(v.requires_grad for v in state.values())
    assert b.load_state_dict(state) == nn.IncompatibleKeys([], [])
    assert all(torch.equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters()))
    b.load_state_dict({k: tn.Tensor(v * 2) for k, v in state.items()})
    assert torch.equal(b.scale.data, 2 * a.scale.data)


def test_a_torch_nn_models_state_dict_loads_into_the_twin_model():
    theirs, ours = TorchNet().double(), Net().double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    torch.testing.assert_close(ours(x).data, theirs(x).detach(), atol=1e-12, rtol=0)
    ours.load_state_dict(dict(theirs.named_parameters()))  # torch Parameters, which require torch gradients
    assert all(not p.data.requires_grad and p.data.grad_fn is None for p in ours.parameters())


def test_load_state_dict_assign_keeps_the_given_tensors():
    layer = nn.Linear(2, 3)
    weight, bias = torch.ones(3, 2, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    layer.load_state_dict({"weight": weight, "bias": bias})
    assert layer.weight.dtype == torch.float32 and torch.equal(layer.weight.data, torch.ones(3, 2))
    layer.load_state_dict({"weight": weight, "bias": bias}, assign=True)
    assert layer.weight.dtype == torch.float64 and layer.weight.data.data_ptr() == weight.data_ptr()
    weight.fill_(2.0)
    assert torch.equal(layer.weight.data, torch.full((3, 2), 2.0, dtype=torch.float64)), "shares the storage"


def test_load_state_dict_lists_every_problem_at_once():
    net = Net()
    state = dict(net.state_dict())
    del state["encoder.conv1.bias"]
    state["encoder.conv9.weight"] = torch.zeros(1)
    state["head.1.weight"] = torch.zeros(5, 5)
    state["encoder.conv2.weight"] = torch.zeros(1)
    state["encoder.conv1.weight"] = "not a tensor"
    before = net.scale.data.clone()
    state["scale"] = torch.full((1,), 7.0)
    with pytest.raises(RuntimeError) as error:
        net.load_state_dict(state)
    message = str(error.value)
    assert "missing keys: encoder.conv1.bias" in message
    assert "unexpected keys: encoder.conv9.weight" in message
    assert "'head.1.weight': the model has (3, 32), the state dict has (5, 5)" in message
    assert "'encoder.conv1.weight' holds a str, not a tensor" in message
    assert message.index("encoder.conv1.weight") < message.index("encoder.conv2.weight") < message.index("head.1")
    assert torch.equal(net.scale.data, before), "nothing is copied when the state dict is rejected"
    with pytest.raises(RuntimeError, match=r"shape mismatch for 'head\.1\.weight'"):
        net.load_state_dict(state, strict=False)
    for key in ("head.1.weight", "encoder.conv2.weight", "encoder.conv1.weight"):
        del state[key]
    result = net.load_state_dict(state, strict=False)
    missing = ["encoder.conv1.weight", "encoder.conv1.bias", "encoder.conv2.weight", "head.1.weight"]
    assert result.missing_keys == missing
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
    assert repr(Net()) == repr(TorchNet()), "nested modules indent as in torch"
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
    with pytest.raises(RuntimeError, match=r"^3 \(Conv2d\): conv2d: input has 4 channels .* expects 5$") as info:
        net(torch.randn(1, 3, 9, 9))
    assert isinstance(info.value, nn.ModuleError) and info.value.path == "3"  # torch's type, and the engine's
    nested = Net()
    with pytest.raises(RuntimeError, match=r"^encoder\.conv1 \(Conv2d\): conv2d: input has 1 channels .* expects 3"):
        nested(torch.randn(1, 1, 4, 4))
    with pytest.raises(RuntimeError, match=r"^head\.1 \(Linear\): linear: input of shape \(1, 50\) has 50 features"):
        nested(torch.randn(1, 3, 5, 5))
    with pytest.raises(RuntimeError, match=r"^Linear: linear"):
        nn.Linear(3, 2)(torch.randn(4, 2))


def _public_api(package) -> list[tuple[str, object]]:
    """(qualified name, object) of each public class, function and method defined in `package`'s modules."""
    modules = [package] + [value for value in vars(package).values() if inspect.ismodule(value)]
    found = {}
    for module in modules:
        for name, value in vars(module).items():
            if name.startswith("_") or not getattr(value, "__module__", "").startswith(package.__name__):
                continue
            found[f"{value.__module__}.{name}"] = value
            if inspect.isclass(value):
                for attribute, member in vars(value).items():
                    if not attribute.startswith("_") and callable(member):
                        found[f"{value.__module__}.{name}.{attribute}"] = getattr(value, attribute)
    return sorted(found.items())


@pytest.mark.parametrize("package", [nn, optim, serialization], ids=lambda p: p.__name__)
def test_every_public_class_function_and_method_has_a_docstring(package):
    api = _public_api(package)
    assert len(api) > 3
    assert [name for name, value in api if not inspect.getdoc(value)] == []
