"""Count the CPU instructions of the tape-overhead workload in two checkouts, with valgrind's callgrind.

    git worktree add /tmp/before 8f38141
    python tools/instructions_ab.py /tmp/before . --steps 20

Timings of a 1.3 ms step move by ±10% on a shared machine; instruction counts do not (they repeat to within
a few thousand of ~130 million). Each checkout's own bench code builds the workload (`bench.test_tape_overhead`),
warms it up, collects garbage (so that no full collection of the interpreter's objects falls in the window), and
callgrind counts only inside `functools.reduce`, which runs the `--steps` steps. The cyclic collector's young
passes stay in the count: they are part of the tape's cost. Needs `valgrind` on the PATH; about 2 minutes per
checkout (torch's import under valgrind).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

STEPS_SCRIPT = """
import functools, gc, sys, torch
torch.set_num_threads(1)
from bench.test_tape_overhead import tape_chain
workload = tape_chain("tinygrad_n2n", "cpu")
for _ in range(5):
    workload.step()
gc.collect()
functools.reduce(lambda _, __: workload.step(), range(int(sys.argv[1])), None)
"""


def count(tree: Path, steps: int) -> int:
    """Instructions executed by `steps` tape-overhead steps of the checkout at `tree`."""
    with tempfile.TemporaryDirectory() as scratch:
        script, out = Path(scratch) / "steps.py", Path(scratch) / "callgrind.out"
        script.write_text(STEPS_SCRIPT)
        command = [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=functools_reduce",
            f"--callgrind-out-file={out}",
            sys.executable,
            str(script),
            str(steps),
        ]
        env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
        done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in callgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="checkout before the change")
    parser.add_argument("after", type=Path, help="checkout after the change")
    parser.add_argument("--steps", type=int, default=20, help="steps counted (default 20)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (Debian: apt-get install -y valgrind)")
    before, after = (count(tree.resolve(), args.steps) for tree in (args.before, args.after))
    print(
        f"tape overhead, {args.steps} steps: before {before:,} instructions, after {after:,}, after/before "
        f"{after / before:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
