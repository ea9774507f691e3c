"""Model files: a denoiser's weights and how to rebuild it, in the safe `tn.save` format.

A model file holds {"format", "arch", "width", "net": state_dict, ...}; a training checkpoint adds "trainer"
(optimizer, schedule, counters, RNG) and "data" (the `DataSpec` that regenerates the pairs). Files are checked
on the way in and out: a known network, a sane width, finite weights of the right names and shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from .. import serialization
from ..nn import Module
from .models import ARCHITECTURES, DEFAULT_WIDTH, build

FORMAT = "tinygrad_n2n.n2n/1"
WEIGHTS = Path(__file__).parent / "weights"
PRETRAINED = WEIGHTS / "default.tn"
# the shipped models, by the names `--model` and `Model(path)` accept besides a file's path
SHIPPED = {"default": PRETRAINED, "blind": WEIGHTS / "blind.tn"}
MAX_WIDTH = 1024


class ModelFileError(ValueError):
    """A model file is missing, corrupt, or not a tinygrad_n2n denoiser (message says which)."""


def non_finite(state: Mapping[str, Any]) -> list[str]:
    """The names of the tensors in a state dict that hold NaN or ±inf."""
    return [name for name, value in state.items() if isinstance(value, torch.Tensor) and not value.isfinite().all()]


def save_model(net: Module, arch: str, path: str | Path, **extra: Any) -> None:
    """Write the network (and any `extra` entries, e.g. trainer state) to `path` atomically, safe format.

    Refuses (ModelFileError, nothing written) a network whose weights are not all finite.
    """
    state = net.state_dict()
    if bad := non_finite(state):
        raise ModelFileError(f"refused to write {path}: weights {_some(bad)} hold NaN or infinite values")
    payload = {"format": FORMAT, "arch": arch, "width": getattr(net, "width", DEFAULT_WIDTH), "net": state}
    serialization.save({**payload, **extra}, path)


def model_path(spec: str | Path) -> Path:
    """The file a model `spec` names: a shipped model's name ('default': σ = 25, 'blind': σ from 5 to 50), unless
    a file of that name exists, or a path."""
    if isinstance(spec, str) and spec in SHIPPED and not Path(spec).exists():
        return SHIPPED[spec]
    return Path(spec)


def read_model_file(path: str | Path) -> dict[str, Any]:
    """Load and check a model file or checkpoint (a path, or a shipped model's name) -> its dict (no code runs:
    tn.load is weights-only).

    Checks: our format, a known arch, a width in 1…MAX_WIDTH, "net" a dict of finite tensors.
    """
    path = model_path(path)
    if not path.is_file():
        raise ModelFileError(f"no such model file: {path}")
    try:
        payload = serialization.load(path)
    except Exception as error:  # corrupt, truncated, unsafe, or not a checkpoint at all
        detail = str(error).removeprefix("tn.load: ")
        raise ModelFileError(f"cannot read {path} as a model file ({type(error).__name__}: {detail})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or not isinstance(payload.get("net"), dict):
        raise ModelFileError(f"{path} is not a tinygrad_n2n denoiser file (format {FORMAT})")
    if payload.get("arch") not in ARCHITECTURES:
        raise ModelFileError(
            f"{path}: unknown network {payload.get('arch')!r} (this version knows {', '.join(ARCHITECTURES)})"
        )
    width = payload.get("width", DEFAULT_WIDTH)
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_WIDTH:
        raise ModelFileError(f"{path}: bad network width {width!r} (a whole number from 1 to {MAX_WIDTH})")
    if bad := non_finite(payload["net"]):
        raise ModelFileError(
            f"{path}: weights {_some(bad)} hold NaN or infinite values (a diverged run?); retrain with a lower --lr"
        )
    return payload


def load_model(path: str | Path, device: Any = "cpu") -> tuple[Module, dict[str, Any]]:
    """A network built from a model file, with its weights, on `device` -> (net, the file's dict)."""
    payload = read_model_file(path)
    net = build(payload["arch"], payload.get("width", DEFAULT_WIDTH))
    if problem := mismatch(net.state_dict(), payload["net"]):
        raise ModelFileError(f"{path}: the weights do not fit the '{payload['arch']}' network: {problem}")
    net.load_state_dict(payload["net"])
    return net.to(device), payload


def mismatch(expected: Mapping[str, torch.Tensor], found: Mapping[str, Any]) -> str:
    """'' when `found` has exactly `expected`'s names, shapes and tensors; else a one-line summary."""
    missing = [name for name in expected if name not in found]
    unexpected = [name for name in found if name not in expected]
    wrong = [
        name
        for name in expected
        if name in found
        and (not isinstance(found[name], torch.Tensor) or tuple(found[name].shape) != tuple(expected[name].shape))
    ]
    kinds = {"weights missing": missing, "unexpected weights": unexpected, "of the wrong shape or type": wrong}
    return "; ".join(f"{len(names)} {kind} ({_some(names)})" for kind, names in kinds.items() if names)


def _some(names: list[str], shown: int = 3) -> str:
    """'a, b, c' or 'a, b, c and 19 more'."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
