"""The README's `loss.backward()` example runs as written and learns (the front door stays true)."""

from __future__ import annotations

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
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    loss = float(re.search(r"loss ([0-9.e+-]+)", result.stdout).group(1))
    assert loss < 2e-3, result.stdout  # a 3×3 blur is learnable exactly by the network
    assert "tape after backward: 0 entries" in result.stdout
