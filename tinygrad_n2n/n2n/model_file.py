"""Model files: a denoiser's weights and how to rebuild it, in the safe `tn.save` format.

A model file holds {"format", "arch", "width", "net": state_dict, ...}; a training checkpoint adds "trainer"
(optimizer, schedule, counters, RNG) and "data" (the `DataSpec` that regenerates the pairs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import serialization
from ..nn import Module
from .models import DEFAULT_WIDTH, build

FORMAT = "tinygrad_n2n.n2n/1"
PRETRAINED = Path(__file__).parent / "weights" / "default.tn"


class ModelFileError(ValueError):
    """A model file is missing, corrupt, or not a tinygrad_n2n denoiser (message says which)."""


def save_model(net: Module, arch: str, path: str | Path, **extra: Any) -> None:
    """Write the network (and any `extra` entries, e.g. trainer state) to `path` atomically, safe format."""
    payload = {"format": FORMAT, "arch": arch, "width": getattr(net, "width", DEFAULT_WIDTH), "net": net.state_dict()}
    serialization.save({**payload, **extra}, path)


def read_model_file(path: str | Path) -> dict[str, Any]:
    """Load and check a model file or checkpoint -> its dict (no code runs: tn.load is weights-only)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"no such model file: {path}")
    try:
        payload = serialization.load(path)
    except Exception as error:  # corrupt, truncated, unsafe, or not a checkpoint at all
        raise ModelFileError(f"cannot read {path} as a model file ({type(error).__name__}: {error})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "net" not in payload:
        raise ModelFileError(f"{path} is not a tinygrad_n2n denoiser file (format {FORMAT})")
    return payload


def load_model(path: str | Path, device: Any = "cpu") -> tuple[Module, dict[str, Any]]:
    """A network built from a model file, with its weights, on `device` -> (net, the file's dict)."""
    payload = read_model_file(path)
    net = build(payload["arch"], int(payload.get("width", DEFAULT_WIDTH)))
    try:
        net.load_state_dict(payload["net"])
    except (RuntimeError, TypeError) as error:
        raise ModelFileError(f"{path}: weights do not fit the '{payload['arch']}' network: {error}") from None
    return net.to(device), payload
