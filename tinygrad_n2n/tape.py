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
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from ._graph_hooks import HOOKED_LEAVES, Walk, accumulate, add_forward_note, anomaly_stack, check_forward, extras

_COMPACT_MIN = 4096


class Entry:
    """One recorded op: its `function` (a Function class), `ctx` (what it kept for backward) and `inputs`."""

    __slots__ = ("__weakref__", "ctx", "extra", "freed", "function", "inputs", "output_ref", "scope", "seq")

    def __init__(self, function: Any, ctx: Any, inputs: tuple, output: Any, seq: int, scope: tuple) -> None:
        self.function = function
        self.ctx = ctx
        self.inputs = inputs
        self.output_ref = weakref.ref(output)
        self.seq = seq
        self.scope = scope
        self.freed = False
        self.extra = None  # an EntryExtras when hooks, retain_grad, an anomaly stack or a group need one

    @property
    def op_name(self) -> str:
        return self.function.op_name()


class _Log:
    """A thread's recorded entries: weak references in recording order and their (sorted) sequence numbers."""

    __slots__ = ("compact_at", "divert", "next_seq", "refs", "seqs")

    def __init__(self) -> None:
        self.refs: list[weakref.ref] = []
        self.seqs: list[int] = []  # for bisecting
        self.next_seq = 0
        self.compact_at = _COMPACT_MIN
        self.divert: Callable[[Entry], None] | None = None  # set by a checkpoint's forward: entries go there


class _TapeState(threading.local):
    def __init__(self) -> None:
        self.log = _Log()  # a plain object: one thread-local lookup per recorded op
        self.enabled = True  # the engine's own switch: an eval-mode module's forward turns it off
        self.forced = False  # enable_grad() overrides eval-mode modules
        self.scope: tuple = ()  # opaque labels pushed by callers (nn pushes module paths); stored per entry


_state = _TapeState()
_anomaly_enabled = torch.is_anomaly_enabled  # torch's anomaly switch governs the engine (read, never used)


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
    if _anomaly_enabled():
        extras(entry).stack = anomaly_stack()
        if torch.is_anomaly_check_nan_enabled():
            check_forward(entry, output.data)
    if log.divert is not None:
        log.divert(entry)
        return entry
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


@contextlib.contextmanager
def diverted(take: Callable[[Entry], None]) -> Iterator[None]:
    """Inside the block, recorded entries go to `take` instead of onto the tape (a checkpoint's forward)."""
    log = _state.log
    saved, log.divert = log.divert, take
    try:
        yield
    finally:
        log.divert = saved


@contextlib.contextmanager
def replaying(labels: tuple, forced: bool) -> Iterator[None]:
    """Record again as during an earlier forward (a checkpoint's recomputation inside backward)."""
    saved = _state.enabled, _state.forced, _state.scope
    _state.enabled, _state.forced, _state.scope = True, forced, labels
    try:
        with torch.enable_grad():
            yield
    finally:
        _state.enabled, _state.forced, _state.scope = saved


# ---------------------------------------------------------------- the backward walk

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or to read a part of it after backward): the "
    "values saved for '{op}' were freed by the first backward. Call .backward(retain_graph=True) the "
    "first time if you need to backward through the graph again."
)
_FOREIGN_MESSAGE = (
    "backward: the graph of '{op}' was recorded on another thread's tape; call backward on the thread that computed it."
)


def run_backward(
    roots: Sequence[Any],
    seeds: Sequence[torch.Tensor],
    retain_graph: bool,
    walk: Walk | None = None,
    floor_seq: int | None = None,
) -> dict[Entry, torch.Tensor] | None:
    """Propagate each `seeds[i]` (shaped like `roots[i]`) from the roots to every leaf that requires a gradient.

    Walks this thread's tape once, in reverse recording order from the latest root's entry, skipping entries
    that received no gradient. By default leaf gradients accumulate into `.gradient` (`+=`) and non-leaves
    keep theirs only after `retain_grad()`; `walk` changes where gradients go (`autograd.grad`,
    `backward(inputs=...)`) and runs hooks and anomaly checks. Consumed entries are freed unless
    `retain_graph`. With `floor_seq` (a checkpoint's recomputation) the walk stops above that sequence number
    and returns the gradients still pending there, entry -> gradient of its output.
    """
    walk = walk or Walk()
    leaf = walk.leaf if walk.slow or HOOKED_LEAVES else accumulate
    pending: dict[Entry, torch.Tensor] = {}  # entry -> gradient of its output; holding it keeps its inputs alive
    refs, seqs = _state.log.refs, _state.log.seqs
    start = 0
    for root, seed in zip(roots, seeds):
        root_entry = root._entry
        if root_entry is None:
            leaf(root, seed)
            continue
        if root_entry.freed:
            raise RuntimeError(_FREED_MESSAGE.format(op=root_entry.op_name))
        index = bisect_right(seqs, root_entry.seq)
        if index == 0 or seqs[index - 1] != root_entry.seq:
            raise RuntimeError(_FOREIGN_MESSAGE.format(op=root_entry.op_name))
        start = max(start, index)
        earlier = pending.get(root_entry)
        pending[root_entry] = seed if earlier is None else earlier + seed
    if walk.prune_on:
        walk.prune(list(pending))
    slow, anomaly = walk.slow, walk.anomaly
    stop = 0 if floor_seq is None else bisect_left(seqs, floor_seq)
    for index in range(start - 1, stop - 1, -1):
        entry = refs[index]()
        grad_out = pending.pop(entry, None)  # a dead reference gives None, which is never a key
        if grad_out is None:
            continue
        if entry.freed:
            raise RuntimeError(_FREED_MESSAGE.format(op=entry.op_name))
        if slow or entry.extra is not None:  # hooks, retain_grad, targets, anomaly mode: one check on the fast path
            grad_out = walk.enter(entry, grad_out, pending)
            if grad_out is None:
                continue
        ctx = entry.ctx
        try:  # costs nothing unless something raises
            for saved, version in zip(ctx.saved_tensors, ctx.saved_versions):  # () when not recorded
                if version is not None and saved._version != version:
                    _refuse_modified(entry, saved, version)
            grads = entry.function.backward(ctx, grad_out)
        except Exception as error:
            if anomaly:
                add_forward_note(error, entry)
            raise
        if not isinstance(grads, tuple):
            grads = (grads,)
        if slow:
            walk.check(entry, grads)
        inputs = entry.inputs
        if len(grads) != len(inputs):
            raise RuntimeError(f"{entry.op_name}.backward returned {len(grads)} gradients for {len(inputs)} inputs")
        for tensor, grad, needed in zip(inputs, grads, ctx.needs_input_grad):
            if grad is None or not needed:
                continue
            data = tensor.data
            if grad.shape != data.shape:
                grad = unbroadcast(grad, data.shape, entry.op_name)
            if (
                grad.dtype is not data.dtype
            ):  # (dtypes are singletons) mixed-dtype ops: each gradient in its input's dtype, as in torch
                grad = grad.to(data.dtype)
            producer = tensor._entry
            if producer is None:
                leaf(tensor, grad)
            else:
                earlier = pending.get(producer)
                pending[producer] = grad if earlier is None else earlier + grad
        if not retain_graph:
            entry.freed = True
            entry.inputs = ()
            ctx.saved_tensors = ctx.saved_versions = ()
        if not pending:
            break
    if floor_seq is not None:
        walk.finish()
        return pending
    for entry in pending:  # producers the walk never reached: freed and compacted away, or foreign
        raise RuntimeError((_FREED_MESSAGE if entry.freed else _FOREIGN_MESSAGE).format(op=entry.op_name))
    walk.finish()
    return None


def _refuse_modified(entry: Entry, saved: torch.Tensor, version: int) -> None:
    """Refuse to backward through an op whose saved tensor was changed in place after it was recorded."""
    raise RuntimeError(
        f"{entry.op_name}.backward: one of the variables needed for gradient computation has been "
        f"modified by an inplace operation: a saved tensor of shape {tuple(saved.shape)} "
        f"{str(saved.dtype).removeprefix('torch.')} is at version {saved._version}; expected version "
        f"{version} instead. It changed after '{entry.op_name}' was recorded (an in-place op, "
        ".data.mul_(), or an optimizer step); recompute the forward, or change a clone instead."
    )


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
