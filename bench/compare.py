"""Read a pytest-benchmark JSON file and print, per workload group, ours against torch (time and peak memory).

    python bench/compare.py bench/results/latest.json [--no-memory] [--steps 3]

For each group (one workload on one device) the table shows the median time of tinygrad_n2n and of torch,
their ratio (ours / torch: below 1 means ours is faster), and the peak memory of each (see FOOTER). The
table, preceded by the machine's description, is also written next to the JSON file (`latest.txt`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository: `python -m bench.peak_memory` runs from here
OURS, THEIRS = "tinygrad_n2n", "torch"
MIB = 1024 * 1024

FOOTER = """\
Time: median of the pytest-benchmark rounds (after warm-up calls; on CUDA each call ends with a synchronize).
Peak memory, CPU: a fresh process builds the workload (imports, model, inputs, optimizer) and runs {steps}
  steps; another only builds it. Peak = ru_maxrss(build + steps) - ru_maxrss(build only), the high-water mark
  of resident memory (getrusage RUSAGE_SELF ru_maxrss of each process, read at its exit), so it counts
  activations, saved tensors, gradients, optimizer state and scratch buffers, whoever allocated them.
  It also counts code pages the first step touches (a few MiB on either side: the tape-overhead row shows
  that floor), and its resolution is the allocator's and the page's granularity.
Peak memory, CUDA: torch.cuda.max_memory_allocated() over the steps minus the memory allocated after the
  build, in one fresh process.
Ratios: ours / torch; below 1 means ours is faster or smaller."""


def load_groups(path: Path) -> dict[str, dict[str, dict]]:
    """group -> {impl: benchmark entry}, in the order the groups first appear in the file."""
    groups: dict[str, dict[str, dict]] = {}
    for bench in json.loads(path.read_text())["benchmarks"]:
        info = bench.get("extra_info", {})
        if "impl" in info:
            groups.setdefault(bench["group"], {})[info["impl"]] = bench
    return groups


def _peak_reading(spec: dict, mode: str, steps: int) -> dict:
    command = [sys.executable, "-m", "bench.peak_memory", json.dumps(spec), mode, "--steps", str(steps)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_memory(bench: dict, steps: int) -> float | None:
    """Peak memory in bytes of the benchmark's workload (see FOOTER), or None when it cannot be measured."""
    info = bench["extra_info"]
    spec = {key: info[key] for key in ("builder", "params", "impl", "device")}
    try:
        if info["device"] == "cuda":
            return _peak_reading(spec, "run", steps)["cuda_peak_bytes"]
        build = _peak_reading(spec, "build", steps)["maxrss_kib"]
        run = _peak_reading(spec, "run", steps)["maxrss_kib"]
    except (subprocess.CalledProcessError, KeyError, ValueError, IndexError) as error:
        print(f"peak memory of {bench['name']} failed: {error}", file=sys.stderr)
        return None
    return max(0, run - build) * 1024


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale or unit == "µs":
            return f"{seconds / scale:.3g} {unit}" if seconds / scale < 100 else f"{seconds / scale:.0f} {unit}"
    raise AssertionError


def _memory(size: float | None) -> str:
    return "-" if size is None else f"{size / MIB:.1f} MiB"


def _ratio(ours: float | None, theirs: float | None) -> str:
    return "-" if ours is None or not theirs else f"{ours / theirs:.2f}"


def build_rows(groups: dict[str, dict[str, dict]], memory: bool, steps: int) -> list[list[str]]:
    rows = []
    for group, pair in groups.items():
        medians = {impl: pair[impl]["stats"]["median"] if impl in pair else None for impl in (OURS, THEIRS)}
        peaks = {impl: peak_memory(pair[impl], steps) if memory and impl in pair else None for impl in (OURS, THEIRS)}
        rows.append(
            [
                group,
                _time(medians[OURS]),
                _time(medians[THEIRS]),
                _ratio(medians[OURS], medians[THEIRS]),
                _memory(peaks[OURS]),
                _memory(peaks[THEIRS]),
                _ratio(peaks[OURS], peaks[THEIRS]),
            ]
        )
    return rows


def format_table(rows: list[list[str]]) -> str:
    header = ["workload [device]", "ours (median)", "torch (median)", "ours/torch", "ours peak", "torch peak", "ratio"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        " | ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in [header, *rows]
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def machine_description(path: Path) -> str:
    """CPU model, cores, torch version, devices and dates of the run recorded in the JSON file."""
    data = json.loads(path.read_text())
    infos = [b.get("extra_info", {}) for b in data["benchmarks"]]
    cpu = next((i["device_name"] for i in infos if i.get("device") == "cpu"), None)
    cpu = cpu or data["machine_info"].get("cpu", {}).get("brand_raw") or data["machine_info"].get("processor")
    gpus = sorted({i["device_name"] for i in infos if i.get("device") == "cuda"})
    torch_version = next((i["torch_version"] for i in infos if "torch_version" in i), "?")
    threads = next((i["threads"] for i in infos if "threads" in i), "?")
    machine = data["machine_info"]
    made = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return "\n".join(
        [
            f"CPU: {cpu}, {os.cpu_count()} cores, torch threads: {threads}",
            f"GPU: {', '.join(gpus) if gpus else 'none (CUDA benchmarks skipped)'}",
            f"torch {torch_version}, Python {machine.get('python_version')}, {machine.get('system')} "
            f"{machine.get('release')}",
            f"benchmarks run: {data['datetime']}; table made: {made}",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Compare tinygrad_n2n with torch in a pytest-benchmark JSON file.")
    parser.add_argument("json", type=Path, help="the file written by --benchmark-json")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurements (fast)")
    parser.add_argument("--steps", type=int, default=3, help="steps per peak-memory measurement (default 3)")
    args = parser.parse_args(argv)
    groups = load_groups(args.json)
    if not groups:
        sys.exit(f"{args.json}: no tinygrad_n2n/torch benchmarks found")
    table = format_table(build_rows(groups, not args.no_memory, args.steps))
    footer = FOOTER.format(steps=args.steps) if not args.no_memory else FOOTER.split("\nPeak memory")[0]
    text = f"{machine_description(args.json)}\n\n{table}\n\n{footer}\n"
    print(text, end="")
    args.json.with_suffix(".txt").write_text(text)


if __name__ == "__main__":
    main()
