"""NaN and ±Inf: when the fast kernels may differ from torch's, and the probe that routes around it.

The fast conv kernels form products that torch's reference kernels (im2col + GEMM, per-window max) never
form: `Conv2dTaps`' weight gradient multiplies the zero gradient of grid rows that are not outputs by the
pixels there, the fused upsample + conv multiplies structural zeros of its phase weights, and `max` picks
the first NaN of a window where max pooling picks the last (so max_pool2d takes torch's own arg-max). With
finite values those products are exact zeros and the results are torch's; a NaN or ±Inf turns 0·inf into extra
NaNs.

So each such op asks `finite(*tensors)` and takes its exact path (the reference computation) unless it is
True. On the CPU the probe is one sum per tensor, read on the host: a sum is NaN or ±Inf when any element is
(or when finite values overflow; then the exact path runs needlessly, never wrongly). A CPU host read costs
no device sync. On every other device the probe answers False without reading anything: there the exact
paths always run and the ops stay free of host syncs.
"""

from __future__ import annotations

import math

import torch

PROBE_ON_HOST = True  # tests set False to run the CPU the way other devices run (exact paths, no host reads)


def finite(*tensors: torch.Tensor | None) -> bool:
    """True when every value of the tensors (None skipped) is known to be finite, read on the CPU's host."""
    present = [t for t in tensors if t is not None]
    if not PROBE_ON_HOST or any(t.device.type != "cpu" for t in present):
        return False
    return math.isfinite(sum(float(t.sum()) for t in present))
