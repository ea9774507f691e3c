"""`render_graph`: write a Digraph to .svg/.png/.pdf (with Graphviz's `dot`) or .dot (no binary needed)."""

from __future__ import annotations

import os
from pathlib import Path

import graphviz

from ..serialization import atomic_path

FORMATS = ("svg", "png", "pdf", "dot")


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz `dot` program is not installed; it is needed for .svg/.png/.pdf, not for .dot."""


def _missing_dot_message(path: Path, fmt: str) -> str:
    return (
        f"render_graph: cannot write {path} ({fmt}): the Graphviz 'dot' program was not found on PATH. Install "
        "it (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz; conda: conda install "
        "-c conda-forge graphviz; Windows: winget install graphviz), or write a .dot file instead, which needs "
        "no binary (render it later with `dot -Tsvg graph.dot -o graph.svg`)."
    )


def render_graph(graph: graphviz.Digraph, path: str | os.PathLike) -> Path:
    """Write `graph` to `path` in the format named by its extension (.svg, .png, .pdf or .dot); returns path.

    .dot writes the DOT source and needs no Graphviz binary; the others run `dot` and raise
    GraphvizNotFoundError (a RuntimeError) with install instructions when it is missing. The parent folder
    is created if needed, and the file appears whole or not at all.
    """
    path = Path(path)
    fmt = path.suffix.lower().removeprefix(".")
    if fmt == "gv":
        fmt = "dot"
    if fmt not in FORMATS:
        raise ValueError(
            f"render_graph: unsupported extension {path.suffix!r} in {path}; use one of .svg .png .pdf .dot"
        )
    if fmt == "dot":
        data = graph.source.encode()
    else:
        try:
            data = graph.pipe(format=fmt)
        except graphviz.ExecutableNotFound as error:
            raise GraphvizNotFoundError(_missing_dot_message(path, fmt)) from error
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        handle.write(data)
    return path
