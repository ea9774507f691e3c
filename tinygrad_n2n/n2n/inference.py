"""Running a denoiser on images of any size: device choice, input checks, padding to the network's stride, batching."""

from __future__ import annotations

from typing import Any

import torch

from .. import no_grad
from .._tensor import Tensor
from ..nn import Module
from .models import DOWNSAMPLING


class InputError(ValueError):
    """Images given to predict/denoise/train are not (N, 3, H, W) values in [0, 255] (message says why)."""


def check_images(images: Any, name: str = "input", allow_empty: bool = False) -> torch.Tensor:
    """Validate a batch of images: (N, 3, H, W), N ≥ 1, real values in [0, 255] -> the plain torch tensor."""
    if isinstance(images, Tensor):
        images = images.data
    if not isinstance(images, torch.Tensor):
        raise InputError(f"{name}: expected a torch.Tensor of shape (N, 3, H, W), got {type(images).__name__}")
    if images.ndim != 4:
        raise InputError(f"{name}: expected a 4-D tensor (N, 3, H, W), got shape {tuple(images.shape)}")
    if images.shape[1] != 3:
        raise InputError(f"{name}: expected 3 channels (N, 3, H, W), got shape {tuple(images.shape)}")
    if images.shape[0] == 0 and not allow_empty:
        raise InputError(f"{name}: the batch is empty (shape {tuple(images.shape)})")
    if images.shape[2] == 0 or images.shape[3] == 0:
        raise InputError(f"{name}: images have no pixels (shape {tuple(images.shape)})")
    if images.is_complex() or images.dtype == torch.bool:
        raise InputError(f"{name}: expected real values in [0, 255], got dtype {images.dtype}")
    if images.numel() and images.is_floating_point() and not torch.isfinite(images).all():
        raise InputError(f"{name}: contains NaN or infinite values")
    if images.numel() and (images.min() < 0 or images.max() > 255):
        low, high = images.min().item(), images.max().item()
        raise InputError(f"{name}: values must lie in [0, 255], got [{low:g}, {high:g}]")
    return images


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """'auto' or None -> CUDA when available, else CPU; otherwise the named device."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def to_unit(images: torch.Tensor, device: Any, dtype: torch.dtype) -> torch.Tensor:
    """[0, 255] (N, 3, H, W), any real dtype -> (N, 3, H, W) in [0, 1] on `device` as `dtype`."""
    return images.to(device=device, dtype=dtype, non_blocking=True) / 255


def denoise_batches(
    net: Module, images: torch.Tensor, batch_size: int = 64, device: Any = "cpu", dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Denoise (N, 3, H, W) in [0, 255] of any H, W -> float (N, 3, H, W) in [0, 255] on the CPU.

    Pads each batch (reflection, or replication when an image is too small) to a multiple of DOWNSAMPLING,
    runs the network in eval mode under no_grad (the tape does not grow), crops back and clamps. Batches of
    at most `batch_size` images, shrunk for large images so that one batch holds about 64 32×32 patches' worth
    of pixels or one image, bound memory.
    """
    n, _, height, width = images.shape
    pad_h, pad_w = -height % DOWNSAMPLING, -width % DOWNSAMPLING
    per_batch = max(1, min(batch_size, (batch_size * 32 * 32) // (height * width)))
    was_training = net.training
    net.eval()
    outputs = []
    try:
        with no_grad():
            for start in range(0, n, per_batch):
                x = to_unit(images[start : start + per_batch], device, dtype)
                if pad_h or pad_w:
                    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
                    x = torch.nn.functional.pad(x, (0, pad_w, 0, pad_h), mode=mode)
                out = net(Tensor(x)).data[:, :, :height, :width]
                outputs.append((out.clamp(0, 1) * 255).float().cpu())
    finally:
        net.train(was_training)
    return torch.cat(outputs) if outputs else torch.empty(0, 3, height, width)
