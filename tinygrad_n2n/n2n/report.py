"""Outputs of a run, each written atomically: metrics CSV, training curves and sample grids (PNG), images."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

from ..serialization import atomic_path
from .extras import require


def _writable(path: str | Path) -> Path:
    """`path` as a Path, its folder created: a run's outputs may go to a folder that does not exist yet."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _pyplot(purpose: str) -> ModuleType:
    """matplotlib.pyplot on the file-only Agg backend (no display needed)."""
    require("matplotlib", purpose).use("Agg")
    return require("matplotlib.pyplot", purpose)


def write_json(value: Any, path: str | Path) -> None:
    """`value` (JSON-serialisable) as indented JSON, written atomically."""
    with atomic_path(_writable(path)) as temporary:
        Path(temporary).write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_csv(history: list[dict[str, float]], path: str | Path) -> None:
    """One row per epoch, columns = the union of the rows' keys (in first-seen order)."""
    columns: list[str] = []
    for row in history:
        columns += [key for key in row if key not in columns]
    with atomic_path(_writable(path)) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(history)


def save_curves(history: list[dict[str, float]], path: str | Path, title: str = "") -> None:
    """Training loss and validation PSNR (with the noisy-input level) per epoch, side by side, as a PNG."""
    plt = _pyplot("drawing training curves")
    ticker = require("matplotlib.ticker", "drawing training curves")
    epochs = [row["epoch"] for row in history]
    figure, (loss_axis, psnr_axis) = plt.subplots(1, 2, figsize=(10, 3.8))
    loss_axis.plot(epochs, [row["train_loss"] for row in history], "o-", label="train (noisy targets)")
    loss_axis.set(xlabel="epoch", ylabel="MSE loss", title="training loss")
    loss_axis.legend()
    if any("val_psnr" in row for row in history):
        psnr_axis.plot(epochs, [row.get("val_psnr", np.nan) for row in history], "o-", label="denoised")
        psnr_axis.plot(epochs, [row.get("noisy_psnr", np.nan) for row in history], "--", label="noisy input")
        psnr_axis.legend()
    psnr_axis.set(xlabel="epoch", ylabel="PSNR (dB)", title="validation PSNR (held-out images)")
    for axis in (loss_axis, psnr_axis):
        axis.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))  # epochs are whole numbers
    figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(_writable(path)) as temporary:
        figure.savefig(temporary, dpi=100, format="png")
    plt.close(figure)


def save_grid(rows: dict[str, torch.Tensor], path: str | Path, count: int = 8, scale: int = 3) -> None:
    """A PNG grid: one labelled row per entry of `rows` (label -> (N, 3, H, W) in [0, 255]), `count` images each."""
    plt = _pyplot("drawing sample grids")
    tiles = []
    for images in rows.values():
        images = images[:count].float().clamp(0, 255).round().to(torch.uint8)
        images = images.repeat_interleave(scale, 2).repeat_interleave(scale, 3)
        padded = torch.nn.functional.pad(images, (2, 2, 2, 2), value=255)
        tiles.append(torch.cat(list(padded), dim=2))
    grid = torch.cat(tiles, dim=1).permute(1, 2, 0).numpy()
    height, width = grid.shape[:2]
    figure = plt.figure(figsize=((width + 90) / 100, height / 100), dpi=100)
    axis = figure.add_axes((90 / (width + 90), 0, width / (width + 90), 1))
    axis.imshow(grid, interpolation="nearest")
    row_height = height / len(rows)
    axis.set_yticks([row_height * (i + 0.5) for i in range(len(rows))], list(rows), fontsize=11)
    axis.set_xticks([])
    axis.tick_params(length=0)
    for side in axis.spines.values():
        side.set_visible(False)
    with atomic_path(_writable(path)) as temporary:
        figure.savefig(temporary, dpi=100, format="png")
    plt.close(figure)


def save_side_by_side(images: dict[str, torch.Tensor], path: str | Path, size: int = 160) -> None:
    """A PNG of the same centre crop (size × size) of each image, side by side, titled by its label.

    images: label -> float (3, H, W) in [0, 1], all of one size.
    """
    plt = _pyplot("drawing side-by-side crops")
    _, height, width = next(iter(images.values())).shape
    top, left = max(0, (height - size) // 2), max(0, (width - size) // 2)
    figure, axes = plt.subplots(1, len(images), figsize=(3 * len(images), 3.3), squeeze=False)
    for axis, (label, image) in zip(axes[0], images.items()):
        crop = image[:, top : top + size, left : left + size].clamp(0, 1).permute(1, 2, 0).numpy()
        axis.imshow(crop, interpolation="nearest")
        axis.set_title(label)
        axis.axis("off")
    figure.tight_layout()
    with atomic_path(_writable(path)) as temporary:
        figure.savefig(temporary, dpi=100, format="png")
    plt.close(figure)


def save_image(array: np.ndarray | torch.Tensor, path: str | Path) -> None:
    """Write (H, W, 3) uint8, or (3, H, W) in [0, 255], to a PNG/JPEG (by suffix) atomically."""
    pil_image = require("PIL.Image", "writing image files")
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().float().clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    image_format = {".jpg": "JPEG", ".jpeg": "JPEG"}.get(Path(path).suffix.lower(), "PNG")
    with atomic_path(_writable(path)) as temporary:
        pil_image.fromarray(np.ascontiguousarray(array)).save(temporary, format=image_format)
