"""Peak memory of one benchmark workload, measured in a fresh process (used by `bench/compare.py`).

    python -m bench.peak_memory '<spec json>' {build,run} [--steps 3]

spec: {"builder": "bench.test_x:builder", "params": {...}, "impl": ..., "device": ...} (a benchmark's
extra_info). Prints one JSON line:
- "maxrss_kib": this process's peak resident set size (getrusage RUSAGE_SELF ru_maxrss, read at exit; the
  value the parent's RUSAGE_CHILDREN would report) after importing and building the workload ("build") or
  after building and running `--steps` steps ("run"). The workload's CPU peak is run - build.
- on CUDA, "cuda_peak_bytes": torch.cuda.max_memory_allocated() during the steps minus the memory allocated
  after the build (models, inputs), i.e. what the steps themselves needed at their peak.
"""

from __future__ import annotations

import argparse
import json
import resource

import torch

from bench.workload import load_builder


def measure(spec: dict, mode: str, steps: int) -> dict:
    """Build the workload (and run it `steps` times in mode "run"); return the peak memory readings."""
    workload = load_builder(spec["builder"])(spec["impl"], spec["device"], **spec["params"])
    cuda = spec["device"] == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        resident = torch.cuda.memory_allocated()
    result = {}
    if mode == "run":
        for _ in range(steps):
            workload.step()
        if cuda:
            torch.cuda.synchronize()
            result["cuda_peak_bytes"] = torch.cuda.max_memory_allocated() - resident
    result["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", help="JSON: builder, params, impl, device")
    parser.add_argument("mode", choices=("build", "run"))
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(json.loads(args.spec), args.mode, args.steps)))


if __name__ == "__main__":
    main()
