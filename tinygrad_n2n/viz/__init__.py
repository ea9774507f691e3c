"""Draw the graph that backward walks: `draw_graph(loss, params=model)` → graphviz.Digraph; `render_graph`.

    graph = draw_graph(loss, params=model)     # pure: reads the tape, renders nothing
    render_graph(graph, "graph.svg")           # .svg/.png/.pdf need Graphviz's `dot`; .dot does not
    graph                                      # in a notebook, displays inline

Op nodes are separate from tensor nodes (as in torchviz); arrows point the way the forward pass ran, from
leaves through ops to the root. Colour legend (also drawn as a small cluster in the graph):

    green   #a8dc8c  output: the tensor drawn from (shape, dtype, value when it has one element)
    blue    #9fcdf5  parameter: a leaf named by `params` (dotted name, shape, dtype, ‖grad‖ after backward)
    violet  #c9b8ef  leaf requiring a gradient that `params` does not name
    grey    #e2e2e2  input / constant: a leaf requiring no gradient (data, targets, indices)
    white   #ffffff  op: name, key attributes (stride, padding, scale, ...), output shape
    orange  #fbd09b  saved for backward (show_saved=True): shape, dtype, and which input it is, if any
    yellow  #f6e7a8  collapsed module (max_nodes): "path: Type", how many ops and parameters it holds

Module clusters (shades of blue-grey, nested) are labelled "path: Type", e.g. "3: Upsampling".
"""

from __future__ import annotations

from .draw import PALETTE, draw_graph
from .render import GraphvizNotFoundError, render_graph
from .walk import FreedGraphError

__all__ = ["PALETTE", "FreedGraphError", "GraphvizNotFoundError", "draw_graph", "render_graph"]
