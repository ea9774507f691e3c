"""Read the recorded graph behind a tensor into a plain model: nodes, edges and module clusters.

The walk follows `tensor._entry` → `entry.inputs` → their `_entry` with an explicit stack (never recursion,
so a 10,000-op chain is fine) and only reads the tape: entries, their ops' declared attributes, scopes and
saved tensors.
`collapse` then folds whole module clusters into single nodes until the graph is small enough.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from .._tensor import Tensor

logger = logging.getLogger(__name__)

_DEFAULTS = {"dilation": (1, 1), "groups": 1, "output_padding": (0, 0), "keepdim": False}
_PAIRS = frozenset({"stride", "padding", "dilation", "kernel", "scale", "output_padding"})


class FreedGraphError(RuntimeError):
    """The graph behind the tensor was freed by `backward()` and can no longer be drawn."""


@dataclass
class Node:
    """One drawn node. kind: op, parameter, leaf, input, output, saved or module (a collapsed cluster)."""

    id: str
    kind: str
    title: str
    lines: list[str] = field(default_factory=list)
    scope: tuple[int, ...] = ()  # key of the innermost module cluster holding the node; () is the top level
    ops: int = 0  # ops and parameters this node stands for (1/0 for an op, the totals for a module)
    params: int = 0
    shape: str = ""  # an op's output shape (also kept by the module node it collapses into)


@dataclass
class GraphModel:
    """nodes by id (in drawing order), edges (source, target, kind: "data" | "saved"), clusters key → label."""

    nodes: dict[str, Node]
    edges: list[tuple[str, str, str]]
    clusters: dict[tuple[int, ...], str]


def shape_text(shape: torch.Size | tuple) -> str:
    """(1, 16, 32, 32) → "(1, 16, 32, 32)"; a 0-d shape → "scalar"."""
    return str(tuple(shape)) if len(shape) else "scalar"


def tensor_text(data: torch.Tensor) -> str:
    """Shape and dtype (and the device when not the CPU), e.g. "(16, 3, 3, 3) float32"."""
    text = f"{shape_text(data.shape)} {str(data.dtype).removeprefix('torch.')}"
    return text if data.device.type == "cpu" else f"{text} {data.device}"


def grad_text(gradient: torch.Tensor) -> str:
    """ "‖grad‖ = 0.0123": the gradient's 2-norm, computed in float64."""
    return f"‖grad‖ = {float(gradient.detach().abs().double().norm()):.3g}"


def _value_text(name: str, value: Any) -> str:
    if isinstance(value, (tuple, list)) and name in _PAIRS and value and all(v == value[0] for v in value):
        value = value[0]
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, torch.dtype):
        return str(value).removeprefix("torch.")
    text = str(tuple(value)) if isinstance(value, (list, torch.Size)) else str(value)
    return text if len(text) <= 32 else text[:29] + "..."


def attribute_lines(entry: Any, width: int = 36) -> list[str]:
    """The attributes the entry's op declares ("stride=2, padding=1"), without None or default values."""
    parts = [
        f"{name}={_value_text(name, value)}"
        for name, value in entry.function.labels(entry.ctx).items()
        if value is not None
        and not isinstance(value, torch.Size)
        and _DEFAULTS.get(name, object()) != value
        and not (name in _PAIRS and _DEFAULTS.get(name) == (value,) * 2)
    ]
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + len(part) + 2 <= width:
            lines[-1] += ", " + part
        else:
            lines.append(part)
    return lines


def _names(params: Any) -> tuple[dict[int, str], dict[int, str]]:
    """id(parameter) → dotted name and id(module) → dotted path, from a Module or a name → tensor dict."""
    if params is None:
        return {}, {}
    if hasattr(params, "named_parameters"):
        modules = dict(params.named_modules()) if hasattr(params, "named_modules") else {}
        return {id(p): n for n, p in params.named_parameters()}, {id(m): path for path, m in modules.items()}
    if isinstance(params, Mapping):
        return {id(t): str(n) for n, t in params.items()}, {}
    raise TypeError(f"draw_graph: params must be a Module or a dict name → tensor, got {type(params).__name__}")


def _cluster_label(label: Any, paths: dict[int, str]) -> str:
    """ "3: Upsampling" for a module at path "3"; the bare type name for the root module or an unnamed one."""
    if isinstance(label, str):
        return label
    path, kind = paths.get(id(label)), type(label).__name__
    return f"{path}: {kind}" if path else kind


def _common_prefix(a: tuple, b: tuple) -> tuple:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _freed_error(op: str) -> FreedGraphError:
    return FreedGraphError(
        f"draw_graph: the graph behind this tensor was freed by backward() (op '{op}' no longer holds its "
        "inputs). Draw the graph before calling backward(), or call backward(retain_graph=True) to keep it."
    )


def collect_entries(root: Tensor) -> list:
    """Every tape entry the root's gradient would flow through, in recording order (explicit stack)."""
    if root._entry is None:
        return []
    seen: dict[int, Any] = {}
    stack = [root._entry]
    while stack:
        entry = stack.pop()
        if id(entry) in seen:
            continue
        if entry.freed:
            raise _freed_error(entry.op_name)
        seen[id(entry)] = entry
        stack.extend(x._entry for x in entry.inputs if isinstance(x, Tensor) and x._entry is not None)
    return sorted(seen.values(), key=lambda e: e.seq)


def build_model(root: Tensor, params: Any = None, show_saved: bool = False, show_grad: bool = True) -> GraphModel:
    """Walk the graph behind `root` into a GraphModel (see `draw_graph` for the arguments)."""
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph: expected an engine Tensor, got {type(root).__name__}")
    if not root.requires_grad:
        raise ValueError(
            "draw_graph: this tensor requires no gradient, so no graph was recorded behind it. Compute it from "
            "tensors with requires_grad=True (or a model's parameters), outside no_grad() and with the model "
            "in train mode (or inside enable_grad())."
        )
    names, paths = _names(params)
    entries = collect_entries(root)
    # each entry's output tensor: its consumers hold it (entries hold no reference to their outputs)
    outputs = {id(x._entry): x for entry in entries for x in entry.inputs if isinstance(x, Tensor) and x._entry}
    outputs[id(root._entry)] = root
    nodes: dict[str, Node] = {}
    edges: list[tuple[str, str, str]] = []
    clusters: dict[tuple[int, ...], str] = {}
    label_index: dict[int, int] = {}  # id(scope label) → small int, in order of first appearance
    op_ids: dict[int, str] = {}  # id(entry) → node id
    leaves: dict[int, Node] = {}  # id(tensor) → node

    def leaf_node(tensor: Any, consumer_scope: tuple[int, ...]) -> Node:
        node = leaves.get(id(tensor))
        data = tensor.data if isinstance(tensor, Tensor) else tensor
        grad_leaf = isinstance(tensor, Tensor) and tensor.requires_grad
        if node is None:
            name = names.get(id(tensor))
            kind = "input" if not grad_leaf else "parameter" if name is not None else "leaf"
            title = name or ("input" if kind == "input" else "leaf (requires grad)")
            # inputs sit at the top level; parameters in the innermost cluster holding all their consumers
            scope = consumer_scope if grad_leaf else ()
            node = Node(f"t{len(leaves)}", kind, title, [tensor_text(data)], scope, params=int(grad_leaf))
            if grad_leaf and show_grad and tensor.gradient is not None:
                node.lines.append(grad_text(tensor.gradient))
            leaves[id(tensor)] = nodes[node.id] = node
        elif grad_leaf:
            node.scope = _common_prefix(node.scope, consumer_scope)
        return node

    for entry in entries:
        scope = tuple(label_index.setdefault(id(label), len(label_index)) for label in entry.scope)
        for depth, label in enumerate(entry.scope):
            clusters.setdefault(scope[: depth + 1], _cluster_label(label, paths))
        output = outputs.get(id(entry))
        op = Node(f"op{len(op_ids)}", "op", entry.op_name, attribute_lines(entry), scope, ops=1)
        op_ids[id(entry)] = op.id
        nodes[op.id] = op
        first_input = None
        for x in entry.inputs:
            if isinstance(x, Tensor) and x._entry is not None:
                edges.append((op_ids[id(x._entry)], op.id, "data"))
            elif isinstance(x, (Tensor, torch.Tensor)):
                edges.append((leaf_node(x, scope).id, op.id, "data"))
            elif isinstance(x, (int, float)):
                op.lines.append(f"scalar {x:g}" if isinstance(x, float) else f"scalar {x}")
            if first_input is None and isinstance(x, (Tensor, torch.Tensor)):
                first_input = x.data if isinstance(x, Tensor) else x
        if output is not None:
            op.shape = shape_text(output.shape)
            if isinstance(first_input, torch.Tensor) and (first_input.dtype, first_input.device) != (
                output.dtype,
                output.device,
            ):
                op.shape = tensor_text(output.data)
            op.lines.append(op.shape)
            if show_grad and output.gradient is not None:  # kept by retain_grad()
                op.lines.append(grad_text(output.gradient))
        if show_saved:
            _add_saved(entry, output, op, nodes, edges)

    out = Node("out", "output", "output", [tensor_text(root.data)])
    if root.data.numel() == 1 and not root.data.is_complex():
        out.lines.append(f"value = {float(root.data.double().reshape(())):.4g}")
    if show_grad and root.gradient is not None:
        out.lines.append(grad_text(root.gradient))
    nodes[out.id] = out
    if root._entry is not None:
        edges.append((op_ids[id(root._entry)], out.id, "data"))
    return GraphModel(nodes, edges, clusters)


def _add_saved(entry: Any, output: Tensor | None, op: Node, nodes: dict[str, Node], edges: list) -> None:
    """One node per tensor the op saved for backward (`output`: the op's output tensor), joined to the op by a
    dashed edge."""
    inputs = [x.data if isinstance(x, Tensor) else x for x in entry.inputs]
    tensors = [t for t in getattr(entry.ctx, "saved_tensors", ()) if isinstance(t, torch.Tensor)]
    for index, saved in enumerate(tensors):
        node = Node(f"s{op.id.removeprefix('op')}_{index}", "saved", "saved", [tensor_text(saved)], op.scope)
        same = [f"input {i}" for i, x in enumerate(inputs) if x is saved]
        if output is not None and output.data is saved:
            same.append("output")
        if same:
            node.lines.append("= " + ", ".join(same))
        nodes[node.id] = node
        edges.append((node.id, op.id, "saved"))


def collapse(model: GraphModel, max_nodes: int) -> int:
    """Fold module clusters into one node each, deepest level first, until at most max_nodes nodes remain.

    Within a level the largest clusters go first, and a level once started is finished (a cluster of a single
    op costs no node to fold), so the drawing reads uniformly as modules of that depth. Returns the number of
    clusters collapsed; logs a warning when even folding everything cannot reach the limit.
    """
    collapsed = 0
    while len(model.nodes) > max_nodes and model.clusters:
        depth = max(len(key) for key in model.clusters)
        sizes = _cluster_sizes(model)
        for key in sorted((k for k in model.clusters if len(k) == depth), key=lambda k: (-sizes.get(k, 0), k)):
            if sizes.get(key):
                _collapse_cluster(model, key, f"m{collapsed}")
                collapsed += 1
        model.clusters = {k: v for k, v in model.clusters.items() if len(k) < depth}
    if len(model.nodes) > max_nodes:
        logger.warning("draw_graph: %d nodes remain above max_nodes=%d", len(model.nodes), max_nodes)
    return collapsed


def _cluster_sizes(model: GraphModel) -> dict[tuple[int, ...], int]:
    """Number of nodes inside each cluster (nested clusters included)."""
    sizes: dict[tuple[int, ...], int] = {}
    for node in model.nodes.values():
        for depth in range(1, len(node.scope) + 1):
            sizes[node.scope[:depth]] = sizes.get(node.scope[:depth], 0) + 1
    return {key: size for key, size in sizes.items() if key in model.clusters}


def _collapse_cluster(model: GraphModel, key: tuple[int, ...], node_id: str) -> None:
    members = {nid for nid, node in model.nodes.items() if node.scope[: len(key)] == key}
    sources = {s for s, t, _ in model.edges if s in members and t not in members}
    ops = sum(model.nodes[m].ops for m in members)
    params = sum(model.nodes[m].params for m in members)
    shape = model.nodes[next(iter(sources))].shape if len(sources) == 1 else ""
    counts = f"{ops} op{'s' * (ops != 1)}" + (f", {params} param{'s' * (params != 1)}" if params else "")
    node = Node(node_id, "module", model.clusters[key], [counts], key[:-1], ops, params, shape)
    if shape:
        node.lines.append(shape)
    position = next(i for i, nid in enumerate(model.nodes) if nid in members)
    items = [item for item in model.nodes.items() if item[0] not in members]
    items.insert(position, (node_id, node))
    model.nodes = dict(items)
    edges: dict[tuple[str, str, str], None] = {}
    for s, t, kind in model.edges:
        s, t = (node_id if s in members else s), (node_id if t in members else t)
        if s != t:
            edges[(s, t, kind)] = None
    model.edges = list(edges)
    model.clusters = {k: v for k, v in model.clusters.items() if k[: len(key)] != key}
