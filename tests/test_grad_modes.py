"""Grad modes: torch's switches govern the engine, as context managers and as decorators, and `tn` has the same
four names. Each case runs the same lines on an engine leaf and on a torch leaf and compares what records."""

from __future__ import annotations

import threading

import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n import nn, tape


def _records(x) -> bool:
    """Whether an op on x (engine or torch leaf) records: its result requires a gradient."""
    return (x * 2).requires_grad


def _engine_and_torch_leaves():
    return tn.Tensor(torch.ones(3), requires_grad=True), torch.ones(3, requires_grad=True)


SWITCHES = {
    "no_grad": (lambda lib: lib.no_grad(), False),
    "enable_grad": (lambda lib: lib.enable_grad(), True),
    "set_grad_enabled(False)": (lambda lib: lib.set_grad_enabled(False), False),
    "set_grad_enabled(True)": (lambda lib: lib.set_grad_enabled(True), True),
    "inference_mode": (lambda lib: lib.inference_mode(), False),
    "inference_mode(False)": (lambda lib: lib.inference_mode(False), True),
}


@pytest.mark.parametrize("owner", ["torch", "tn"])
@pytest.mark.parametrize("name", list(SWITCHES))
def test_switch_as_context_manager_governs_the_engine_like_torch(owner, name):
    make, records = SWITCHES[name]
    library = torch if owner == "torch" else tn
    ours, theirs = _engine_and_torch_leaves()
    length = tape.tape_length()
    with make(library):
        assert _records(ours) == _records(theirs) == records
        assert tn.is_grad_enabled() == torch.is_grad_enabled() == records
    assert tape.tape_length() == length  # the results were dropped: nothing stays on the tape
    assert _records(ours) and torch.is_grad_enabled()  # restored on exit


@pytest.mark.parametrize("owner", ["torch", "tn"])
@pytest.mark.parametrize("name", ["no_grad", "enable_grad", "set_grad_enabled(False)", "inference_mode"])
def test_switch_as_decorator_governs_the_engine_like_torch(owner, name):
    make, records = SWITCHES[name]
    library = torch if owner == "torch" else tn

    @make(library)
    def step(x):
        return _records(x)

    ours, theirs = _engine_and_torch_leaves()
    assert torch.is_grad_enabled(), "decorating must not switch anything"
    assert step(ours) == step(theirs) == records
    assert torch.is_grad_enabled()


@pytest.mark.parametrize("library", [torch, tn], ids=["torch", "tn"])
def test_set_grad_enabled_takes_effect_when_called(library):
    ours, theirs = _engine_and_torch_leaves()
    try:
        library.set_grad_enabled(False)
        assert not _records(ours) and not _records(theirs)
    finally:
        library.set_grad_enabled(True)
    assert _records(ours) and _records(theirs)


def test_nesting_restores_each_level():
    ours, _ = _engine_and_torch_leaves()
    with torch.no_grad():
        with tn.enable_grad():
            assert _records(ours)
            with tn.inference_mode():
                assert not _records(ours)
            assert _records(ours)
        assert not _records(ours)
    assert _records(ours)


def test_an_exception_inside_a_switch_restores_the_mode():
    with pytest.raises(ValueError), tn.no_grad():
        raise ValueError
    assert tn.is_grad_enabled()


def test_no_grad_in_another_thread_does_not_leak():
    """torch's grad mode and the engine's flags are per thread."""
    entered, release = threading.Event(), threading.Event()

    def worker():
        with tn.no_grad():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    entered.wait(5)
    ours, _ = _engine_and_torch_leaves()
    assert _records(ours)
    release.set()
    thread.join()


def test_optimizer_style_update_under_torch_no_grad_records_nothing():
    layer = nn.Linear(3, 2)
    length = tape.tape_length()
    with torch.no_grad():
        out = layer(tn.Tensor(torch.ones(1, 3)))
    assert not out.requires_grad and tape.tape_length() == length


def test_eval_mode_modules_record_inside_tn_enable_grad_only():
    """Our eval-mode rule: an eval-mode module records nothing unless `tn.enable_grad()` asks explicitly."""
    layer = nn.Linear(3, 2).eval()
    x = tn.Tensor(torch.ones(1, 3), requires_grad=True)
    assert not layer(x).requires_grad
    with tn.enable_grad():
        assert layer(x).requires_grad
    with tn.no_grad(), tn.enable_grad():
        assert layer(x).requires_grad
    with torch.enable_grad(), tn.set_grad_enabled(True):  # grad mode on, but nobody asked eval mode to record
        assert not layer(x).requires_grad


def test_tn_switches_are_torchs_own():
    assert tn.no_grad is torch.no_grad and tn.set_grad_enabled is torch.set_grad_enabled
    assert tn.inference_mode is torch.inference_mode


def test_ops_that_save_tensors_run_under_inference_mode():
    x = tn.Tensor(torch.ones(3), requires_grad=True)
    with tn.inference_mode():
        out = (x.exp() * x).sum()
    assert not out.requires_grad and out.item() == pytest.approx(3 * torch.e)
