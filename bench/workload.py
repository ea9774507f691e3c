"""What every benchmark is made of: a `Workload` (a step to time, built by a builder), timing and device info.

A builder is a module-level function `builder(impl, device, **params) -> Workload` in one of the bench files;
`impl` is "tinygrad_n2n" or "torch", `device` "cpu" or "cuda". Builders construct everything (models,
inputs, optimizers) outside the step, so that `bench.peak_memory` can measure a build alone and a build plus
a few steps in separate processes.
"""

from __future__ import annotations

import importlib
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

IMPLS = ("tinygrad_n2n", "torch")
DEVICES = ("cpu", "cuda")
WARMUP_ROUNDS = 3  # untimed calls before timing: allocator caches, oneDNN/cuBLAS plans, CUDA context


@dataclass
class Workload:
    """`step()` runs one timed unit of work; `shapes` and `dtype` describe its inputs for the report."""

    step: Callable[[], Any]
    shapes: dict[str, list[int]] = field(default_factory=dict)
    dtype: torch.dtype = torch.float32


def builder_path(builder: Callable[..., Workload]) -> str:
    """`module:function` of a builder, importable by `load_builder`."""
    return f"{builder.__module__}:{builder.__name__}"


def load_builder(path: str) -> Callable[..., Workload]:
    """The builder named by `builder_path`."""
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def synchronized(step: Callable[[], Any], device: str) -> Callable[[], None]:
    """`step` followed, on CUDA, by `torch.cuda.synchronize()`, so that the timer sees the kernels finish."""
    if device != "cuda":
        return step

    def step_and_wait() -> None:
        step()
        torch.cuda.synchronize()

    return step_and_wait


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux, else `platform.processor()`)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def device_name(device: str) -> str:
    """A human name of the device the benchmark runs on."""
    return torch.cuda.get_device_name() if device == "cuda" else cpu_name()


def to_device(tensors: dict[str, torch.Tensor], device: str) -> dict[str, torch.Tensor]:
    return {name: tensor.to(device) for name, tensor in tensors.items()}


def shapes_of(**tensors: torch.Tensor) -> dict[str, list[int]]:
    return {name: list(tensor.shape) for name, tensor in tensors.items()}
