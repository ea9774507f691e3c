"""`draw_graph`: turn the recorded graph behind a tensor into a `graphviz.Digraph` (no rendering)."""

from __future__ import annotations

import html
from typing import Any

import graphviz

from .._tensor import Tensor
from .walk import GraphModel, Node, build_model, collapse

# kind → (fill colour, legend text); the same table is in the package docstring
PALETTE: dict[str, tuple[str, str]] = {
    "output": ("#a8dc8c", "output (the root drawn from)"),
    "parameter": ("#9fcdf5", "parameter (dotted name)"),
    "leaf": ("#c9b8ef", "leaf requiring grad, unnamed"),
    "input": ("#e2e2e2", "input / constant (no grad)"),
    "op": ("#ffffff", "op: attributes, output shape"),
    "saved": ("#fbd09b", "saved for backward"),
    "module": ("#f6e7a8", "collapsed module"),
}
_CLUSTER_FILLS = ("#f5f7fb", "#e9eef7", "#dde5f2", "#d1dcee")
_FONT = "Helvetica"


def _label(node: Node) -> str:
    """HTML-like label: the title in bold, then one line per detail."""
    lines = [f"<B>{html.escape(node.title)}</B>", *(html.escape(line) for line in node.lines)]
    return "<" + "<BR/>".join(lines) + ">"


def _node_attrs(node: Node) -> dict[str, str]:
    fill = PALETTE[node.kind][0]
    if node.kind == "op":
        return {"shape": "box", "style": "filled", "fillcolor": fill, "color": "#606060", "ordering": "in"}
    if node.kind == "module":
        return {"shape": "box3d", "style": "filled", "fillcolor": fill, "color": "#8c7a2c"}
    if node.kind == "saved":
        return {"shape": "note", "style": "filled", "fillcolor": fill, "color": "#b9782a", "fontsize": "9"}
    style = "rounded,filled,bold" if node.kind == "output" else "rounded,filled"
    return {"shape": "box", "style": style, "fillcolor": fill, "color": "#505050"}


def _legend(graph: graphviz.Digraph, kinds: list[str], clusters: bool) -> None:
    """A small cluster holding one table node: a coloured swatch per node kind present in the graph."""
    rows = [
        f'<TR><TD BGCOLOR="{PALETTE[kind][0]}" ALIGN="LEFT">{html.escape(PALETTE[kind][1])}</TD></TR>'
        for kind in PALETTE
        if kind in kinds
    ]
    if clusters:
        rows.append(f'<TR><TD BGCOLOR="{_CLUSTER_FILLS[1]}" ALIGN="LEFT">module cluster: path: Type</TD></TR>')
    table = '<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="2" CELLPADDING="3">' + "".join(rows) + "</TABLE>>"
    with graph.subgraph(name="cluster_legend") as legend:
        legend.attr(label="legend", style="rounded,dashed", color="#9a9a9a", fontsize="10", labeljust="l")
        legend.node("legend", table, shape="plaintext", fontsize="9")


def _fed_by_own_leaves(model: GraphModel) -> set[str]:
    """Nodes fed by a parameter, leaf or saved tensor of their own cluster that feeds nothing else.

    Edges from other ops into such a node get minlen=2, leaving a rank for those leaves above it, so that
    consecutive module clusters stack vertically instead of sharing ranks and drifting sideways.
    """
    targets: dict[str, set[str]] = {}
    for source, target, _ in model.edges:
        targets.setdefault(source, set()).add(target)
    fed = set()
    for node_id, consumers in targets.items():
        node = model.nodes[node_id]
        if node.kind in ("parameter", "leaf", "saved") and len(consumers) == 1:
            (consumer,) = consumers
            if model.nodes[consumer].scope == node.scope:
                fed.add(consumer)
    return fed


def emit(model: GraphModel, group_modules: bool = True, rankdir: str = "TB", legend: bool = True) -> graphviz.Digraph:
    """Write a GraphModel as a Digraph: clusters nested bottom-up (no recursion), nodes, then edges."""
    graph = graphviz.Digraph(
        "tape",
        graph_attr={"rankdir": rankdir, "fontname": _FONT, "nodesep": "0.25", "ranksep": "0.3"},
        node_attr={"fontname": _FONT, "fontsize": "10", "margin": "0.08,0.04", "height": "0.3"},
        edge_attr={"arrowsize": "0.6", "color": "#404040"},
    )
    if legend:
        _legend(graph, [n.kind for n in model.nodes.values()], bool(model.clusters) and group_modules)
    keys = sorted(model.clusters) if group_modules else []
    subgraphs = {
        key: graphviz.Digraph(
            f"cluster_{i}",
            graph_attr={
                "label": model.clusters[key],
                "labeljust": "l",
                "style": "rounded,filled",
                "fillcolor": _CLUSTER_FILLS[(len(key) - 1) % len(_CLUSTER_FILLS)],
                "color": "#8796b0",
                "fontsize": "11",
            },
        )
        for i, key in enumerate(keys)
    }
    for node in model.nodes.values():
        target = subgraphs.get(node.scope, graph) if group_modules else graph
        target.node(node.id, _label(node), **_node_attrs(node))
    for key in sorted(subgraphs, key=len, reverse=True):  # children are complete before their parent copies them
        subgraphs.get(key[:-1], graph).subgraph(subgraphs[key])
    fed = _fed_by_own_leaves(model)
    for source, target, kind in model.edges:
        if kind == "saved":
            graph.edge(source, target, style="dashed", color="#c07a22", arrowhead="none")
        elif target in fed and model.nodes[source].kind in ("op", "module"):
            graph.edge(source, target, minlen="2")  # room for the target's parameters above it
        else:
            graph.edge(source, target)
    return graph


def draw_graph(
    root: Tensor,
    params: Any = None,
    show_saved: bool = False,
    show_grad: bool = True,
    group_modules: bool = True,
    max_nodes: int | None = None,
    rankdir: str = "TB",
    legend: bool = True,
) -> graphviz.Digraph:
    """The graph that `root.backward()` walks, as a `graphviz.Digraph` (not rendered; see `render_graph`).

    root: a tensor computed from tensors requiring a gradient (any shape; typically the scalar loss).
    params: a Module (its `named_parameters()` name the parameter nodes and `named_modules()` the clusters)
        or a dict name → tensor; None draws parameters as unnamed leaves.
    show_saved: also draw what each op saved for backward (shape, dtype), joined to its op by a dashed edge.
    show_grad: label leaves with the norm of their `.gradient` once backward(retain_graph=True) has run.
    group_modules: draw the ops recorded inside a Module's forward inside a cluster labelled "path: Type",
        nested like the modules.
    max_nodes: if the graph has more nodes, collapse whole module clusters into one node each (deepest,
        then largest first) until it has at most max_nodes.
    rankdir: "TB" (inputs at the top, the root at the bottom), "LR", "BT" or "RL".
    legend: add the small cluster that explains the colours.

    Colours: green = the output (root); blue = parameter named by `params`; violet = other leaf requiring a
    gradient; grey = input / constant; white box = op; orange note = saved for backward; yellow 3-D box =
    collapsed module; blue-grey frames = module clusters ("path: Type").
    Raises FreedGraphError (a RuntimeError) when backward already freed the graph (draw first, or use
    backward(retain_graph=True)), ValueError when root requires no gradient (nothing was recorded).
    """
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"draw_graph: rankdir must be one of TB, LR, BT, RL, got {rankdir!r}")
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"draw_graph: max_nodes must be a positive int or None, got {max_nodes!r}")
    model = build_model(root, params, show_saved=show_saved, show_grad=show_grad)
    if max_nodes is not None:
        collapse(model, max_nodes)
    return emit(model, group_modules=group_modules, rankdir=rankdir, legend=legend)
