"""The tape: a thread-local Wengert list of recorded ops, the recording switches, and the backward walk.

Every differentiable op that touches a tensor needing a gradient appends one `Entry` while recording is on.
An entry holds its op (the `Function` class), the op's context and its input tensors, never its output: the
output tensor owns its entry, so a graph whose outputs are dropped is freed, exactly as in PyTorch. The
tape itself only holds weak references, in recording order; reverse recording order is a topological
order, so `backward` is a single reverse walk.

This module knows nothing about particular ops or modules: it sees entries, contexts and tensors.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from bisect import bisect_right
from collections.abc import Iterator
from typing import Any

import torch

_COMPACT_MIN = 4096


class Entry:
    """One recorded op: its `function` (a Function class), `ctx` (what it kept for backward) and `inputs`."""

    __slots__ = ("__weakref__", "ctx", "freed", "function", "inputs", "output_ref", "scope", "seq")

    def __init__(self, function: Any, ctx: Any, inputs: tuple, output: Any, seq: int, scope: tuple) -> None:
        self.function = function
        self.ctx = ctx
        self.inputs = inputs
        self.output_ref = weakref.ref(output)
        self.seq = seq
        self.scope = scope
        self.freed = False

    @property
    def op_name(self) -> str:
        return self.function.op_name()


class _Log:
    """A thread's recorded entries: weak references in recording order and their (sorted) sequence numbers."""

    __slots__ = ("compact_at", "next_seq", "refs", "seqs")

    def __init__(self) -> None:
        self.refs: list[weakref.ref] = []
        self.seqs: list[int] = []  # for bisecting
        self.next_seq = 0
        self.compact_at = _COMPACT_MIN


class _TapeState(threading.local):
    def __init__(self) -> None:
        self.log = _Log()  # a plain object: one thread-local lookup per recorded op
        self.enabled = True  # the engine's own switch: an eval-mode module's forward turns it off
        self.forced = False  # enable_grad() overrides eval-mode modules
        self.scope: tuple = ()  # opaque labels pushed by callers (nn pushes module paths); stored per entry


_state = _TapeState()


def is_recording() -> bool:
    """True when ops record onto the tape: torch's grad mode is on (outside `no_grad()`, `inference_mode()`,
    `set_grad_enabled(False)`, ours or torch's) and no eval-mode module's forward turned recording off."""
    return _state.enabled and torch.is_grad_enabled()


is_grad_enabled = is_recording


def record(function: Any, ctx: Any, inputs: tuple, output: Any) -> Entry:
    """Append an entry for `output = function(*inputs)`; called by `Function.apply` only."""
    log = _state.log
    seq = log.next_seq
    entry = Entry(function, ctx, inputs, output, seq, _state.scope)
    log.next_seq = seq + 1
    refs = log.refs
    refs.append(weakref.ref(entry))
    log.seqs.append(seq)
    if len(refs) >= log.compact_at:
        _compact(log)
    return entry


def _compact(log: _Log) -> None:
    """Drop references to entries that were freed or garbage-collected; keeps the tape bounded."""
    live = [(ref, seq) for ref, seq in zip(log.refs, log.seqs) if (e := ref()) is not None and not e.freed]
    log.refs = [ref for ref, _ in live]
    log.seqs = [seq for _, seq in live]
    log.compact_at = max(_COMPACT_MIN, 2 * len(live))


def live_entries() -> list[Entry]:
    """The entries of this thread's tape that are still alive and not freed, in recording order."""
    _compact(_state.log)
    return [e for ref in _state.log.refs if (e := ref()) is not None]


def tape_length() -> int:
    """Number of live, unfreed entries on this thread's tape."""
    return len(live_entries())


# ---------------------------------------------------------------- recording switches


# torch's grad mode is the engine's recording switch (reading the flag is not using autograd), so torch's own
# switches govern the engine, and the engine's names are torch's objects:
no_grad = torch.no_grad  # nothing records inside; results need no gradient and the tape does not grow
set_grad_enabled = torch.set_grad_enabled  # takes effect when called; as a context manager, restores on exit
inference_mode = torch.inference_mode  # as no_grad, for the engine


class enable_grad(contextlib.ContextDecorator):  # torch's name
    """Turn recording on inside the block, even inside `no_grad()` or an eval-mode Module's forward.

    torch's `enable_grad` plus the engine's `forced` flag: only an explicit `tn.enable_grad()` makes an
    eval-mode module record (torch's own `enable_grad` and `set_grad_enabled(True)` leave eval mode alone).
    """

    def __init__(self) -> None:
        self._saved: list[tuple[Any, bool]] = []

    def _recreate_cm(self) -> enable_grad:
        """A fresh switch per call of a decorated function, so that threads never share `_saved`."""
        return enable_grad()

    def __enter__(self) -> None:
        mode = torch.enable_grad()
        mode.__enter__()
        self._saved.append((mode, _state.forced))
        _state.forced = True

    def __exit__(self, *exc: object) -> None:
        mode, _state.forced = self._saved.pop()
        mode.__exit__(*exc)


@contextlib.contextmanager
def inference_scope(active: bool) -> Iterator[None]:
    """Used by eval-mode Modules: when `active`, turn recording off unless `enable_grad()` forced it on."""
    if not active or _state.forced:
        yield
        return
    saved = _state.enabled
    _state.enabled = False
    try:
        yield
    finally:
        _state.enabled = saved


@contextlib.contextmanager
def scope(label: Any) -> Iterator[None]:
    """Tag every entry recorded inside the block with `label` appended to the current scope path."""
    saved = _state.scope
    _state.scope = (*saved, label)
    try:
        yield
    finally:
        _state.scope = saved


# ---------------------------------------------------------------- the backward walk

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or to read a part of it after backward): the "
    "values saved for '{op}' were freed by the first backward. Call .backward(retain_graph=True) the "
    "first time if you need to backward through the graph again."
)
_FOREIGN_MESSAGE = (
    "backward: the graph of '{op}' was recorded on another thread's tape; call backward on the thread that computed it."
)


def run_backward(root: Any, grad_root: torch.Tensor, retain_graph: bool) -> None:
    """Propagate `grad_root` (shaped like `root`) from `root` to every leaf that requires a gradient.

    Walks this thread's tape once, in reverse recording order from `root`'s entry, skipping entries that
    received no gradient. Leaf gradients accumulate into `.gradient` (`+=`); non-leaves keep theirs only
    after `retain_grad()`. Consumed entries are freed unless `retain_graph`.
    """
    root_entry = root._entry
    if root_entry.freed:
        raise RuntimeError(_FREED_MESSAGE.format(op=root_entry.op_name))
    # entry -> gradient of its output; holding the entry keeps its inputs alive until it is used
    pending: dict[Entry, torch.Tensor] = {root_entry: grad_root}
    refs, seqs = _state.log.refs, _state.log.seqs
    start = bisect_right(seqs, root_entry.seq)
    if start == 0 or seqs[start - 1] != root_entry.seq:
        raise RuntimeError(_FOREIGN_MESSAGE.format(op=root_entry.op_name))
    for index in range(start - 1, -1, -1):
        entry = refs[index]()
        grad_out = pending.pop(entry, None)  # a dead reference gives None, which is never a key
        if grad_out is None:
            continue
        if entry.freed:
            raise RuntimeError(_FREED_MESSAGE.format(op=entry.op_name))
        output = entry.output_ref()
        if output is not None and output._retains_grad:
            accumulate(output, grad_out)
        ctx = entry.ctx
        for saved, version in zip(ctx.saved_tensors, ctx.saved_versions):  # saved_versions is () when not recorded
            if version is not None and saved._version != version:
                _refuse_modified(entry, saved, version)
        grads = entry.function.backward(ctx, grad_out)
        if not isinstance(grads, tuple):
            grads = (grads,)
        inputs = entry.inputs
        if len(grads) != len(inputs):
            raise RuntimeError(f"{entry.op_name}.backward returned {len(grads)} gradients for {len(inputs)} inputs")
        for tensor, grad, needed in zip(inputs, grads, ctx.needs_input_grad):
            if grad is None or not needed:
                continue
            data = tensor.data
            if grad.shape != data.shape:
                grad = unbroadcast(grad, data.shape, entry.op_name)
            if grad.dtype != data.dtype:  # mixed-dtype ops: each gradient in its input's dtype, as in torch
                grad = grad.to(data.dtype)
            producer = tensor._entry
            if producer is None:
                accumulate(tensor, grad)
            else:
                earlier = pending.get(producer)
                pending[producer] = grad if earlier is None else earlier + grad
        if not retain_graph:
            entry.freed = True
            entry.inputs = ()
            ctx.saved_tensors = ctx.saved_versions = ()
        if not pending:
            break
    for entry in pending:  # producers the walk never reached: freed and compacted away, or foreign
        raise RuntimeError((_FREED_MESSAGE if entry.freed else _FOREIGN_MESSAGE).format(op=entry.op_name))


def _refuse_modified(entry: Entry, saved: torch.Tensor, version: int) -> None:
    """Refuse to backward through an op whose saved tensor was changed in place after it was recorded."""
    raise RuntimeError(
        f"{entry.op_name}.backward: one of the variables needed for gradient computation has been "
        f"modified by an inplace operation: a saved tensor of shape {tuple(saved.shape)} "
        f"{str(saved.dtype).removeprefix('torch.')} is at version {saved._version}; expected version "
        f"{version} instead. It changed after '{entry.op_name}' was recorded (an in-place op, "
        ".data.mul_(), or an optimizer step); recompute the forward, or change a clone instead."
    )


def accumulate(tensor: Any, grad: torch.Tensor) -> None:
    """`tensor.gradient += grad`, out of place; a first gradient is copied so that it aliases nothing.

    Backward results may be broadcast views (stride 0) or shared between inputs (`a + b` hands both the
    same tensor); a private contiguous copy keeps in-place updates of `.gradient` (optimizers) safe.
    """
    if tensor.gradient is None:
        tensor.gradient = grad.clone(memory_format=torch.contiguous_format)
    else:
        tensor.gradient = tensor.gradient + grad


def unbroadcast(grad: torch.Tensor, shape: torch.Size, op_name: str) -> torch.Tensor:
    """Sum a broadcast gradient back to `shape`; the one place where gradient shapes are checked."""
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise RuntimeError(
            f"{op_name}.backward: gradient of shape {tuple(grad.shape)} for an input of shape {tuple(shape)}"
        )
    dims = list(range(extra))
    for i, size in enumerate(shape):
        if size == 1 and grad.shape[extra + i] != 1:
            dims.append(extra + i)
        elif size != grad.shape[extra + i]:
            raise RuntimeError(
                f"{op_name}.backward: gradient of shape {tuple(grad.shape)} does not reduce "
                f"to the input's shape {tuple(shape)}"
            )
    if dims:
        grad = grad.sum(dim=dims, keepdim=True)
    return grad.reshape(shape) if extra else grad
