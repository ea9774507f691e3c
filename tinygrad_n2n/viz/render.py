"""`render_graph`: write a Digraph to .svg/.png/.pdf (with Graphviz's `dot`) or .dot (no binary needed)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import graphviz

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


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`: never a partial file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


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
    _write_atomic(path, data)
    return path
