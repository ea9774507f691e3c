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
    """One recorded op. The op's context (`ops.function.Context`, what the op kept for its backward) is itself
    the entry: `record` stamps it with the op's `function` (a Function class), its `inputs`, its sequence
    number `seq` and the `scope` it was recorded in, so that each recorded op costs one object; it holds no
    reference to its output (the output owns its entry). `freed` is set by a backward that did not retain the
    graph; `extra` is an EntryExtras when hooks, retain_grad, an anomaly stack or a group need one.

    The tape's fields are slots (the op's own attributes live in the context's instance dict): a backward
    that frees thousands of entries then never rebuilds their dicts.
    """

    __slots__ = ("__weakref__", "extra", "freed", "function", "inputs", "scope", "seq")
    saved_tensors: tuple = ()  # (the context's, read by the walk; overridden per instance)
    saved_versions: tuple = ()
    needs_input_grad: tuple = ()

    @property
    def ctx(self) -> Entry:
        """The op's context: the entry itself (what `Function.backward` receives)."""
        return self

    @property
    def op_name(self) -> str:
        return self.function.op_name()


class _Log:
    """A thread's tape: its recorded entries (weak references in recording order and their sorted sequence
    numbers) and its recording switches, in one plain object, so that an op looks up one thread-local."""

    __slots__ = ("compact_at", "divert", "enabled", "forced", "next_seq", "refs", "scope", "seqs")

    def __init__(self) -> None:
        self.refs: list[weakref.ref] = []
        self.seqs: list[int] = []  # for bisecting
        self.next_seq = 0
        self.compact_at = _COMPACT_MIN
        self.divert: Callable[[Entry], None] | None = None  # set by a checkpoint's forward: entries go there
        self.enabled = True  # the engine's own switch: an eval-mode module's forward turns it off
        self.forced = False  # enable_grad() overrides eval-mode modules
        self.scope: tuple = ()  # opaque labels pushed by callers (nn pushes module paths); stored per entry


class _TapeState(threading.local):
    def __init__(self) -> None:
        self.log = _Log()


_state = _TapeState()
_weakref = weakref.ref
_RawTensor = torch.Tensor


def shared_tuples(values: tuple, longest: int) -> dict[tuple, tuple]:
    """Every tuple of `values` of length 0..`longest`, mapped to itself: recorded ops keep these shared tuples
    instead of fresh ones, which leaves fewer objects for Python's cyclic garbage collector to track (its
    passes are a measurable part of the tape's overhead)."""
    shared = {(): ()}
    for _ in range(longest):
        shared.update({(*key, value): (*key, value) for key in list(shared) for value in values})
    return shared


_SHARED_VERSIONS = shared_tuples((0, None), 6)  # tensors never changed in place (None: a value that is no tensor)
_INFERENCE_TENSOR_SAVED = (
    "Inference tensors cannot be saved for backward: a tensor created under inference_mode is used by an op "
    "that records; make it outside inference_mode, or record on a .clone() made outside it"
)
_anomaly_enabled = torch.is_anomaly_enabled  # torch's anomaly switch governs the engine (read, never used)


def is_recording() -> bool:
    """True when ops record onto the tape: torch's grad mode is on (outside `no_grad()`, `inference_mode()`,
    `set_grad_enabled(False)`, ours or torch's) and no eval-mode module's forward turned recording off."""
    return _state.log.enabled and torch.is_grad_enabled()


is_grad_enabled = is_recording


def record(function: Any, ctx: Entry, inputs: tuple, output: Any, log: _Log | None = None) -> Entry:
    """Make `ctx` the entry of `output = function(*inputs)` and append it to this thread's tape (`log`, when the
    caller looked it up already); called by `Function.apply` (and the identity ops of module hooks and
    checkpoints) with the context their forward filled."""
    if log is None:
        log = _state.log
    seq = log.next_seq
    log.next_seq = seq + 1
    ctx.function = function
    ctx.inputs = inputs
    ctx.seq = seq
    ctx.scope = log.scope
    ctx.freed = False
    ctx.extra = None
    saved = ctx.saved_tensors
    if saved:  # their versions now, checked by backward (this runs for most recorded ops: kept to plain loops)
        versions = []
        try:
            for t in saved:
                versions.append(t._version if type(t) is _RawTensor else None)
        except RuntimeError as error:  # only inference tensors have no version counter
            raise RuntimeError(_INFERENCE_TENSOR_SAVED) from error
        versions = tuple(versions)
        ctx.saved_versions = _SHARED_VERSIONS.get(versions, versions)
    if _anomaly_enabled():
        extras(ctx).stack = anomaly_stack()
        if torch.is_anomaly_check_nan_enabled():
            check_forward(ctx, output.data)
    if log.divert is not None:
        log.divert(ctx)
        return ctx
    refs = log.refs
    refs.append(_weakref(ctx))
    log.seqs.append(seq)
    if len(refs) >= log.compact_at:
        _compact(log)
    return ctx


def _compact(log: _Log) -> None:
    """Drop references to entries that were freed or garbage-collected; keeps the tape bounded."""
    live = [(ref, seq) for ref, seq in zip(log.refs, log.seqs) if (e := ref()) is not None and not e.freed]
    log.refs = [ref for ref, _ in live]
    log.seqs = [seq for _, seq in live]
    log.compact_at = max(_COMPACT_MIN, 2 * len(live))


def live_entries() -> list[Entry]:
    """The entries of this thread's tape that are still alive and not freed, in recording order."""
    log = _state.log
    _compact(log)
    return [e for ref in log.refs if (e := ref()) is not None]


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
        self._saved.append((mode, _state.log.forced))
        _state.log.forced = True

    def __exit__(self, *exc: object) -> None:
        mode, _state.log.forced = self._saved.pop()
        mode.__exit__(*exc)


@contextlib.contextmanager
def inference_scope(active: bool) -> Iterator[None]:
    """Used by eval-mode Modules: when `active`, turn recording off unless `enable_grad()` forced it on."""
    log = _state.log
    if not active or log.forced:
        yield
        return
    saved = log.enabled
    log.enabled = False
    try:
        yield
    finally:
        log.enabled = saved


@contextlib.contextmanager
def scope(label: Any) -> Iterator[None]:
    """Tag every entry recorded inside the block with `label` appended to the current scope path."""
    log = _state.log
    saved = log.scope
    log.scope = (*saved, label)
    try:
        yield
    finally:
        log.scope = saved


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
    log = _state.log
    saved = log.enabled, log.forced, log.scope
    log.enabled, log.forced, log.scope = True, forced, labels
    try:
        with torch.enable_grad():
            yield
    finally:
        log.enabled, log.forced, log.scope = saved


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
    log = _state.log
    refs, seqs = log.refs, log.seqs
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
        try:  # costs nothing unless something raises
            versions = entry.saved_versions
            if versions:
                for saved, version in zip(entry.saved_tensors, versions):
                    if version is not None and saved._version != version:
                        _refuse_modified(entry, saved, version)
            grads = entry.function.backward(entry, grad_out)  # the op's context is its entry
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
        for tensor, grad, needed in zip(inputs, grads, entry.needs_input_grad):
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
            entry.inputs = entry.saved_tensors = entry.saved_versions = ()
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
