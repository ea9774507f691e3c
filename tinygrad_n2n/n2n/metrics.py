"""Image-quality metrics (PSNR) and the classical baseline (non-local means), on uint8-or-[0,255] tensors."""

from __future__ import annotations

import numpy as np
import torch

from .extras import require


def psnr(denoised: torch.Tensor, clean: torch.Tensor, max_value: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB over the whole set: -10·log10(mean squared error / max²).

    denoised, clean: (N, C, H, W) of one shape, values in [0, max_value] (any dtype). This is the course's
    definition (one MSE over all pixels of all images), not a mean of per-image PSNRs.
    """
    if denoised.shape != clean.shape:
        raise ValueError(f"psnr: shapes {tuple(denoised.shape)} and {tuple(clean.shape)} differ")
    error = (denoised.double().cpu() / max_value - clean.double().cpu() / max_value).pow(2).mean().item()
    return float(-10 * np.log10(max(error, 1e-12)))


def nl_means(noisy: torch.Tensor, sigma: float) -> torch.Tensor:
    """Non-local means (scikit-image, fast mode) with the true noise σ (in [0, 1] units), image by image.

    noisy: (N, 3, H, W) in [0, 255] -> float (N, 3, H, W) in [0, 255]. Patch 5×5, search 13×13, h = 0.8σ
    (scikit-image's recommended setting for fast_mode with a known σ).
    """
    restoration = require("skimage.restoration", "non-local means (--nlmeans)")
    images = noisy.detach().cpu().double().numpy().transpose(0, 2, 3, 1) / 255
    out = np.stack(
        [
            restoration.denoise_nl_means(
                image, h=0.8 * sigma, sigma=sigma, patch_size=5, patch_distance=6, fast_mode=True, channel_axis=-1
            )
            for image in images
        ]
    )
    return torch.from_numpy(out.transpose(0, 3, 1, 2) * 255).float()
