"""Containers against torch.nn: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict.

Every operation runs on our container and on torch's twin; names, reprs, lengths and errors must agree."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n import nn


def layout(module) -> tuple[list[str], str]:
    """What a container looks like from outside: its state-dict keys and its repr."""
    return list(module.state_dict()), repr(module)


def both(build):
    """`build(lib)` for our nn and torch.nn, each after the same seed."""
    torch.manual_seed(0)
    ours = build(nn)
    torch.manual_seed(0)
    return ours, build(torch.nn)


def test_sequential_editing_matches_torch():
    def edited(lib):
        seq = lib.Sequential(lib.Linear(2, 3), lib.ReLU(), lib.Linear(3, 3), lib.Tanh())
        seq[1] = lib.Sigmoid()
        del seq[2]
        seq.insert(1, lib.Linear(3, 3))
        seq.insert(-1, lib.Identity())
        seq.append(lib.Linear(3, 1))
        popped = seq.pop(0)
        seq.extend([lib.ReLU()])
        seq += lib.Sequential(lib.Linear(1, 2))
        return seq, popped

    (ours, popped), (theirs, their_popped) = both(edited)
    assert layout(ours) == layout(theirs) and repr(popped) == repr(their_popped)
    for part in (slice(1, None), slice(None, None, 2), slice(-2, None)):
        assert layout(ours[part]) == layout(theirs[part])
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert layout(ours + ours[:2]) == layout(theirs + theirs[:2])
    assert layout(ours[:2] * 2) == layout(theirs[:2] * 2) == layout(2 * theirs[:2])
    doubled, their_doubled = ours[:2], theirs[:2]
    doubled *= 3
    their_doubled *= 3
    assert layout(doubled) == layout(their_doubled)
    del ours[1:3]
    del theirs[1:3]
    assert layout(ours) == layout(theirs)
    assert "0" not in dir(ours) and "append" in dir(ours)


def test_sequential_errors_match_torch():
    ours, theirs = both(lambda lib: lib.Sequential(lib.ReLU(), lib.Tanh()))
    for action, error in (
        (lambda s: s[2], IndexError),
        (lambda s: s[-3], IndexError),
        (lambda s: s + nn.ReLU(), ValueError),
        (lambda s: s * 0, ValueError),
        (lambda s: s * 1.5, TypeError),
        (lambda s: s.insert(5, s[0]), IndexError),
    ):
        with pytest.raises(error) as expected:
            action(theirs)
        with pytest.raises(error) as got:
            action(ours)
        assert str(got.value) == str(expected.value).replace("torch.nn.modules.container", "tinygrad_n2n.nn.container")


def test_sequential_runs_an_ordered_dict_and_forwards_in_order():
    ours, theirs = both(
        lambda lib: lib.Sequential(
            OrderedDict([("fc", lib.Linear(3, 2)), ("act", lib.Tanh()), ("out", lib.Linear(2, 1))])
        )
    )
    assert layout(ours) == layout(theirs)
    x = torch.randn(4, 3)
    torch.testing.assert_close(ours(x).data, theirs(x).detach())
    assert ours.fc is ours[0]


def test_module_list_matches_torch():
    def edited(lib):
        layers = lib.ModuleList([lib.Linear(2, 2) for _ in range(2)])
        layers.append(lib.ReLU())
        layers.extend([lib.ReLU(), lib.ReLU(), lib.Tanh()])
        layers.insert(1, lib.Linear(2, 3))
        layers += [lib.Sigmoid()]
        layers[0] = lib.Linear(2, 4)
        del layers[-2]
        layers.pop(1)
        return layers + lib.ModuleList([lib.Identity()])

    ours, theirs = both(edited)
    assert layout(ours) == layout(theirs)
    assert "3 x ReLU()" in repr(ours), "torch's compact repr of repeated children"
    assert layout(ours[1:4]) == layout(theirs[1:4]) and layout(ours[::-2]) == layout(theirs[::-2])
    del ours[::2]
    del theirs[::2]
    assert layout(ours) == layout(theirs)
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList()) == "ModuleList()"
    with pytest.raises(IndexError, match="index 9 is out of range"):
        ours[9]
    with pytest.raises(TypeError, match=r"ModuleList\.extend should be called with an iterable"):
        ours.extend(3)
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        ours(torch.zeros(1))


def test_module_dict_matches_torch():
    def edited(lib):
        heads = lib.ModuleDict({"b": lib.Linear(2, 2), "a": lib.ReLU()})
        heads.update([("c", lib.Linear(2, 1)), ("a", lib.Tanh())])
        heads["d"] = lib.Identity()
        heads.pop("b")
        return heads

    ours, theirs = both(edited)
    assert layout(ours) == layout(theirs)
    assert list(ours) == list(ours.keys()) == ["a", "c", "d"] and "c" in ours and len(ours) == 3
    assert [type(m).__name__ for m in ours.values()] == [type(m).__name__ for m in theirs.values()]
    assert [k for k, _ in ours.items()] == [k for k, _ in theirs.items()]
    del ours["a"]
    ours.clear()
    assert len(ours) == 0 and list(ours.parameters()) == []
    for bad, error in (([("a",)], ValueError), ([3], TypeError), (3, TypeError)):
        with pytest.raises(error) as expected:
            theirs.update(bad)
        with pytest.raises(error) as got:
            ours.update(bad)
        assert str(got.value).replace(" ", "") == str(expected.value).replace(" ", ""), "torch's words"


def test_parameter_list_matches_torch():
    def made(lib):
        params = lib.ParameterList([lib.Parameter(torch.randn(2, 3)), torch.zeros(4)])
        params.append(torch.ones(1, dtype=torch.float64))
        params.extend([lib.Parameter(torch.randn(5))])
        params[0] = torch.full((2,), 3.0)
        return params

    ours, theirs = both(made)
    assert layout(ours) == layout(theirs)
    assert all(isinstance(p, nn.Parameter) for p in ours) and len(ours) == 4
    assert [n for n, _ in ours.named_parameters()] == ["0", "1", "2", "3"]
    assert layout(ours[1:3]) == layout(theirs[1:3])
    assert torch.equal(ours[-1].data, theirs[-1].detach())
    engine = nn.ParameterList([tn.Tensor([1.0])])
    assert isinstance(engine[0], nn.Parameter) and engine[0].requires_grad
    with pytest.raises(RuntimeError, match="ParameterList should not be called"):
        ours(1)
    with pytest.raises(TypeError, match=r"ParameterList\.extend should be called with an iterable"):
        ours.extend(torch.zeros(2))


def test_parameter_dict_matches_torch():
    def made(lib):
        params = lib.ParameterDict({"z": torch.zeros(2), "a": lib.Parameter(torch.ones(3))})
        params.update(OrderedDict([("m", torch.randn(2, 2)), ("b", torch.zeros(1))]))
        params["c"] = torch.ones(1, dtype=torch.float64)
        params.setdefault("d", torch.zeros(5))
        params.pop("m")
        return params

    ours, theirs = both(made)
    assert layout(ours) == layout(theirs)
    assert list(ours) == list(theirs) == ["a", "z", "b", "c", "d"], "a plain dict is taken in sorted key order"
    assert ours.popitem()[0] == theirs.popitem()[0] == "d"
    assert layout(ours | nn.ParameterDict({"e": torch.zeros(1)})) == layout(
        theirs | torch.nn.ParameterDict({"e": torch.zeros(1)})
    )
    assert ours.get("missing", 7) == 7 and "a" in ours and next(reversed(ours)) == "c"
    assert list(ours.fromkeys(["x", "y"])) == ["x", "y"]
    copied = ours.copy()
    assert copied["a"] is ours["a"]
    with pytest.raises(TypeError, match="cannot be used as a key as it is not a string"):
        ours[3] = torch.zeros(1)
    ours.clear()
    assert len(ours) == 0 and list(ours.parameters()) == []
