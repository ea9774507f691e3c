"""Tiled inference: a denoiser run on an image of any size in overlapping windows, so memory stays bounded.

Windows are at most WINDOW pixels a side and start at multiples of DOWNSAMPLING (the networks' stride, so a
window sees the same pixel grid as the whole image). An output pixel is exact, equal to what the network gives
on the whole image, when the window holds its whole receptive field; so each window gives up CONTEXT pixels
(wider than the receptive field) at every side that borders another window, and neighbours cross-fade
linearly over BLEND more pixels. The weights of the windows covering a pixel sum to 1, so the blended image
equals the untiled one up to float rounding (tests: within 1e-5 on a 512×512 photo).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from .. import no_grad
from .._tensor import Tensor
from ..nn import Module
from .models import DOWNSAMPLING
from .progress import progress_bar

WINDOW = 512  # pixels a side; about 140 MB of activations for the default network
CONTEXT = 32  # ≥ the receptive-field radius of both networks (tests measure it); a multiple of DOWNSAMPLING
BLEND = 16  # cross-fade width between neighbouring windows
MANY_TILES = 16  # from this many windows on, a progress bar is shown (when asked for)

Span = tuple[int, int, torch.Tensor]  # start, stop, weights (stop - start,)


@contextlib.contextmanager
def inference(net: Module) -> Iterator[Module]:
    """`net` in eval mode under no_grad (the tape does not grow); its training mode is restored afterwards."""
    was_training = net.training
    net.eval()
    try:
        with no_grad():
            yield net
    finally:
        net.train(was_training)


def run_padded(net: Module, x: torch.Tensor) -> torch.Tensor:
    """x: (N, 3, H, W) in [0, 1] of any H, W -> (N, 3, H, W) in [0, 1], clamped.

    Pads right and bottom to a multiple of DOWNSAMPLING (reflection, or replication when the image is too
    small to reflect) and crops the network's output back. Call inside `inference(net)`.
    """
    height, width = x.shape[-2:]
    pad_h, pad_w = -height % DOWNSAMPLING, -width % DOWNSAMPLING
    if pad_h or pad_w:
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
        x = torch.nn.functional.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    return net(Tensor(x)).data[:, :, :height, :width].clamp(0, 1)


def spans(length: int, window: int = WINDOW) -> list[Span]:
    """Windows along one axis of `length` pixels: [(start, stop, weights)], the weights summing to 1 per pixel.

    One window when length < window + DOWNSAMPLING; otherwise windows of `window` pixels (the last one reaching the end,
    up to DOWNSAMPLING - 1 pixels longer), evenly spaced at most `window - 2·CONTEXT - BLEND` apart, starting
    at multiples of DOWNSAMPLING. A weight is 0 within CONTEXT of an inner edge and rises linearly over BLEND
    pixels, so neighbours' exact parts overlap by BLEND pixels or more.
    """
    if window % DOWNSAMPLING or window < 2 * CONTEXT + BLEND + DOWNSAMPLING:
        raise ValueError(f"window must be a multiple of {DOWNSAMPLING} and ≥ {2 * CONTEXT + BLEND + DOWNSAMPLING}")
    last = max(0, length - window) // DOWNSAMPLING * DOWNSAMPLING
    if last == 0:
        return [(0, length, torch.ones(length))]
    gaps = -(-last // (window - 2 * CONTEXT - BLEND - DOWNSAMPLING))  # even spacing, rounded down to the grid
    starts = [index * last // gaps // DOWNSAMPLING * DOWNSAMPLING for index in range(gaps + 1)]
    bounds = [(start, length if start == last else start + window) for start in starts]
    weights = [_ramp(start, stop, length) for start, stop in bounds]
    total = torch.zeros(length)
    for (start, stop), weight in zip(bounds, weights):
        total[start:stop] += weight
    return [(start, stop, weight / total[start:stop]) for (start, stop), weight in zip(bounds, weights)]


def _ramp(start: int, stop: int, length: int) -> torch.Tensor:
    """Unnormalised weights of one window (stop - start,): 0 near inner edges, a linear rise, then 1."""
    centres = torch.arange(start, stop, dtype=torch.float64) + 0.5
    weight = torch.ones(stop - start, dtype=torch.float64)
    if start > 0:
        weight *= ((centres - start - CONTEXT) / BLEND).clamp(0, 1)
    if stop < length:
        weight *= ((stop - CONTEXT - centres) / BLEND).clamp(0, 1)
    return weight.float()


def denoise_tiled(
    net: Module,
    image: torch.Tensor,
    white: float = 255.0,
    device: Any = "cpu",
    dtype: torch.dtype = torch.float32,
    window: int = WINDOW,
    progress: bool = False,
) -> torch.Tensor:
    """Denoise one image window by window -> float32 (C, H, W) in [0, 1] on the CPU.

    image: (C, H, W), C = 3 (colour) or 1 (grey: fed to the network as three equal channels, the three
    outputs averaged), any real dtype, values in [0, white]. Memory: the image, the float32 result and one
    window's activations. `progress`: a tqdm bar on a terminal when there are MANY_TILES windows or more.
    """
    channels, height, width = image.shape
    rows, columns = spans(height, window), spans(width, window)
    out = torch.zeros(channels, height, width)
    tiles = len(rows) * len(columns)
    bar = progress_bar(progress and tiles >= MANY_TILES, total=tiles, desc="tiles", disable=None)  # None: tty only
    with inference(net):
        for top, bottom, row_weight in rows:
            for left, right, column_weight in columns:
                x = image[:, top:bottom, left:right].to(device=device, dtype=dtype) / white
                y = run_padded(net, x.expand(3, -1, -1)[None])[0].float().cpu()
                y = y.mean(0, keepdim=True) if channels == 1 else y
                out[:, top:bottom, left:right] += y * (row_weight[:, None] * column_weight[None, :])
                bar.update()
    bar.close()
    return out
