"""What a backward walk does besides the chain rule: tensor hooks, retained and captured gradients, pruning
for `autograd.grad` / `backward(inputs=...)`, groups of entries that complete together (module backward hooks)
and anomaly mode.

The tape's walk stays lean: it takes the slow path only for entries whose `extra` is set (hooks, retain_grad,
an anomaly-mode stack, a group) or when the whole walk is special (`Walk.slow`: anomaly mode, pruning). A
leaf has no entry: its hooks live on the tensor (`_hooks`, a slot left unset until the first hook, so a
hook that refers to its tensor makes a cycle the garbage collector frees), and `HOOKED_LEAVES` (id -> weak
reference) lets the walk check a leaf with one dict lookup, and skip even that while no leaf has hooks.

This module knows nothing about ops or modules; a scope label is shown through `named_children()` when it
has one (modules do), else through `str`.
"""

from __future__ import annotations

import itertools
import traceback
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.hooks import RemovableHandle

CREATE_GRAPH_MESSAGE = (
    "create_graph=True: higher-order gradients are not supported yet; the engine records only first-order "
    "backward (gradients are plain values). Use create_graph=False."
)


class EntryExtras:
    """The rarely used parts of one entry: hooks on its output tensor, the output tensor (a weak reference)
    once it called retain_grad(), its forward stack (anomaly mode) and the group it belongs to (module backward
    hooks). Entries hold no reference to their output otherwise: the output owns its entry."""

    __slots__ = ("group", "hooks", "retained", "stack")

    def __init__(self) -> None:
        self.hooks: OrderedDict | None = None
        self.retained: weakref.ref | None = None
        self.stack: list[str] | None = None
        self.group: Any = None


def extras(entry: Any) -> EntryExtras:
    """The entry's extras, made on first use."""
    if entry.extra is None:
        entry.extra = EntryExtras()
    return entry.extra


class LeafHooks:
    """Hooks registered on one leaf tensor: `pre` see (and may replace) its gradient, `post` run after
    `.gradient` was updated."""

    __slots__ = ("post", "pre")

    def __init__(self) -> None:
        self.pre: OrderedDict = OrderedDict()
        self.post: OrderedDict = OrderedDict()


HOOKED_LEAVES: dict[int, weakref.ref] = {}  # id(leaf) -> the leaf, for leaves with hooks; gone when it dies


def _leaf_hooks(tensor: Any) -> LeafHooks:
    hooks = getattr(tensor, "_hooks", None)
    if hooks is None:
        key = id(tensor)
        hooks = tensor._hooks = LeafHooks()
        HOOKED_LEAVES[key] = weakref.ref(tensor, lambda _ref: HOOKED_LEAVES.pop(key, None))
    return hooks


def register_tensor_hook(tensor: Any, hook: Callable) -> RemovableHandle:
    """`hook(grad) -> new grad or None` on `tensor` (a leaf or a recorded result)."""
    if tensor._entry is None:
        hooks = _leaf_hooks(tensor).pre
    else:
        extra = extras(tensor._entry)
        if extra.hooks is None:
            extra.hooks = OrderedDict()
        hooks = extra.hooks
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def register_post_accumulate_hook(tensor: Any, hook: Callable) -> RemovableHandle:
    """`hook(tensor)` after a leaf's `.gradient` was updated by backward."""
    hooks = _leaf_hooks(tensor).post
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def run_tensor_hooks(hooks: OrderedDict, grad: torch.Tensor) -> torch.Tensor:
    """Each hook in order sees the gradient so far; a returned value replaces it (checked as torch does)."""
    for hook in tuple(hooks.values()):
        result = hook(grad)
        if result is None:
            continue
        if not isinstance(result, torch.Tensor) and isinstance(getattr(result, "data", None), torch.Tensor):
            result = result.data  # an engine Tensor
        name = getattr(hook, "__name__", type(hook).__name__)
        if not isinstance(result, torch.Tensor):
            raise TypeError(f"expected Variable, but hook returned '{type(result).__name__}'")
        if result.shape != grad.shape:
            raise RuntimeError(f"hook '{name}' has changed the size of value")
        if result.dtype != grad.dtype:
            raise RuntimeError(f"hook '{name}' has changed the type of value (was {grad.type()} got {result.type()})")
        grad = result
    return grad


# ---------------------------------------------------------------- anomaly mode


_ENGINE_FRAMES = ("_graph_hooks.py", "tape.py", "function.py")  # the recording machinery, not the caller


def anomaly_stack() -> list[str]:
    """The Python stack of the forward call being recorded, without the engine's own frames."""
    frames = traceback.extract_stack()
    while frames and frames[-1].filename.endswith(_ENGINE_FRAMES):
        frames.pop()
    return traceback.format_list(frames)


def scope_path(scope: tuple) -> str:
    """`Net > encoder.conv1 (Conv2d)` for a scope of nested modules; `(top level)` for an empty scope."""
    if not scope:
        return "(top level)"
    names = []
    for parent, child in itertools.pairwise(scope):
        children = getattr(parent, "named_children", None)
        name = next((n for n, m in children() if m is child), None) if children else None
        names.append(name if name is not None else type(child).__name__)
    root = type(scope[0]).__name__ if hasattr(scope[0], "named_children") else str(scope[0])
    inner = f" > {'.'.join(names)} ({type(scope[-1]).__name__})" if names else ""
    return root + inner


def _describe(entry: Any, detail: str) -> str:
    shapes = ", ".join(
        str(tuple(x.data.shape)) if hasattr(x, "data") and isinstance(x.data, torch.Tensor) else repr(x)
        for x in entry.inputs
    )
    stack = entry.extra.stack if entry.extra is not None and entry.extra.stack else None
    where = "".join(stack) if stack else "(not recorded: anomaly mode was off during the forward)\n"
    return (
        f"{detail}; module path: {scope_path(entry.scope)}; input shapes: {shapes}. "
        f"Traceback of the forward call that recorded '{entry.op_name}':\n{where}"
    )


def _bad_values(value: torch.Tensor) -> str | None:
    if not (value.is_floating_point() or value.is_complex()):
        return None
    if bool(torch.isnan(value).any()):
        return "nan"
    if bool(torch.isinf(value).any()):
        return "inf"
    return None


def check_forward(entry: Any, output: torch.Tensor) -> None:
    """Anomaly mode with check_nan: refuse a recorded op whose forward made NaN or Inf."""
    bad = _bad_values(output)
    if bad is not None:
        detail = (
            f"Function '{entry.op_name}' returned {bad} values in its forward output of shape {tuple(output.shape)}"
        )
        raise RuntimeError(_describe(entry, detail))


def check_backward(entry: Any, grads: tuple) -> None:
    """Anomaly mode with check_nan: refuse an op whose backward made NaN or Inf (torch's wording first)."""
    for index, grad in enumerate(grads):
        if isinstance(grad, torch.Tensor) and (bad := _bad_values(grad)) is not None:
            detail = (
                f"Function '{entry.op_name}' returned {bad} values in its {index}th output "
                f"(the gradient of input {index}, shape {tuple(grad.shape)})"
            )
            raise RuntimeError(_describe(entry, detail))


def add_forward_note(error: BaseException, entry: Any) -> None:
    """In anomaly mode, an error raised by a backward names the forward call that recorded its op."""
    if entry.extra is not None and entry.extra.stack:
        error.add_note(f"Traceback of the forward call that recorded '{entry.op_name}':\n{''.join(entry.extra.stack)}")


# ---------------------------------------------------------------- one backward walk


def accumulate(tensor: Any, grad: torch.Tensor) -> None:
    """`tensor.gradient += grad`, out of place; a first gradient is copied so that it aliases nothing.

    Backward results may be broadcast views (stride 0) or shared between inputs (`a + b` hands both the
    same tensor); a private contiguous copy keeps in-place updates of `.gradient` (optimizers) safe.
    """
    if tensor.gradient is None:
        tensor.gradient = grad.clone(memory_format=torch.contiguous_format)
    else:
        tensor.gradient = tensor.gradient + grad


class Walk:
    """Where one backward walk delivers gradients, and what it does besides the chain rule.

    leaf_targets: id(leaf) -> positions in `results`; None: every leaf requiring a gradient receives one.
    entry_targets: entry of a non-leaf target -> positions in `results`; entry_outputs: entry -> that target.
    results: a list filled instead of `.gradient` (`autograd.grad`); None: gradients accumulate into
    `.gradient` (`backward`, `backward(inputs=...)`).
    prune: with targets, run only the entries on a path to one (as torch); hooks elsewhere do not run.
    leaf_hooks: run the hooks of leaves (off for a checkpoint's inner walk: the outer walk runs them).
    """

    def __init__(
        self,
        leaf_targets: dict[int, list[int]] | None = None,
        entry_targets: dict[Any, list[int]] | None = None,
        results: list | None = None,
        prune: bool = True,
        leaf_hooks: bool = True,
        entry_outputs: dict[Any, Any] | None = None,
    ) -> None:
        self.leaf_targets, self.entry_targets, self.results = leaf_targets, entry_targets, results
        self.entry_outputs = entry_outputs or {}
        self.prune_on, self.leaf_hooks = prune and leaf_targets is not None, leaf_hooks
        self.reach: set | None = None  # entries whose output's gradient is wanted (pruned walks)
        self.execute: set | None = None  # entries whose backward must run (pruned walks)
        self.buffer: dict[int, list] = {}  # id(leaf) -> [leaf, summed gradient] for leaves delivered at the end
        self.anomaly = torch.is_anomaly_enabled()
        self.check_nan = self.anomaly and torch.is_anomaly_check_nan_enabled()
        self.slow = self.anomaly or leaf_targets is not None or entry_targets is not None

    def prune(self, root_entries: list) -> None:
        """Mark the entries between the roots and the targets (one pass down the graph, one up in seq order)."""
        seen, stack = set(), list(root_entries)
        while stack:
            entry = stack.pop()
            if entry in seen:
                continue
            seen.add(entry)
            stack.extend(p for x in entry.inputs if (p := getattr(x, "_entry", None)) is not None and p not in seen)
        reach, execute, leaves = set(self.entry_targets or ()), set(), self.leaf_targets or {}
        for entry in sorted(seen, key=lambda e: e.seq):
            if any(id(x) in leaves or getattr(x, "_entry", None) in reach for x in entry.inputs):
                execute.add(entry)
                reach.add(entry)
        self.reach, self.execute = reach, execute

    def enter(self, entry: Any, grad_out: torch.Tensor, pending: dict) -> torch.Tensor | None:
        """The slow path before an entry's backward: returns its (maybe replaced) output gradient, or None
        when its backward must not run."""
        if self.reach is not None and entry not in self.reach:
            return None
        extra = entry.extra
        retained = False
        if extra is not None:
            if extra.group is not None:
                grad_out = extra.group.complete(entry, grad_out, pending)
            if extra.hooks:
                grad_out = run_tensor_hooks(extra.hooks, grad_out)
            if extra.retained is not None and (output := extra.retained()) is not None:
                accumulate(output, grad_out)
                retained = True
        if self.entry_targets is not None and entry in self.entry_targets:
            if self.results is not None:
                for position in self.entry_targets[entry]:
                    self.results[position] = grad_out
            elif not retained:
                accumulate(self.entry_outputs[entry], grad_out)
        if self.execute is not None and entry not in self.execute:
            return None
        return grad_out

    def check(self, entry: Any, grads: tuple) -> None:
        """After an entry's backward (slow walks only): anomaly mode's NaN/Inf check."""
        if self.check_nan:
            check_backward(entry, grads)

    def leaf(self, tensor: Any, grad: torch.Tensor) -> None:
        """A leaf's gradient: straight into `.gradient`, or summed first when hooks or a target want the total."""
        key = id(tensor)
        if self.leaf_targets is not None and key not in self.leaf_targets:
            return
        if self.results is None and key not in HOOKED_LEAVES:
            accumulate(tensor, grad)
            return
        buffered = self.buffer.get(key)
        if buffered is None:
            self.buffer[key] = [tensor, grad]
        else:
            buffered[1] = buffered[1] + grad

    def finish(self) -> None:
        """Deliver the summed gradients of buffered leaves: pre-hooks, then the result or `.gradient` and
        post-accumulate hooks."""
        for tensor, grad in self.buffer.values():
            hooks = getattr(tensor, "_hooks", None) if self.leaf_hooks else None
            if hooks is not None and hooks.pre:
                grad = run_tensor_hooks(hooks.pre, grad)
            if self.results is not None:
                for position in self.leaf_targets[id(tensor)]:  # type: ignore[index]
                    self.results[position] = grad
                continue
            accumulate(tensor, grad)
            if hooks is not None:
                for hook in tuple(hooks.post.values()):
                    hook(tensor)


def targets_walk(inputs: Any, caller: str, results: list | None) -> Walk:
    """A walk delivering gradients only to `inputs` (tensors, leaves or not), checked with torch's errors.

    caller: "grad" (results are returned) or "backward" (they accumulate into `.gradient`).
    """
    inputs = (inputs,) if hasattr(inputs, "_entry") else tuple(inputs)
    if not inputs:
        raise RuntimeError(f"`inputs` argument to `{caller}()` cannot be empty.")
    leaf_targets: dict[int, list[int]] = {}
    entry_targets: dict[Any, list[int]] = {}
    entry_outputs: dict[Any, Any] = {}
    for position, tensor in enumerate(inputs):
        if not hasattr(tensor, "_entry"):
            raise RuntimeError(f"all inputs have to be Tensors or GradientEdges, but got {type(tensor).__name__}")
        if not tensor.requires_grad:
            raise RuntimeError(
                "One of the differentiated Tensors does not require grad"
                if caller == "grad"
                else "can't retain_grad on Tensor that has requires_grad=False"
            )
        if tensor._entry is None:
            leaf_targets.setdefault(id(tensor), []).append(position)
        else:
            entry_targets.setdefault(tensor._entry, []).append(position)
            entry_outputs[tensor._entry] = tensor
    return Walk(leaf_targets, entry_targets, results, entry_outputs=entry_outputs)
