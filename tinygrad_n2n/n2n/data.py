"""Noise2Noise data: clean sources (scikit-image photos, a folder of images, the course .pkl files) and noise.

Every tensor here is uint8 (N, 3, H, W) in [0, 255], the course's format; models convert per batch. A training
sample is two independent noisy copies of one clean 32×32 patch; a validation sample is (noisy, clean).
Everything is seeded: the same arguments give the same tensors, bit for bit.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import images
from .extras import require

# Bundled with scikit-image (no download). The stereo pair stays on one side: its two views nearly coincide.
TRAIN_IMAGES: tuple[str, ...] = (
    "astronaut",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "motorcycle_left",
    "motorcycle_right",
    "camera",
    "brick",
    "grass",
    "gravel",
)
VAL_IMAGES: tuple[str, ...] = ("chelsea", "coffee")  # held out: never used for training
PATCH_SIZE = 32
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


Pairs = tuple[torch.Tensor, torch.Tensor]  # (input, target) or (noisy, clean), each (N, 3, H, W)


class DataError(ValueError):
    """A data source is missing, unreadable or has the wrong structure (message says which and why)."""


# ---------------------------------------------------------------- noise


@dataclass(frozen=True)
class Noise:
    """A noise model on images in [0, 1]: additive Gaussian (σ in [0, 1] units) or Poisson (peak photons).

    `low == high` is a fixed level; otherwise each image draws its level uniformly from [low, high]
    (blind denoising). Results are clipped to [0, 1].
    """

    kind: str = "gaussian"
    low: float = 25 / 255
    high: float = 25 / 255

    def __post_init__(self) -> None:
        if self.kind not in ("gaussian", "poisson"):
            raise DataError(f"noise kind must be 'gaussian' or 'poisson', got {self.kind!r}")
        finite = np.isfinite(self.low) and np.isfinite(self.high)
        if not finite or not 0 <= self.low <= self.high or (self.kind == "poisson" and self.low <= 0):
            raise DataError(f"noise level must be finite with 0 < low ≤ high, got [{self.low}, {self.high}]")

    @classmethod
    def parse(cls, spec: str) -> Noise:
        """'gaussian:25' (σ in 0-255 units), 'gaussian:0-50' (σ range), 'poisson:30' or 'poisson:5-50' (peak)."""
        number = r"(\d+(?:\.\d*)?|\.\d+)"
        match = re.fullmatch(rf"(gaussian|poisson)(?::{number}(?:-{number})?)?", spec.strip().lower())
        if match is None:
            raise DataError(f"bad noise spec {spec!r}: use e.g. gaussian:25, gaussian:0-50, poisson:30, poisson:5-50")
        kind, low, high = match.groups()
        scale = 255.0 if kind == "gaussian" else 1.0
        low_value = float(low) if low else (25.0 if kind == "gaussian" else 30.0)
        high_value = float(high) if high else low_value
        return cls(kind, low_value / scale, high_value / scale)

    @property
    def sigma(self) -> float:
        """Gaussian σ in [0, 1] units at the middle of the range (for NL-means); Poisson: √(0.5/peak) approx."""
        level = (self.low + self.high) / 2
        return level if self.kind == "gaussian" else float(np.sqrt(0.5 / level))

    def apply(self, clean: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """clean: (N, C, H, W) float in [0, 1] -> a noisy copy, same shape, clipped to [0, 1]."""
        n = clean.shape[0]
        level = self.low + (self.high - self.low) * torch.rand(n, 1, 1, 1, generator=generator)
        if self.kind == "gaussian":
            noisy = clean + level * torch.randn(clean.shape, generator=generator)
        else:
            noisy = torch.poisson(clean * level, generator=generator) / level
        return noisy.clamp_(0, 1)


def add_noise(clean: torch.Tensor, noise: Noise, generator: torch.Generator, chunk: int = 4096) -> torch.Tensor:
    """clean: uint8 (N, 3, H, W) -> uint8 noisy copy (N, 3, H, W), drawn chunk by chunk to bound memory."""
    out = torch.empty_like(clean)
    for start in range(0, len(clean), chunk):
        part = clean[start : start + chunk].float() / 255
        out[start : start + chunk] = (noise.apply(part, generator) * 255).round_().to(torch.uint8)
    return out


# ---------------------------------------------------------------- clean sources


def to_chw_uint8(array: np.ndarray) -> torch.Tensor:
    """An image array (H, W), (H, W, 3) or (H, W, 4), uint8/bool/float in [0, 1] -> uint8 (3, H, W)."""
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        array = (np.clip(array, 0, 1) * 255).round().astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise DataError(f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {array.shape}")
    return torch.from_numpy(np.ascontiguousarray(array[:, :, :3].transpose(2, 0, 1)))


@functools.lru_cache(maxsize=32)
def skimage_image(name: str) -> torch.Tensor:
    """A photo bundled with scikit-image, by name (see TRAIN_IMAGES, VAL_IMAGES) -> uint8 (3, H, W)."""
    skimage_data = require("skimage.data", "loading the bundled photos")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name in ("motorcycle_left", "motorcycle_right"):
            left, right, _ = skimage_data.stereo_motorcycle()
            array = left if name == "motorcycle_left" else right
        elif callable(loader := getattr(skimage_data, name, None)):
            array = loader()
        else:
            raise DataError(f"scikit-image has no bundled image {name!r}")
    return to_chw_uint8(np.asarray(array))


def read_image(path: str | Path) -> torch.Tensor:
    """Read an image file (any mode Pillow reads, see `images`) -> uint8 (3, H, W); grey becomes 3 channels.

    A missing, corrupt or non-image file raises DataError. Deeper images (16-bit, float) are rounded to 8 bits.
    """
    try:
        picture = images.read_picture(path, max_pixels=None)
    except images.ImageFileError as error:
        raise DataError(str(error)) from None
    scaled = (picture.colour.to(torch.float32) * (255 / picture.white)).round_().to(torch.uint8)
    return scaled.expand(3, -1, -1).contiguous()


def folder_files(folder: str | Path) -> list[Path]:
    """Every image file directly in `folder`, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"no such folder: {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return files


def folder_images(folder: str | Path) -> list[torch.Tensor]:
    """Every image file directly in `folder`, sorted by name -> list of uint8 (3, H, W)."""
    return [read_image(p) for p in folder_files(folder)]


def held_out_count(count: int, val_fraction: float = 0.2) -> int:
    """How many of a folder's `count` images (the last by name) are held out: ⌈val_fraction·count⌉ when ≥ 2."""
    return max(1, int(np.ceil(val_fraction * count))) if count >= 2 else 0


def held_out_photos(source: str) -> list[tuple[str, torch.Tensor]]:
    """The whole photos a run on `source` never trains on -> [(name, uint8 (3, H, W))]: VAL_IMAGES for
    'default', the held-out images of a folder of images (all of them when it has only one)."""
    if source == "default":
        return [(name, skimage_image(name)) for name in VAL_IMAGES]
    folder = Path(source)
    if (folder / "train_data.pkl").exists() or (folder / "val_data.pkl").exists():
        raise DataError(f"{folder} holds the course's patch files: there are no whole photos to evaluate on")
    files = folder_files(folder)
    held = held_out_count(len(files)) or len(files)
    return [(path.name, read_image(path)) for path in files[-held:]]


def random_patches(
    images: list[torch.Tensor], count: int, generator: torch.Generator, size: int = PATCH_SIZE
) -> torch.Tensor:
    """`count` random size×size crops, each from an image drawn uniformly -> uint8 (count, 3, size, size)."""
    images = [im for im in images if im.shape[1] >= size and im.shape[2] >= size]
    if not images:
        raise DataError(f"no image is at least {size}×{size} pixels")
    which = torch.randint(0, len(images), (count,), generator=generator)
    out = torch.empty(count, 3, size, size, dtype=torch.uint8)
    offsets = torch.arange(size)
    for index, image in enumerate(images):
        picked = (which == index).nonzero().squeeze(1)
        if len(picked) == 0:
            continue
        top = torch.randint(0, image.shape[1] - size + 1, (len(picked),), generator=generator)
        left = torch.randint(0, image.shape[2] - size + 1, (len(picked),), generator=generator)
        rows = (top[:, None] + offsets)[:, None, :, None]  # (n, 1, size, 1)
        cols = (left[:, None] + offsets)[:, None, None, :]  # (n, 1, 1, size)
        out[picked] = image[torch.arange(3)[None, :, None, None], rows, cols]
    return out


# ---------------------------------------------------------------- datasets


def make_pairs(
    images: list[torch.Tensor], count: int, noise: Noise, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random patches and two independent noisy copies -> (noisy_a, noisy_b, clean), each uint8 (count, 3, 32, 32)."""
    generator = torch.Generator().manual_seed(seed)
    clean = random_patches(images, count, generator)
    return add_noise(clean, noise, generator), add_noise(clean, noise, generator), clean


def default_train(count: int = 20_000, noise: Noise | None = None, seed: int = 0) -> Pairs:
    """N2N training pairs from TRAIN_IMAGES -> (noisy_a, noisy_b), uint8 (count, 3, 32, 32)."""
    noisy_a, noisy_b, _ = make_pairs([skimage_image(n) for n in TRAIN_IMAGES], count, noise or Noise(), seed)
    return noisy_a, noisy_b


def default_val(count: int = 1_000, noise: Noise | None = None, seed: int = 1) -> Pairs:
    """Validation pairs from the held-out VAL_IMAGES -> (noisy, clean), uint8 (count, 3, 32, 32)."""
    noisy, _, clean = make_pairs([skimage_image(n) for n in VAL_IMAGES], count, noise or Noise(), seed + 10_007)
    return noisy, clean


def folder_pairs(
    folder: str | Path, count: int, noise: Noise, seed: int, val_fraction: float = 0.2
) -> tuple[Pairs, Pairs]:
    """Train/val pairs from a folder: the last ⌈val_fraction·n⌉ images (by name) are held out when n ≥ 2.

    Returns ((noisy_a, noisy_b), (noisy, clean)), uint8 (count, 3, 32, 32) and (count // 10 or more, ...).
    """
    images = folder_images(folder)
    held = held_out_count(len(images), val_fraction)
    train_images, val_images = (images[:-held], images[-held:]) if held else (images, images)
    noisy_a, noisy_b, _ = make_pairs(train_images, count, noise, seed)
    noisy, _, clean = make_pairs(val_images, max(100, count // 10), noise, seed + 10_007)
    return (noisy_a, noisy_b), (noisy, clean)


def _load_pair(path: Path, names: tuple[str, str]) -> Pairs:
    if not path.is_file():
        raise DataError(f"no such course data file: {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for corrupt or unsafe files
        raise DataError(f"cannot read {path} as a course data file ({type(error).__name__}: {error})") from None
    if not (isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data)):
        raise DataError(f"{path} must hold a pair of tensors ({names[0]}, {names[1]}), got {type(data).__name__}")
    first, second = data
    if first.ndim != 4 or first.shape[1] != 3 or first.shape != second.shape:
        raise DataError(
            f"{path}: {names[0]} and {names[1]} must both be (N, 3, H, W) of one shape, got "
            f"{tuple(first.shape)} and {tuple(second.shape)}"
        )
    return first, second


def course_data(folder: str | Path) -> tuple[Pairs, Pairs]:
    """The course files folder/train_data.pkl (noisy_a, noisy_b) and folder/val_data.pkl (noisy, clean).

    Read with torch.load(weights_only=True): no code runs. Returns ((noisy_a, noisy_b), (noisy, clean)),
    each (N, 3, H, W) as stored (uint8 in the course).
    """
    folder = Path(folder)
    train = _load_pair(folder / "train_data.pkl", ("noisy_a", "noisy_b"))
    val = _load_pair(folder / "val_data.pkl", ("noisy", "clean"))
    return train, val


# ---------------------------------------------------------------- a run's data


@dataclass(frozen=True)
class DataSpec:
    """How a run's pairs are made, as plain data (checkpoints store it so that a resumed run remakes them).

    source: 'default' (scikit-image photos), a folder holding the course's train_data.pkl / val_data.pkl, or
    a folder of images (the last 20 % by name held out). noise: a `Noise.parse` spec. seed: of the pairs.
    """

    source: str = "default"
    train_size: int = 20_000
    val_size: int = 1_000
    noise: str = "gaussian:25"
    seed: int = 0


@dataclass
class Dataset:
    """A run's data. train: (input, target), each (N, 3, H, W) in [0, 255]; val: (noisy, clean) or None."""

    train: Pairs
    val: Pairs | None = None
    description: str = ""


def load_data(spec: DataSpec) -> Dataset:
    """Make or read the pairs `spec` describes -> Dataset, uint8 (N, 3, 32, 32) pairs (course files: as stored).

    val_size 0: no validation pairs (Dataset.val is None), except for course files, whose val_data.pkl is used.
    """
    noise, source = Noise.parse(spec.noise), spec.source
    if source == "default":
        train = default_train(spec.train_size, noise, spec.seed)
        names = f"train {', '.join(TRAIN_IMAGES)}; val {', '.join(VAL_IMAGES)}"
        val = default_val(spec.val_size, noise) if spec.val_size else None
        return Dataset(train, val, f"scikit-image photos, {names}")
    folder = Path(source)
    if (folder / "train_data.pkl").exists() or (folder / "val_data.pkl").exists():
        (noisy_a, noisy_b), val = course_data(folder)
        train = noisy_a[: spec.train_size], noisy_b[: spec.train_size]
        return Dataset(train, val, f"course files in {folder}")
    train, val = folder_pairs(folder, spec.train_size, noise, spec.seed)
    return Dataset(train, val if spec.val_size else None, f"images in {folder}")
