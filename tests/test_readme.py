"""The README's `loss.backward()` example runs as written and prints exactly what the README says it prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    examples = [block for block in blocks if "loss.backward()" in block]
    assert examples, "README.md has no ```python block with loss.backward()"
    return examples[0]


def test_readme_example_is_short_and_runs_as_written():
    code = _example()
    assert len(code.strip().splitlines()) <= 16
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}  # as conftest.py: no thread oversubscription under -n 2
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False, env=environment
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == _promised_output(), result.stdout


def _promised_output() -> list[str]:
    """The lines the README says the example prints: "It prints `line 1` and `line 2`"."""
    promise = re.search(r"It prints `(.+?)` and `(.+?)`", README.read_text(encoding="utf-8"))
    assert promise, "README.md no longer says what the example prints"
    return list(promise.groups())
