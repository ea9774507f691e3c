"""Running a denoiser on images of any size: device choice, input checks, batches of small images, tiles of big ones."""

from __future__ import annotations

from typing import Any

import torch

from .._tensor import Tensor
from ..nn import Module
from .tiling import WINDOW, denoise_tiled, inference, run_padded


class InputError(ValueError):
    """Images given to predict/denoise/train are not (N, 3, H, W) values in [0, 255] (message says why)."""


class DeviceError(ValueError):
    """The requested device does not exist or is not usable here (message says which and what to use)."""


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
    """'auto' or None -> CUDA when available, else CPU; otherwise the named device, checked to be usable.

    Raises DeviceError (one line: which device, why, what to use instead) for an unknown name or a device
    this machine or this torch build lacks.
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceError(f"unknown device {device!r}: use cpu, cuda, cuda:N, mps or auto") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device {device!r}: CUDA is not available here (no GPU, or a CPU-only torch); use cpu")
    if chosen.type == "cuda" and (chosen.index or 0) >= torch.cuda.device_count():
        raise DeviceError(f"device {device!r}: there are only {torch.cuda.device_count()} CUDA devices")
    if chosen.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"device {device!r}: Apple's MPS is not available here; use cpu")
    if chosen.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"device {device!r} is not supported: use cpu, cuda, cuda:N, mps or auto")
    return chosen


def to_unit(images: torch.Tensor, device: Any, dtype: torch.dtype) -> torch.Tensor:
    """[0, 255] (N, 3, H, W), any real dtype -> (N, 3, H, W) in [0, 1] on `device` as `dtype`."""
    return images.to(device=device, dtype=dtype, non_blocking=True) / 255


def denoise_batches(
    net: Module, images: torch.Tensor, batch_size: int = 64, device: Any = "cpu", dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Denoise (N, 3, H, W) in [0, 255] of any H, W -> float (N, 3, H, W) in [0, 255] on the CPU.

    Eval mode under no_grad (the tape does not grow), each batch padded to the network's stride and cropped
    back (`tiling.run_padded`). Small images go in batches of at most `batch_size`, shrunk so that one batch
    holds about 64 32×32 patches' worth of pixels or one image; an image wider or taller than
    `tiling.WINDOW` is denoised window by window (`tiling.denoise_tiled`), which bounds memory.
    """
    n, _, height, width = images.shape
    if max(height, width) > WINDOW:
        tiles = [denoise_tiled(net, image, 255.0, device, dtype) * 255 for image in images]
        return torch.stack(tiles) if tiles else torch.empty(0, 3, height, width)
    per_batch = max(1, min(batch_size, (batch_size * 32 * 32) // (height * width)))
    outputs = []
    with inference(net):
        for start in range(0, n, per_batch):
            x = to_unit(images[start : start + per_batch], device, dtype)
            outputs.append((run_padded(net, x) * 255).float().cpu())
    return torch.cat(outputs) if outputs else torch.empty(0, 3, height, width)
