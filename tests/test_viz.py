"""tinygrad_n2n.viz: the drawn graph's structure, labels, clusters, collapsing, errors and rendering."""

from __future__ import annotations

import logging
import re
import shutil
import sys

import graphviz
import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n import nn, tape
from tinygrad_n2n.viz import FreedGraphError, GraphvizNotFoundError, draw_graph, render_graph

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` binary not installed")


def nodes(graph) -> dict[str, str]:
    """node id → its DOT attribute text, legend excluded."""
    found = re.findall(r"^\t+(\w+) \[(.*)\]$", graph.source, flags=re.M)
    return {name: attrs for name, attrs in found if name not in ("graph", "node", "edge", "legend")}


def edges(graph) -> list[tuple[str, str]]:
    return re.findall(r"^\t+(\w+) -> (\w+)", graph.source, flags=re.M)


def cluster_labels(graph) -> list[str]:
    return re.findall(r'label="?([^"\]]+?)"? labeljust', graph.source)


def indent(graph, cluster_label: str) -> int:
    """How deeply the cluster labelled `cluster_label` is nested (tabs before its attribute line)."""
    return len(re.search(rf'^(\t*).*label="?{re.escape(cluster_label)}', graph.source, re.M).group(1))


def small_net() -> nn.Module:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU())
            self.up = nn.Upsampling(4, 3, scale_factor=2)

        def forward(self, x):
            return self.up(self.enc(x))

    torch.manual_seed(0)
    return Net()


def net_loss(model: nn.Module) -> tn.Tensor:
    x, target = tn.randn(2, 3, 8, 8), tn.randn(2, 3, 8, 8)
    return nn.functional.mse_loss(model(x), target)


def test_structure_of_a_known_graph():
    x = tn.randn(2, 3, requires_grad=True)
    w = tn.randn(3, 4, requires_grad=True)
    graph = draw_graph((x @ w).relu().sum(), params={"w": w})
    found = nodes(graph)
    ops = [n for n in found if n.startswith("op")]
    assert len(ops) == 3 and len(found) == 6  # matmul, relu, sum; x, w; output
    assert len(edges(graph)) == 5  # x→matmul, w→matmul, matmul→relu, relu→sum, sum→output
    w_label = next(attrs for attrs in found.values() if "<B>w</B>" in attrs)
    assert "(3, 4) float32" in w_label and "#9fcdf5" in w_label  # parameter: blue, shape and dtype
    assert "leaf (requires grad)" in graph.source and "(2, 3) float32" in graph.source  # unnamed leaf x
    assert "(2, 4)" in found[ops[0]] and "(2, 4)" in found[ops[1]]  # an op carries its output shape
    assert "scalar" in found[ops[2]]  # the root's op too (entries hold no output: the drawing finds it)
    assert "<B>output</B>" in found["out"] and "scalar float32" in found["out"]


def test_a_leaf_used_twice_is_one_node_with_two_edges():
    x = tn.randn(3, requires_grad=True)
    graph = draw_graph((x * x).sum())
    assert len(nodes(graph)) == 4
    leaf = next(n for n in nodes(graph) if n.startswith("t"))
    assert [e for e in edges(graph) if e[0] == leaf] == [(leaf, "op0")] * 2


def test_constants_scalars_and_inputs():
    x = tn.randn(3, requires_grad=True)
    graph = draw_graph(((x * 2.5) + tn.ones(3)).sum())
    assert "scalar 2.5" in graph.source
    inputs = [attrs for attrs in nodes(graph).values() if "<B>input</B>" in attrs]
    assert len(inputs) == 1 and "#e2e2e2" in inputs[0]


def test_module_clusters_dotted_names_and_attributes():
    model = small_net()
    graph = draw_graph(net_loss(model), params=model)
    assert cluster_labels(graph) == [
        "legend",
        "Net",
        "enc: Sequential",
        "enc.0: Conv2d",
        "enc.1: ReLU",
        "up: Upsampling",
    ]
    for name in ("enc.0.weight", "enc.0.bias", "up.weight", "up.bias"):
        assert f"<B>{name}</B>" in graph.source
    assert "(4, 3, 3, 3) float32" in graph.source
    assert "stride=2, padding=1" in graph.source and "scale=2" in graph.source
    assert "in_size" not in graph.source and "needs_input_grad" not in graph.source  # backward bookkeeping
    assert "dilation" not in graph.source and "groups" not in graph.source  # default values hidden
    # nesting: the Conv2d cluster is inside the Sequential cluster, which is inside Net
    indents = [indent(graph, label) for label in ("Net", "enc: Sequential", "enc.0: Conv2d")]
    assert indents[0] < indents[1] < indents[2]
    # parameters sit in their module's cluster, the data input at the top level
    conv_cluster = graph.source.split('label="enc.0: Conv2d"')[1].split("}")[0]
    assert "enc.0.weight" in conv_cluster and "<B>input</B>" not in conv_cluster


def test_group_modules_off_and_legend_off():
    model = small_net()
    graph = draw_graph(net_loss(model), params=model, group_modules=False, legend=False)
    assert "subgraph" not in graph.source and "legend" not in graph.source
    graph = draw_graph(net_loss(model), params=model)
    assert "subgraph cluster_legend" in graph.source and "#9fcdf5" in graph.source.split("legend [")[1]


def test_drawing_reads_the_tape_without_changing_it():
    model = small_net()
    loss = net_loss(model)
    before = tape.tape_length()
    draw_graph(loss, params=model, show_saved=True)
    assert tape.tape_length() == before
    loss.backward()  # the graph is still whole: backward works after drawing
    assert all(p.gradient is not None for p in model.parameters())


def test_show_grad_after_backward_with_retain_graph():
    model = small_net()
    loss = net_loss(model)
    assert "‖grad‖" not in draw_graph(loss, params=model).source
    loss.backward(retain_graph=True)
    graph = draw_graph(loss, params=model)
    expected = f"{float(model.up.bias.gradient.double().norm()):.3g}"
    up_bias = next(attrs for attrs in nodes(graph).values() if "<B>up.bias</B>" in attrs)
    assert f"‖grad‖ = {expected}" in up_bias
    assert graph.source.count("‖grad‖") == 4
    assert "‖grad‖" not in draw_graph(loss, params=model, show_grad=False).source


def test_show_grad_on_a_retained_intermediate():
    x = tn.randn(3, requires_grad=True)
    hidden = x * 3
    hidden.retain_grad()
    loss = hidden.sum()
    loss.backward(retain_graph=True)
    graph = draw_graph(loss)
    assert "‖grad‖ = 1.73" in nodes(graph)["op0"]  # d loss / d hidden = ones(3), norm √3
    assert f"‖grad‖ = {float(x.gradient.norm()):.3g}" in graph.source


def test_show_saved_joins_saved_tensors_to_their_op():
    x = tn.randn(2, 3)
    w = tn.randn(2, 3, requires_grad=True)
    graph = draw_graph((x * w).sum(), params={"w": w}, show_saved=True)
    saved = {n: attrs for n, attrs in nodes(graph).items() if n.startswith("s")}
    assert len(saved) == 2  # mul saves both operands
    assert sorted(re.search(r"= (input \d)", attrs).group(1) for attrs in saved.values()) == ["input 0", "input 1"]
    assert all("(2, 3) float32" in attrs and "#fbd09b" in attrs for attrs in saved.values())
    dashed = re.findall(r"^\t(s[\d_]+) -> (op\d+) \[.*style=dashed", graph.source, re.M)
    assert sorted(dashed) == [(n, "op0") for n in sorted(saved)]
    assert "saved for backward" in graph.source  # legend entry
    assert not [n for n in nodes(draw_graph((x * w).sum())) if n.startswith("s")]


def test_show_saved_draws_every_saved_tensor_of_a_conv():
    x, w = tn.randn(1, 3, 6, 6), tn.randn(4, 3, 3, 3, requires_grad=True)
    out = tn.functional.conv2d(x, w)
    saved = [t for t in out._entry.ctx.saved_tensors if isinstance(t, torch.Tensor)]
    graph = draw_graph(out, show_saved=True)
    labels = [attrs for n, attrs in nodes(graph).items() if n.startswith("s")]
    assert len(labels) == len(saved) > 0
    for tensor in saved:
        assert any(str(tuple(tensor.shape)) in label for label in labels)


def deep_model(blocks: int = 6) -> nn.Module:
    layers = []
    for _ in range(blocks):
        layers += [nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()]
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), *layers, nn.Conv2d(4, 3, 3, padding=1))


def test_max_nodes_collapses_module_clusters():
    model = deep_model()
    loss = net_loss(model)
    full = draw_graph(loss, params=model)
    assert len(nodes(full)) > 30
    graph = draw_graph(loss, params=model, max_nodes=30)
    found = nodes(graph)
    assert len(found) <= 30
    modules = {n: attrs for n, attrs in found.items() if "box3d" in attrs}
    assert any("<B>1: Conv2d</B>" in attrs and "1 op, 2 params" in attrs for attrs in modules.values())
    # the graph stays connected: every node but the output feeds something
    sources = {s for s, _ in edges(graph)}
    assert set(found) - sources == {"out"}
    assert "collapsed module" in graph.source  # legend entry


def test_max_nodes_tiny_collapses_everything_it_can(caplog):
    model = deep_model(2)
    with caplog.at_level(logging.WARNING, logger="tinygrad_n2n.viz.walk"):
        graph = draw_graph(net_loss(model), params=model, max_nodes=2)
    assert "<B>Sequential</B>" in graph.source  # the whole network became one node
    assert len(nodes(graph)) == 5  # input, Sequential, target, mse_loss, output: still above the limit
    assert "max_nodes=2" in caplog.text


def test_a_10000_op_chain_needs_no_recursion():
    x = tn.randn(4, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    limit = sys.getrecursionlimit()
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    sys.setrecursionlimit(depth + 60)  # far below the chain's length: any recursion over it would fail
    try:
        graph = draw_graph(y.sum())
    finally:
        sys.setrecursionlimit(limit)
    assert sys.getrecursionlimit() == limit
    assert sum(n.startswith("op") for n in nodes(graph)) == 10_001
    assert len(edges(graph)) == 10_002


def test_freed_graph_is_a_clear_error():
    x = tn.randn(3, requires_grad=True)
    loss = (x * 2).sum()
    loss.backward()
    with pytest.raises(FreedGraphError, match=r"before calling backward\(\).*retain_graph=True"):
        draw_graph(loss)
    assert issubclass(FreedGraphError, RuntimeError)


def test_a_freed_entry_inside_the_walk_is_an_error():
    x = tn.randn(3, requires_grad=True)
    hidden = x * 2
    loss = hidden.sum()
    hidden.backward(gradient=torch.ones(3))  # frees hidden's op, below loss's own op
    with pytest.raises(FreedGraphError, match="'mul'"):
        draw_graph(loss)


def test_root_without_gradient_is_a_clear_error():
    with pytest.raises(ValueError, match="requires no gradient"):
        draw_graph(tn.randn(3).sum())
    x = tn.randn(3, requires_grad=True)
    with tn.no_grad():
        y = x * 2
    with pytest.raises(ValueError, match="no_grad"):
        draw_graph(y)
    with pytest.raises(TypeError):
        draw_graph(torch.ones(3))
    with pytest.raises(TypeError, match="params"):
        draw_graph((x * 2).sum(), params=[x])


def test_a_leaf_root_is_one_node():
    x = tn.randn(3, requires_grad=True)
    assert list(nodes(draw_graph(x))) == ["out"]


def test_notebook_display_is_graphviz_own(monkeypatch):
    """Jupyter shows the result through graphviz's own _repr_mimebundle_: `dot` renders this graph's source to SVG."""
    x = tn.randn(3, requires_grad=True)
    graph = draw_graph((x * 2).sum())
    assert type(graph) is graphviz.Digraph
    rendered = []

    def pipe(self, format=None, **kwargs):  # stands in for the `dot` binary
        rendered.append((self.source, format))
        return "<svg>stand-in</svg>"

    monkeypatch.setattr(graphviz.Digraph, "pipe", pipe)
    assert graph._repr_mimebundle_() == {"image/svg+xml": "<svg>stand-in</svg>"}
    assert rendered == [(graph.source, "svg")] and "mul" in graph.source


def test_render_dot_needs_no_binary(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    x = tn.randn(3, requires_grad=True)
    graph = draw_graph((x * 2).sum())
    path = render_graph(graph, tmp_path / "out" / "graph.dot")
    assert path == tmp_path / "out" / "graph.dot"
    assert path.read_text() == graph.source
    assert sorted(p.name for p in path.parent.iterdir()) == ["graph.dot"]


def test_missing_dot_is_a_clear_error_and_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    x = tn.randn(3, requires_grad=True)
    graph = draw_graph((x * 2).sum())
    (tmp_path / "old.svg").write_text("old")
    for name in ("graph.svg", "graph.png", "graph.pdf", "old.svg"):
        with pytest.raises(GraphvizNotFoundError) as info:
            render_graph(graph, tmp_path / name)
        message = str(info.value)
        assert "apt-get install graphviz" in message and "brew install graphviz" in message and ".dot" in message
    assert issubclass(GraphvizNotFoundError, RuntimeError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.svg"]  # no partial or temporary file
    assert (tmp_path / "old.svg").read_text() == "old"


def test_unknown_extension_is_an_error(tmp_path):
    x = tn.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match=r"\.svg \.png \.pdf \.dot"):
        render_graph(draw_graph((x * 2).sum()), tmp_path / "graph.jpg")


@needs_dot
def test_render_svg(tmp_path):
    model = small_net()
    path = render_graph(draw_graph(net_loss(model), params=model), tmp_path / "graph.svg")
    text = path.read_text()
    assert "<svg" in text and "enc.0.weight" in text and "up: Upsampling" in text


@needs_dot
def test_render_png(tmp_path):
    model = small_net()
    path = render_graph(draw_graph(net_loss(model), params=model), tmp_path / "graph.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
