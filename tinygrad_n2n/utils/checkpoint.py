"""Gradient checkpointing (torch.utils.checkpoint's non-reentrant semantics): trade compute for memory.

`checkpoint(fn, *args)` runs `fn` without keeping its graph: the ops it records are diverted from the tape,
their saved tensors dropped at once, and only the tensors that flow in from outside (`args`, and anything
`fn` reads that requires a gradient, such as a module's parameters) are remembered. Each output gets one
`Checkpoint` entry on the tape. Its backward replays `fn` (with the RNG state of the forward, so dropout
draws the same masks), walks the replayed graph from the outputs down to those outside tensors, and hands
their gradients on to the outer walk: gradients equal the plain run's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from .. import _graph_hooks, tape
from .._tensor import Tensor
from ..ops.function import Context, Function


class _Region:
    """One checkpointed call: what flows in, how to replay it, and the gradients of its outputs."""

    def __init__(self, function: Callable, args: tuple, kwargs: dict, preserve_rng_state: bool) -> None:
        self.function, self.args, self.kwargs = function, args, kwargs
        self.first_seq = tape._state.log.next_seq
        self.scope, self.forced = tape._state.log.scope, tape._state.log.forced
        self.boundary: dict[int, Tensor] = {}  # id -> tensor from outside that a diverted op read
        self.devices = sorted({a.device.index or 0 for a in args if isinstance(a, Tensor) and a.device.type == "cuda"})
        self.rng = None
        if preserve_rng_state:
            cuda = [torch.cuda.get_rng_state(d) for d in self.devices]
            self.rng = (torch.get_rng_state(), cuda)
        self.positions: list[int] = []  # positions (in the flat outputs) of the outputs made inside
        self.members: list[tape.Entry] = []  # their Checkpoint entries, one per output
        self.grads: list[torch.Tensor | None] | None = None

    def take(self, entry: tape.Entry) -> None:
        """Keep what a diverted entry read from outside; drop everything else it holds."""
        for x in entry.inputs:
            if isinstance(x, Tensor) and x._requires_grad and (x._entry is None or x._entry.seq < self.first_seq):
                self.boundary.setdefault(id(x), x)
        entry.ctx.saved_tensors = entry.ctx.saved_versions = ()
        entry.inputs, entry.freed = (), True

    def complete(self, entry: tape.Entry, grad_out: torch.Tensor, pending: dict) -> torch.Tensor:
        """The first output entry the walk reaches collects the gradients of all outputs (all are final: the
        outputs' consumers were recorded after every member)."""
        if self.grads is None:
            self.grads = [grad_out if m is entry else pending.pop(m, None) for m in self.members]
        return grad_out

    def replay(self) -> list[torch.Tensor | None]:
        """Recompute the outputs with their graph and walk it; the gradients of the boundary tensors, in order."""
        grads, self.grads = self.grads, None
        with (
            torch.random.fork_rng(devices=self.devices, enabled=self.rng is not None),
            tape.replaying(self.scope, self.forced),
        ):
            if self.rng is not None:
                torch.set_rng_state(self.rng[0])
                for device, state in zip(self.devices, self.rng[1]):
                    torch.cuda.set_rng_state(state, device)
            floor = tape._state.log.next_seq
            outputs = _flat(self.function(*self.args, **self.kwargs))
        roots, seeds = [], []
        for position, grad in zip(self.positions, grads or ()):
            output = outputs[position]
            if grad is not None and isinstance(output, Tensor) and output._entry is not None:
                roots.append(output)
                seeds.append(grad)
        boundary = list(self.boundary.values())
        leaves = {id(t): [i] for i, t in enumerate(boundary) if t._entry is None}
        results: list = [None] * len(boundary)
        walk = _graph_hooks.Walk(leaves, None, results, prune=False, leaf_hooks=False)
        left = tape.run_backward(roots, seeds, False, walk, floor_seq=floor) or {}
        for index, tensor in enumerate(boundary):
            if tensor._entry is not None:
                results[index] = left.get(tensor._entry)
        return results


class Checkpoint(Function):
    """y = fn(*args) without its graph; backward replays fn and walks the replayed graph."""

    @staticmethod
    def forward(ctx: Context, *inputs: Any) -> torch.Tensor:
        """Never called: `checkpoint` records these entries itself."""
        raise RuntimeError("Checkpoint entries are made by tinygrad_n2n.utils.checkpoint, never applied")

    @staticmethod
    def backward(ctx: Context, grad_out: torch.Tensor) -> tuple:
        """Replay the region and return the gradients of the tensors that flowed into it."""
        return tuple(ctx.region.replay())


def _flat(outputs: Any) -> list:
    return list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]


def checkpoint(
    function: Callable,
    *args: Any,
    use_reentrant: bool | None = None,
    preserve_rng_state: bool = True,
    **kwargs: Any,
) -> Any:
    """`function(*args, **kwargs)`, keeping none of its intermediate results for backward: they are recomputed
    when backward reaches its outputs (a Tensor, or a tuple/list of them and other values).

    use_reentrant: only False (or None) is supported, torch's recommended non-reentrant variant.
    preserve_rng_state: replay with the forward's RNG state (CPU and the CUDA devices of the tensor args).
    """
    if use_reentrant:
        raise NotImplementedError(
            "checkpoint: use_reentrant=True is not supported; the engine implements torch's non-reentrant "
            "checkpoint: pass use_reentrant=False"
        )
    if not tape.is_recording():
        return function(*args, **kwargs)
    region = _Region(function, args, kwargs, preserve_rng_state)
    with tape.diverted(region.take):
        outputs = function(*args, **kwargs)
    flat = _flat(outputs)
    boundary = tuple(region.boundary.values())
    for position, output in enumerate(flat):
        if isinstance(output, Tensor) and output._entry is not None and output._entry.seq >= region.first_seq:
            ctx = Context()
            ctx.needs_input_grad, ctx.region = (True,) * len(boundary), region
            wrapped = Tensor._make(output.data, True)
            wrapped._entry = tape.record(Checkpoint, ctx, boundary, wrapped)
            _graph_hooks.extras(wrapped._entry).group = region
            region.positions.append(position)
            region.members.append(wrapped._entry)
            flat[position] = wrapped
    if isinstance(outputs, (tuple, list)):
        return type(outputs)(flat)
    return flat[0]


def checkpoint_sequential(
    functions: Sequence[Callable] | Any,
    segments: int,
    input: Any,
    use_reentrant: bool | None = None,
    **kwargs: Any,
) -> Any:
    """Run `functions` (a Sequential or a list of callables) in order on `input`, checkpointing each of the
    first `segments - 1` segments of `len(functions) // segments` functions; the last segment runs plainly
    (as torch.utils.checkpoint.checkpoint_sequential)."""
    preserve = kwargs.pop("preserve", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())

    def run(start: int, end: int) -> Callable:
        def forward(x: Any) -> Any:
            for j in range(start, end + 1):
                x = functions[j](x)
            return x

        return forward

    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
