"""Outputs of a run, each written atomically: metrics CSV, training curves and sample grids (PNG), images."""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from .. import serialization


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` (creating its folder); it replaces `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with serialization.atomic_path(path, suffix=path.suffix) as temporary:
        yield Path(temporary)


def write_csv(history: list[dict[str, float]], path: str | Path) -> None:
    """One row per epoch, columns = the union of the rows' keys (in first-seen order)."""
    columns: list[str] = []
    for row in history:
        columns += [key for key in row if key not in columns]
    with atomic_path(path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(history)


def save_curves(history: list[dict[str, float]], path: str | Path, title: str = "") -> None:
    """Training loss and validation PSNR (with the noisy-input level) per epoch, side by side, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

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
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=100, format="png")
    plt.close(figure)


def save_grid(rows: dict[str, torch.Tensor], path: str | Path, count: int = 8, scale: int = 3) -> None:
    """A PNG grid: one labelled row per entry of `rows` (label -> (N, 3, H, W) in [0, 255]), `count` images each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=100, format="png")
    plt.close(figure)


def save_image(array: np.ndarray | torch.Tensor, path: str | Path) -> None:
    """Write (H, W, 3) uint8, or (3, H, W) in [0, 255], to a PNG/JPEG (by suffix) atomically."""
    from PIL import Image

    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().float().clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    path = Path(path)
    image_format = {".jpg": "JPEG", ".jpeg": "JPEG"}.get(path.suffix.lower(), "PNG")
    with atomic_path(path) as temporary:
        Image.fromarray(np.ascontiguousarray(array)).save(temporary, format=image_format)
