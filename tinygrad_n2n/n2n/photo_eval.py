"""Whole-photo evaluation (`tinygrad-n2n eval --full`): the noisy input, non-local means, BM3D and a model, each
scored by PSNR and SSIM on photos that training never sees, with one noise draw per photo shared by all of them.

The noisy photo is float in [0, 1] (Gaussian noise of one σ, clipped, not quantised); every output is clipped
to [0, 1] and scored with scikit-image's metrics (data_range 1, SSIM over the three channels). NL-means and
BM3D are given the true σ. BM3D is the `bm3d` package's colour BM3D (`bm3d_rgb`), an optional extra
(`pip install 'tinygrad_n2n[eval]'`): without it its rows are left out with a note.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass
from typing import Any

import torch

from .data import Noise
from .extras import require
from .metrics import nl_means
from .tiling import denoise_tiled

METHODS = ("noisy", "nl_means", "bm3d", "model")
BM3D_MISSING = "BM3D left out: the bm3d package is not installed (pip install 'tinygrad_n2n[eval]')"


@dataclass(frozen=True)
class Score:
    """One method on one photo: PSNR (dB), SSIM and the seconds the method took."""

    photo: str
    method: str
    psnr: float
    ssim: float
    seconds: float


def noisy_photo(clean: torch.Tensor, noise: Noise, seed: int) -> torch.Tensor:
    """clean: uint8 (3, H, W) -> float32 (3, H, W) in [0, 1], the same draw for the same seed."""
    generator = torch.Generator().manual_seed(seed)
    return noise.apply(clean[None].float() / 255, generator)[0]


def denoise(method: str, noisy: torch.Tensor, sigma: float, net: Any = None, device: Any = "cpu") -> torch.Tensor:
    """Run one method on a noisy photo: float (3, H, W) in [0, 1] -> float32 (3, H, W) clipped to [0, 1].

    sigma: the noise's σ in [0, 1] units (NL-means and BM3D); net: the model (for "model").
    """
    if method == "noisy":
        out = noisy
    elif method == "nl_means":
        out = nl_means(noisy[None] * 255, sigma)[0] / 255
    elif method == "bm3d":
        bm3d = require("bm3d", "BM3D")
        result = bm3d.bm3d_rgb(noisy.permute(1, 2, 0).double().numpy(), sigma_psd=sigma)
        out = torch.from_numpy(result.transpose(2, 0, 1).copy())
    elif method == "model":
        out = denoise_tiled(net, noisy, white=1.0, device=device)
    else:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    return out.float().clamp(0, 1)


def score(denoised: torch.Tensor, clean: torch.Tensor) -> tuple[float, float]:
    """(PSNR in dB, SSIM) of denoised float (3, H, W) in [0, 1] against clean uint8 (3, H, W)."""
    metrics = require("skimage.metrics", "PSNR and SSIM (eval --full)")
    reference = clean.permute(1, 2, 0).double().numpy() / 255
    result = denoised.permute(1, 2, 0).double().numpy()
    psnr = metrics.peak_signal_noise_ratio(reference, result, data_range=1.0)
    ssim = metrics.structural_similarity(reference, result, channel_axis=-1, data_range=1.0)
    return float(psnr), float(ssim)


def available_methods(methods: tuple[str, ...] = METHODS) -> tuple[tuple[str, ...], list[str]]:
    """The methods that can run here, and notes on those left out (BM3D without its package)."""
    if "bm3d" in methods and importlib.util.find_spec("bm3d") is None:
        return tuple(m for m in methods if m != "bm3d"), [BM3D_MISSING]
    return methods, []


def evaluate_photos(
    photos: list[tuple[str, torch.Tensor]],
    sigma: float,
    seed: int,
    net: Any,
    device: Any = "cpu",
    methods: tuple[str, ...] = METHODS,
) -> tuple[list[Score], dict[str, torch.Tensor]]:
    """Score every method on every photo -> (scores, the first photo's images by method, plus "clean").

    photos: [(name, uint8 (3, H, W))]; sigma: Gaussian σ in [0, 1] units; photo i's noise is drawn with
    seed + i, so a rerun sees the same noisy photos.
    """
    noise = Noise("gaussian", sigma, sigma)
    scores, first = [], {}
    for index, (name, clean) in enumerate(photos):
        noisy = noisy_photo(clean, noise, seed + index)
        for method in methods:
            start = time.perf_counter()
            out = denoise(method, noisy, sigma, net, device)
            seconds = time.perf_counter() - start
            scores.append(Score(name, method, *score(out, clean), seconds if method != "noisy" else 0.0))
            if index == 0:
                first[method] = out
        if index == 0:
            first["clean"] = clean.float() / 255
    return scores, first


def mean_scores(scores: list[Score]) -> list[Score]:
    """Per method, the mean PSNR, SSIM and seconds over the photos (photo = "mean"), in method order."""
    methods = list(dict.fromkeys(s.method for s in scores))
    means = []
    for method in methods:
        rows = [s for s in scores if s.method == method]
        mean = [sum(getattr(s, field) for s in rows) / len(rows) for field in ("psnr", "ssim", "seconds")]
        means.append(Score("mean", method, *mean))
    return means


def table(scores: list[Score]) -> str:
    """The scores and their means as a text table, one row per photo and method."""
    lines = [f"{'photo':18s} {'method':9s} {'PSNR (dB)':>9s} {'SSIM':>7s} {'s/photo':>8s}"]
    for s in [*scores, *mean_scores(scores)]:
        lines.append(f"{s.photo[:18]:18s} {s.method:9s} {s.psnr:9.2f} {s.ssim:7.4f} {s.seconds:8.2f}")
    return "\n".join(lines)
