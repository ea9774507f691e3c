"""Compare the engine's bench rows between two checkouts, in alternation, on CPU time.

    git worktree add /tmp/before 8f38141
    python tools/bench_ab.py /tmp/before . --rounds 5 > bench/results/ab.txt

Whole `make bench` runs on a shared machine move by more than the changes being measured, so this times each
row's engine workload (built by that checkout's own bench code: `builder` and `params` from a `make bench` JSON)
in a fresh process per measurement, alternating the two checkouts `--rounds` times, with one torch thread, and
keeps the minimum CPU time (`time.process_time`) of a step: the least disturbed measurement of each. It prints,
per row, both minima and their ratio (after / before), and the ratio of the medians of the per-process minima.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def time_row(builder: str, params: dict, seconds: float = 2.5) -> float:
    """In this process (the checkout on sys.path): build the engine's workload, warm it up, and return the
    minimum CPU time of a step over `seconds` (at least 5 steps)."""
    import torch

    torch.set_num_threads(1)
    module, name = builder.split(":")
    workload = getattr(importlib.import_module(module), name)("tinygrad_n2n", "cpu", **params)
    for _ in range(3):
        workload.step()
    times, start = [], time.process_time()
    while len(times) < 5 or (time.process_time() - start < seconds and len(times) < 400):
        begin = time.process_time()
        workload.step()
        times.append(time.process_time() - begin)
    return min(times)


def measure(tree: Path, builder: str, params: dict) -> float:
    """`time_row` in a fresh process whose imports come from `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(Path(__file__).resolve()), "--time", builder, json.dumps(params)]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", nargs="?", type=Path, help="checkout before the change")
    parser.add_argument("after", nargs="?", type=Path, help="checkout after the change")
    parser.add_argument("--rounds", type=int, default=5, help="processes per checkout and row (default 5)")
    parser.add_argument("--rows", type=Path, default=ROOT / "bench" / "results" / "latest.json", help="bench JSON")
    parser.add_argument("--only", default="", help="time only the rows whose name contains this text")
    parser.add_argument("--time", nargs=2, metavar=("BUILDER", "PARAMS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time:
        print(time_row(args.time[0], json.loads(args.time[1])))
        return 0
    if args.before is None or args.after is None:
        parser.error("give the two checkouts: BEFORE AFTER")
    rows = {
        b["group"]: (b["extra_info"]["builder"], b["extra_info"]["params"])
        for b in json.loads(args.rows.read_text())["benchmarks"]
        if b["extra_info"]["impl"] == "tinygrad_n2n" and b["extra_info"]["device"] == "cpu" and args.only in b["group"]
    }
    trees = (args.before.resolve(), args.after.resolve())
    print(f"before {trees[0]}, after {trees[1]}: min CPU time of a step, {args.rounds} processes each, 1 thread")
    for group, (builder, params) in sorted(rows.items()):
        minima: dict[Path, list[float]] = {tree: [] for tree in trees}
        for round_ in range(args.rounds):
            for tree in trees if round_ % 2 == 0 else trees[::-1]:
                minima[tree].append(measure(tree, builder, params))
        before, after = minima[trees[0]], minima[trees[1]]
        ratio, median_ratio = min(after) / min(before), statistics.median(after) / statistics.median(before)
        print(
            f"{group[:62]:62s} before {min(before) * 1e3:8.3f} ms  after {min(after) * 1e3:8.3f} ms  "
            f"after/before {ratio:.3f}  (medians of the minima: {median_ratio:.3f})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
