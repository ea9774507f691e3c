"""Image files for `denoise`: every mode Pillow reads, scaled by its bit depth, and written back alike.

Reading (`read_picture`): EXIF orientation applied, the first frame of a multi-frame file, the size checked
against a pixel limit before any pixel is decoded. Grey modes (1, L, I;16, I, F) stay one channel, colour
modes become RGB (P, CMYK, YCbCr, ... converted by Pillow), alpha (LA, RGBA, PA, P with transparency) is kept
aside untouched. Writing (`write_picture`): grey stays grey, alpha comes back, and the input's bit depth is
kept where the output format can store it (see OUTPUT_MODES), else the nearest lower one, with a note.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..serialization import atomic_path
from .extras import require

MAX_PIXELS = 64_000_000  # about 2 GB to denoise; larger images need an explicit limit (denoise --max-pixels)
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}
FORMATS |= {".bmp": "BMP"}
OUTPUT_MODES = {  # the Pillow modes each output format stores
    "PNG": ("L", "LA", "I;16", "RGB", "RGBA"),
    "TIFF": ("L", "LA", "I;16", "I", "F", "RGB", "RGBA"),
    "JPEG": ("L", "RGB"),
    "WEBP": ("RGB", "RGBA"),
    "BMP": ("L", "RGB"),
}
LOWER_DEPTH = {"F": "I", "I": "I;16", "I;16": "L"}
GREY = {"1": ("L", 1.0), "L": ("L", 255.0), "I;16": ("I;16", 65535.0), "F": ("F", 1.0)}  # mode -> (write as, white)
WHITE = {"L": 255.0, "RGB": 255.0, "I;16": 65535.0, "I": 2.0**31 - 1, "F": 1.0}  # when written
DEPTHS = {"L": "8-bit", "I;16": "16-bit", "I": "32-bit integer", "F": "32-bit float"}


class ImageFileError(ValueError):
    """An image file is missing, unreadable, holds NaN pixels, or has an unsupported suffix (message says which)."""


class PixelLimitError(ImageFileError):
    """An image has more pixels than the limit (message: its size, the limit and the flag that raises it)."""


@dataclass
class Picture:
    """A decoded image. colour: (C, H, W) torch tensor, C = 1 (grey) or 3, values in [0, white], in the
    file's own dtype (bool, uint8, uint16, int32, float32); alpha: (H, W) uint8 or None; mode: the Pillow mode
    to write it back in ("L", "I;16", "I", "F" or "RGB"); notes: what the reader changed, one line each."""

    colour: torch.Tensor
    alpha: torch.Tensor | None
    white: float
    mode: str
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _own_size_check(pil_image: Any) -> Iterator[None]:
    """Pillow's decompression-bomb check off: `read_picture` checks the size itself, with its own limit."""
    previous, pil_image.MAX_IMAGE_PIXELS = pil_image.MAX_IMAGE_PIXELS, None
    try:
        yield
    finally:
        pil_image.MAX_IMAGE_PIXELS = previous


def read_picture(path: str | Path, max_pixels: int | None = MAX_PIXELS) -> Picture:
    """Read an image file -> Picture. max_pixels: None or 0 for no limit.

    Raises ImageFileError (missing, unreadable, NaN pixels) or PixelLimitError, one line naming the file.
    """
    pil_image = require("PIL.Image", "reading image files")
    image_ops = require("PIL.ImageOps", "reading image files")
    path = Path(path)
    if not path.is_file():
        raise ImageFileError(f"no such image file: {path}")
    try:
        with _own_size_check(pil_image), pil_image.open(path) as image:
            _check_size(path, image.size, max_pixels)
            frames = getattr(image, "n_frames", 1)
            image_ops.exif_transpose(image, in_place=True)
            picture = _decode(image, _tiff_white(image))
    except (OSError, ValueError, SyntaxError, EOFError) as error:  # PIL's UnidentifiedImageError is an OSError
        raise ImageFileError(f"cannot read {path} as an image ({error})") from None
    if frames > 1:
        picture.notes.append(f"{path.name} has {frames} frames: denoised the first")
    return picture


def _check_size(path: Path, size: tuple[int, int], max_pixels: int | None) -> None:
    width, height = size
    if max_pixels and width * height > max_pixels:
        raise PixelLimitError(
            f"{path} is {width}×{height} = {width * height / 1e6:.1f} MP, above the limit of {max_pixels / 1e6:g} MP "
            f"(about 30 bytes of memory per pixel); pass --max-pixels {width * height} to denoise it anyway"
        )


def _tiff_white(image: Any) -> float:
    """The value meaning white in a 32-bit integer ("I") image: from a TIFF's bits and sample format, else 16-bit.

    Pillow opens 16-bit PGM/PPM as "I" too, scaled to 0…65535; an int32 TIFF uses 0…2³¹ - 1.
    """
    tags = getattr(image, "tag_v2", {})
    bits, sample_format = tags.get(258, (16,)), tags.get(339, (1,))
    bits = bits[0] if isinstance(bits, tuple) else bits
    signed = (sample_format[0] if isinstance(sample_format, tuple) else sample_format) == 2
    return float(2 ** (int(bits) - signed) - 1)


def _decode(image: Any, integer_white: float) -> Picture:
    """A loaded Pillow image -> Picture (grey stays one channel; alpha split off; other modes made RGB)."""
    notes, mode = [], image.mode
    alpha = None
    if mode in ("LA", "La", "PA", "RGBA", "RGBa") or (mode == "P" and "transparency" in image.info):
        image = image.convert("LA" if mode.startswith("L") else "RGBA")
        alpha = torch.from_numpy(np.array(image.getchannel("A")))
        image = image.convert("L" if mode.startswith("L") else "RGB")
    elif mode.startswith("I;16"):
        image = image.convert("I;16") if mode != "I;16" else image
    elif mode not in ("1", "L", "I", "F", "RGB"):
        notes += [] if mode == "P" else [f"converted {mode} to RGB"]
        image = image.convert("RGB")
    if image.mode == "I":
        write_as, white = ("I" if integer_white > 65535 else "I;16"), integer_white
    else:
        write_as, white = GREY.get(image.mode, ("RGB", 255.0))
    array = np.array(image)  # a writable copy: torch refuses read-only arrays
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError("it holds NaN or infinite pixel values")
    clipped = int(np.count_nonzero((array < 0) | (array > white))) if array.dtype.kind in "if" else 0
    if clipped:
        notes.append(f"clipped {clipped} pixel values outside [0, {white:g}]")
        np.clip(array, 0, white, out=array)
    colour = torch.from_numpy(array)
    colour = colour[None] if colour.ndim == 2 else colour.permute(2, 0, 1)
    return Picture(colour, alpha, white, write_as, notes)


def output_format(path: str | Path) -> str:
    """The Pillow format an output file's suffix names ('PNG', 'JPEG', 'TIFF', 'WEBP', 'BMP'); else ImageFileError."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ImageFileError(f"output file must end in {', '.join(FORMATS)}; got {Path(path).name!r}")
    return FORMATS[suffix]


def write_picture(denoised: torch.Tensor, like: Picture, path: str | Path) -> list[str]:
    """Write denoised (C, H, W) float in [0, 1] as `like` was read (grey/colour, depth, alpha) -> notes.

    The format comes from the suffix; where it cannot store `like`'s mode, the nearest it can (a lower bit
    depth, alpha dropped, grey as RGB) is written and a note says so. Atomic: the file appears whole or not.
    """
    pil_image = require("PIL.Image", "writing image files")
    image_format, notes = output_format(path), []
    allowed = OUTPUT_MODES[image_format]
    mode = like.mode
    while mode not in allowed and mode in LOWER_DEPTH:
        mode = LOWER_DEPTH[mode]
    if mode != like.mode and mode in allowed:
        notes.append(f"{image_format} cannot store {DEPTHS[like.mode]} grey: wrote {DEPTHS[mode]} (.tif keeps it)")
    mode = mode if mode in allowed else "RGB"  # grey in a colour-only format
    white = like.white if mode == like.mode and mode == "I" else WHITE[mode]
    image = pil_image.fromarray(_quantise(denoised.expand(3 if mode == "RGB" else 1, -1, -1), mode, white))
    if like.alpha is not None and ("RGBA" if mode == "RGB" else "LA") in allowed:
        image.putalpha(pil_image.fromarray(like.alpha.numpy()))
    elif like.alpha is not None:
        notes.append(f"{image_format} cannot store transparency: alpha dropped (.png keeps it)")
    options = {"quality": 95} if image_format in ("JPEG", "WEBP") else {}
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as temporary:
        image.save(temporary, format=image_format, **options)
    return notes


def _quantise(values: torch.Tensor, mode: str, white: float) -> np.ndarray:
    """(C, H, W) float in [0, 1] -> the array Pillow reads as `mode`: (H, W) for grey, (H, W, 3) for RGB."""
    if mode == "F":
        return values[0].numpy().astype(np.float32)
    if mode == "I":  # float32 cannot hold 2³¹ - 1
        return (values[0].double() * white).round_().clamp_(0, white).numpy().astype(np.int32)
    dtype = np.uint16 if mode == "I;16" else np.uint8
    scaled = (values * white).round_().numpy().astype(dtype)
    return scaled[0] if mode != "RGB" else np.ascontiguousarray(scaled.transpose(1, 2, 0))
