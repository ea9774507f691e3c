"""Recompute the README's denoiser numbers that take seconds, and write them to results/denoiser.json.

Run: python tools/denoiser_results.py   (about a minute on one thread; NL-means takes most of it)

It runs `tinygrad-n2n eval --nlmeans --threads 1`, the command behind the README table's rows for the noisy
input, non-local means and the shipped model, and records what it printed, with the commit, whether the
package's files differed from it, the versions and the SHA-256 of the shipped weights. Numbers that need a
training run (the `course` network, the torch parity run, the demo's 3-epoch model) are not recomputed here.
tests/test_app_numbers.py checks that the README's table says what this file records.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import platform
import re
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "denoiser.json"
ARGS = ["eval", "--nlmeans", "--threads", "1"]
WEIGHTS = ROOT / "tinygrad_n2n" / "n2n" / "weights" / "default.tn"
# the README row each printed score backs, and that row's "reproduce with" command
ROWS = {
    "noisy": ("noisy input", "tinygrad-n2n eval"),
    "nl_means": ("non-local means (true σ)", "tinygrad-n2n eval --nlmeans"),
    "model": (
        "default U-Net, engine (shipped)",
        "tinygrad-n2n train --epochs 10 --lr 3e-3 --threads 1 --out runs/pretrained",
    ),
}


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def main() -> int:
    done = subprocess.run(
        [sys.executable, "-m", "tinygrad_n2n", *ARGS], cwd=ROOT, capture_output=True, text=True, check=True
    )
    lines = done.stdout.replace(f"{ROOT}/", "").strip().splitlines()
    scores = {name: float(value) for name, value in re.findall(r"^  (\w+)\s+([0-9.]+) dB", done.stdout, flags=re.M)}
    rows = [
        {
            "readme_row": readme_row,
            "psnr_db": round(scores[name], 2),
            "over_noisy_db": round(scores[name] - scores["noisy"], 2),
            "readme_command": readme_command,
            "recomputed_by": "tinygrad-n2n " + " ".join(ARGS),
        }
        for name, (readme_row, readme_command) in ROWS.items()
    ]
    results = {
        "what": "PSNR (dB) on the 1,000 held-out 32×32 validation patches (chelsea, coffee), σ = 25/255, seed 0",
        "command": "tinygrad-n2n " + " ".join(ARGS),
        "output": lines,
        "rows": rows,
        "weights_sha256": hashlib.sha256(WEIGHTS.read_bytes()).hexdigest(),
        "commit": git("rev-parse", "HEAD"),
        "package_differs_from_commit": bool(git("status", "--porcelain", "--", "tinygrad_n2n")),
        "date": datetime.date.today().isoformat(),
        "versions": {"python": platform.python_version(), "torch": torch.__version__},
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, 1 torch thread",
        "not_recomputed": [
            "course network, engine (28.42 dB): needs `tinygrad-n2n train --arch course --epochs 10 ...`",
            "default U-Net, torch.nn parity run (30.30 dB): needs `python -m tinygrad_n2n.n2n.torch_baseline ...`",
            "the demo's 3-epoch model (28.67 dB): needs `make demo`",
            "timings (the shipped model's 14-minute training, `make test`, `make demo`): one run each",
        ],
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}:", *lines, sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
