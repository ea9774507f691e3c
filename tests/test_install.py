"""A bare install (no extras) serves the course API; a missing optional package is a one-line error naming the extra.

COURSE_API is the course's usage of `Model`. The test runs it with tqdm, matplotlib, scikit-image and Pillow
made unimportable; `make check-bare-install` runs this file as a script in a fresh venv after `pip install .`.
"""

from __future__ import annotations

import subprocess
import sys

OPTIONAL = ("tqdm", "matplotlib", "skimage", "PIL")

COURSE_API = """
import torch
from tinygrad_n2n.n2n import Model

m = Model()
m.load_pretrained_model()
x = torch.randint(0, 256, (2, 3, 37, 41), dtype=torch.uint8)
y = m.predict(x)
assert y.shape == x.shape and y.dtype == torch.float32 and 0 <= y.min() and y.max() <= 255, (y.shape, y.dtype)
history = m.train(x[:, :, :32, :32], x.flip(0)[:, :, :32, :32], 1)
assert len(history) == 1 and history[0]["train_loss"] > 0, history
print("course API ok:", tuple(y.shape))
"""

BLOCK_OPTIONAL = f"""
import importlib.abc, sys

class BlockOptional(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {OPTIONAL!r}:
            raise ImportError(f"No module named {{name!r}} (blocked by the test)")

sys.meta_path.insert(0, BlockOptional())
"""

MISSING_EXTRAS = """
from tinygrad_n2n.n2n import cli, data
try:
    data.read_image("photo.png")
except ImportError as error:
    print("read_image:", error)
print("exit code", cli.main(["eval", "--val-size", "4", "--threads", "1"]))
"""


def test_the_course_api_works_without_the_optional_packages():
    code = BLOCK_OPTIONAL + COURSE_API + MISSING_EXTRAS
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "course API ok: (2, 3, 37, 41)" in done.stdout
    assert "read_image: reading image files needs Pillow: pip install 'tinygrad_n2n[app]'" in done.stdout
    assert "exit code 1" in done.stdout  # the CLI reports it in one line, no traceback
    assert done.stderr.strip().splitlines()[-1] == (
        "tinygrad-n2n eval: failed: loading the bundled photos needs scikit-image: pip install 'tinygrad_n2n[app]'"
    )
    assert "Traceback" not in done.stderr


if __name__ == "__main__":  # `make check-bare-install`: in a venv that holds only the package and its dependencies
    import importlib.util

    present = [name for name in OPTIONAL if importlib.util.find_spec(name) is not None]
    assert not present, f"not a bare install: {present} are installed"
    exec(COURSE_API)
