"""The examples run, and the ported script reproduces its torch.nn twin's numbers."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

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


def test_mixed_torch_port_differs_from_its_torch_twin_only_in_the_imports():
    ours = [line for line in (EXAMPLES / "port_mixed_torch.py").read_text().splitlines() if line.strip()]
    theirs = [line for line in (EXAMPLES / "port_mixed_torch_torch.py").read_text().splitlines() if line.strip()]
    assert len(ours) == len(theirs)
    differing = [(a, b) for a, b in zip(ours, theirs) if a != b]
    assert differing == [("from tinygrad_n2n import nn, optim", "from torch import nn, optim")]


def test_mixed_torch_port_reproduces_the_torch_losses():
    """torch.cat / torch.sigmoid / torch.mean on engine tensors, torch.no_grad() and float64 NumPy targets with a
    float32 model: every step's loss is torch's (float32 arithmetic in the same kernels: equal in practice)."""
    ours = _load("port_mixed_torch").main(steps=25, verbose=False)
    theirs = _load("port_mixed_torch_torch").main(steps=25, verbose=False)
    assert len(ours["losses"]) == 25 and ours["losses"][-1] < ours["losses"][0] / 2
    assert max(abs(a - b) / b for a, b in zip(ours["losses"], theirs["losses"])) <= 1e-6
    assert abs(ours["test_error"] - theirs["test_error"]) <= 1e-6 * theirs["test_error"]


def test_resnet_port_differs_from_its_torch_twin_only_in_the_imports():
    ours = [line for line in (EXAMPLES / "port_resnet.py").read_text().splitlines() if line.strip()]
    theirs = [line for line in (EXAMPLES / "port_resnet_torch.py").read_text().splitlines() if line.strip()]
    assert len(ours) == len(theirs)
    differing = [(a, b) for a, b in zip(ours, theirs) if a != b]
    assert differing == [("from tinygrad_n2n import nn, optim", "from torch import nn, optim")]


def test_resnet_port_reproduces_the_torch_losses_and_accuracy():
    """BatchNorm2d (running statistics for the evaluation), GELU, AdaptiveAvgPool2d, Dropout, AdamW with
    OneCycleLR and clip_grad_norm_: every step's loss is torch's (float64: agreement to ~1e-14)."""
    ours = _load("port_resnet").main(epochs=2, batch_size=256, verbose=False)
    theirs = _load("port_resnet_torch").main(epochs=2, batch_size=256, verbose=False)
    assert len(ours["losses"]) == 12 and ours["losses"][-1] < ours["losses"][0]
    assert max(abs(a - b) / b for a, b in zip(ours["losses"], theirs["losses"])) <= 1e-12
    assert ours["test_accuracy"] == theirs["test_accuracy"]


def test_digits_classifier_learns(capsys):
    """Two epochs (44 steps, about 2 s) reach 46.9 % on the 450 test digits (chance: 10 %; 20 epochs: about 98 %)."""
    accuracy = _load("digits_classifier").main(epochs=2)
    assert 0.44 <= accuracy <= 1.0
    output = capsys.readouterr().out
    assert "13,706 parameters" in output and f"test accuracy: {accuracy:.2%}" in output and "44 steps" in output


@pytest.mark.parametrize(
    ("script", "arguments", "expected"),
    [
        ("port_from_pytorch.py", ["--epochs", "1"], "epoch   1  loss"),
        ("port_from_pytorch_torch.py", ["--epochs", "1"], "epoch   1  loss"),
        ("digits_classifier.py", ["--epochs", "1", "--max-steps", "2"], "2 steps in"),
        ("port_mixed_torch.py", ["--steps", "10"], "step  10  loss"),
        ("port_mixed_torch_torch.py", ["--steps", "10"], "step  10  loss"),
    ],
)
def test_examples_run_as_scripts(script, arguments, expected):
    """`python examples/<script>` from the repository root, as the README says."""
    done = subprocess.run(
        [sys.executable, f"examples/{script}", *arguments],
        cwd=EXAMPLES.parent,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},  # as conftest.py: no thread oversubscription under -n 2
    )
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout and ("test accuracy:" in done.stdout or "test error:" in done.stdout)
    assert len((EXAMPLES / script).read_text().splitlines()) < 120, "examples stay short"
