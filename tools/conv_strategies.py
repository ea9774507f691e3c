"""Time conv2d forward + backward per strategy on the default U-Net's and the bench's 3x3 shapes, against torch.

    python tools/conv_strategies.py --batch 64 > bench/results/conv_strategies.txt

For each shape it forces, in turn, the tap GEMMs with `cols` gathered (one GEMM of inner size 9C), the tap
GEMMs without (one GEMM per tap, inner size C), the merged narrow-tap GEMM (`SHIFT_MAX_WIDTH` raised) and
unfold + matmul, then lets `conv2d_strategy` choose ("chosen"), and times torch.nn.functional.conv2d with
autograd. Each cell is the fastest of `--repeats` steps after two warm-up steps, in milliseconds: the data for
choosing strategies and thresholds (issue: convolutions at PyTorch's speed). Timings on a shared machine move
by 10-20%; compare columns of one run.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable, Iterator

import torch

import tinygrad_n2n as tn
import tinygrad_n2n.functional as F
from tinygrad_n2n.ops import conv, conv_gemm

# (in channels, out channels, pixels, stride): the default U-Net (width 16) on 32 px patches, then the bench rows
SHAPES = [
    (3, 16, 32, 1),
    (16, 16, 32, 1),
    (16, 32, 32, 2),
    (32, 32, 16, 1),
    (32, 32, 16, 2),
    (32, 32, 8, 1),
    (64, 32, 16, 1),
    (32, 16, 32, 1),
    (16, 3, 32, 1),
    (3, 32, 32, 2),
    (32, 64, 16, 2),
    (32, 3, 32, 1),
]


@contextlib.contextmanager
def forced(strategy: type | None, cols_below: int, shift_max_width: int) -> Iterator[None]:
    """Force a conv2d strategy and the tap GEMMs' thresholds inside the block (restored after)."""
    saved = conv.FORCED_STRATEGY, conv_gemm.COLS_BELOW_CHANNELS, conv_gemm.SHIFT_MAX_WIDTH
    conv.FORCED_STRATEGY, conv_gemm.COLS_BELOW_CHANNELS, conv_gemm.SHIFT_MAX_WIDTH = (
        strategy,
        cols_below,
        shift_max_width,
    )
    try:
        yield
    finally:
        conv.FORCED_STRATEGY, conv_gemm.COLS_BELOW_CHANNELS, conv_gemm.SHIFT_MAX_WIDTH = saved


def fastest(step: Callable[[], None], repeats: int) -> float:
    """Milliseconds of the fastest of `repeats` calls of `step`, after two warm-up calls."""
    step()
    step()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def row(channels: int, out_channels: int, pixels: int, stride: int, batch: int, repeats: int) -> dict[str, float]:
    """Times of one shape: strategy name -> milliseconds of forward + backward."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, channels, pixels, pixels, generator=generator)
    weight = torch.randn(out_channels, channels, 3, 3, generator=generator) * 0.1
    bias = torch.zeros(out_channels)

    def ours() -> None:
        leaves = [tn.Tensor(t, requires_grad=True) for t in (x, weight, bias)]
        out = F.conv2d(*leaves, stride=stride, padding=1)
        out.backward(torch.ones_like(out.data))

    def theirs() -> None:
        leaves = [t.clone().requires_grad_() for t in (x, weight, bias)]
        out = torch.nn.functional.conv2d(*leaves, stride=stride, padding=1)
        out.backward(torch.ones_like(out))

    cols, shift = conv_gemm.COLS_BELOW_CHANNELS, conv_gemm.SHIFT_MAX_WIDTH
    variants = {
        "taps+cols": (conv.Conv2dTaps, 1 << 30, shift),
        "taps": (conv.Conv2dTaps, 0, shift),
        "merged": (conv.Conv2dTaps, 0, 1 << 30),
        "unfold": (conv.Conv2dUnfold, cols, shift),
        "chosen": (None, cols, shift),
    }
    times = {}
    for name, settings in variants.items():
        with forced(*settings):
            times[name] = fastest(ours, repeats)
    times["torch"] = fastest(theirs, repeats)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64, the U-Net bench row's)")
    parser.add_argument("--repeats", type=int, default=7, help="timed steps per cell (default 7)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2, as make bench)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"conv2d 3x3, padding 1, batch {args.batch}, {args.threads} threads: fastest of {args.repeats}, ms")
    for channels, out_channels, pixels, stride in SHAPES:
        times = row(channels, out_channels, pixels, stride, args.batch, args.repeats)
        best = min((v, k) for k, v in times.items() if k != "torch")[1]
        cells = "  ".join(f"{name} {value:7.2f}" for name, value in times.items())
        ratio = times["chosen"] / times["torch"]
        print(
            f"{channels:>3}->{out_channels:<3} {pixels:>2} px s{stride}  {cells}  chosen/torch {ratio:.2f}  "
            f"fastest: {best}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
