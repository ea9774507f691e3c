"""Fixtures of the benchmark suite: every benchmark runs once per `impl` x `device`.

    make bench      # pytest bench --benchmark-only --benchmark-json=bench/results/latest.json, then compare.py

`impl` is "tinygrad_n2n" (this engine) or "torch" (torch.nn + torch.autograd, written the way a user would);
`device` is "cpu" or "cuda" (skipped when CUDA is absent). The `run` fixture builds a workload, warms it up
(`WARMUP_ROUNDS` untimed calls), names its group "<workload> [<device>]" so that the ours/torch pair of a
workload shares one group, records `extra_info` (impl, device name, shapes, dtype, torch version, the
builder and its parameters, so that `bench.peak_memory` can rebuild it) and times it; on CUDA the timed
function ends with `torch.cuda.synchronize()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from bench.workload import DEVICES, IMPLS, WARMUP_ROUNDS, Workload, builder_path, device_name, synchronized


@pytest.fixture(params=IMPLS)
def impl(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    return request.param


@pytest.fixture
def run(benchmark: Any, impl: str, device: str) -> Callable[..., None]:
    """`run(workload_name, builder, **params)`: build `builder(impl, device, **params)` and benchmark its step."""

    def build_and_time(workload_name: str, builder: Callable[..., Workload], **params: Any) -> None:
        workload = builder(impl, device, **params)
        step = synchronized(workload.step, device)
        for _ in range(WARMUP_ROUNDS):
            step()
        benchmark.group = f"{workload_name} [{device}]"
        benchmark.extra_info.update(
            workload=workload_name,
            impl=impl,
            device=device,
            device_name=device_name(device),
            shapes=workload.shapes,
            dtype=str(workload.dtype).removeprefix("torch."),
            torch_version=torch.__version__,
            threads=torch.get_num_threads(),
            builder=builder_path(builder),
            params=params,
        )
        benchmark(step)

    return build_and_time
