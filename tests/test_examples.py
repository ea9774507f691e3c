"""The examples run, and the ported script reproduces its torch.nn twin's numbers."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_port_differs_from_its_torch_twin_only_in_the_imports():
    ours = [line for line in (EXAMPLES / "port_from_pytorch.py").read_text().splitlines() if line.strip()]
    theirs = [line for line in (EXAMPLES / "port_from_pytorch_torch.py").read_text().splitlines() if line.strip()]
    assert len(ours) == len(theirs)
    differing = [(a, b) for a, b in zip(ours, theirs) if a != b]
    assert differing == [("from tinygrad_n2n import nn, optim", "from torch import nn, optim")]


def test_port_reproduces_the_torch_losses_and_accuracy():
    ours = _load("port_from_pytorch").main(epochs=2, verbose=False)
    theirs = _load("port_from_pytorch_torch").main(epochs=2, verbose=False)
    assert len(ours["losses"]) == 2
    assert max(abs(a - b) for a, b in zip(ours["losses"], theirs["losses"])) <= 1e-12
    assert ours["test_accuracy"] == theirs["test_accuracy"]


def test_digits_classifier_runs(capsys):
    accuracy = _load("digits_classifier").main(epochs=1, max_steps=3)
    assert 0.0 <= accuracy <= 1.0
    output = capsys.readouterr().out
    assert "13,706 parameters" in output and "test accuracy:" in output and "3 steps" in output
