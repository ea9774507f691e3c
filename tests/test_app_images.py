"""`denoise` on every image mode Pillow reads: values scaled by bit depth, grey kept grey, depth and alpha kept,
EXIF orientation applied, the first of several frames, tiny images; with an identity network the file round-trips.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from tinygrad_n2n.n2n import cli, images
from tinygrad_n2n.n2n.model_file import PRETRAINED, save_model
from tinygrad_n2n.n2n.models import build

RNG = np.random.default_rng(0)
GREY8 = RNG.integers(0, 256, (20, 28), dtype=np.uint8)
GREY16 = RNG.integers(0, 65536, (20, 28), dtype=np.uint16)
RGB = RNG.integers(0, 256, (20, 28, 3), dtype=np.uint8)
ALPHA = RNG.integers(0, 256, (20, 28), dtype=np.uint8)


@pytest.fixture(scope="module")
def identity(tmp_path_factory) -> str:
    """A U-Net whose last conv is zero: out = x exactly, so a denoised file must equal its input."""
    net = build("default", 2)
    last = net.dec0[-1]
    last.weight.data.zero_()
    last.bias.data.zero_()
    path = tmp_path_factory.mktemp("model") / "identity.tn"
    save_model(net, "default", path)
    return str(path)


def _denoise(source: Image.Image, suffix_in: str, suffix_out: str, model: str, tmp_path, capsys, **save):
    source.save(tmp_path / f"in{suffix_in}", **save)
    out = tmp_path / f"out{suffix_out}"
    assert cli.main(["denoise", str(tmp_path / f"in{suffix_in}"), str(out), "--model", model, "--threads", "1"]) == 0
    return Image.open(out), capsys.readouterr().err


def _mode_i(array: np.ndarray) -> Image.Image:
    return Image.fromarray(array.astype(np.int32))


CASES = [  # (name, image, input suffix, output suffix, expected output mode, expected output pixels)
    ("16-bit grey PNG stays 16-bit", Image.fromarray(GREY16), ".png", ".png", "I;16", GREY16),
    ("16-bit grey TIFF stays 16-bit", Image.fromarray(GREY16), ".tif", ".tif", "I;16", GREY16),
    ("8-bit grey stays grey", Image.fromarray(GREY8), ".png", ".png", "L", GREY8),
    ("bilevel becomes 8-bit grey", Image.fromarray(GREY8 > 127), ".png", ".png", "L", (GREY8 > 127) * 255),
    ("RGB", Image.fromarray(RGB), ".png", ".png", "RGB", RGB),
    ("RGB TIFF", Image.fromarray(RGB), ".tif", ".tiff", "RGB", RGB),
    ("palette becomes RGB", Image.fromarray(RGB).quantize(16), ".png", ".png", "RGB", None),
    ("16-bit PGM (Pillow's mode I)", Image.fromarray(GREY16), ".pgm", ".png", "I;16", GREY16),
    ("16-bit grey to JPEG is 8-bit", Image.fromarray(GREY16), ".png", ".jpg", "L", None),
    ("grey to WebP is RGB", Image.fromarray(GREY8), ".png", ".webp", "RGB", None),
]


@pytest.mark.parametrize(("name", "image", "suffix_in", "suffix_out", "mode", "expected"), CASES, ids=lambda c: c)
def test_modes_round_trip_through_an_identity_network(
    name, image, suffix_in, suffix_out, mode, expected, identity, tmp_path, capsys
):
    out, _ = _denoise(image, suffix_in, suffix_out, identity, tmp_path, capsys)
    assert out.mode == mode and out.size == (28, 20), name
    if expected is None and name.startswith("palette"):
        expected = np.asarray(image.convert("RGB"))
    if expected is not None:
        np.testing.assert_array_equal(np.asarray(out), expected)
    elif suffix_out == ".jpg":
        assert abs(np.asarray(out, dtype=float).mean() - GREY16.mean() / 257) < 3  # not saturated


def test_int32_and_float_tiffs_keep_their_type_and_range(identity, tmp_path, capsys):
    ints = (GREY16.astype(np.int64) * 30_000).astype(np.int32)  # uses most of 0 … 2³¹ - 1
    out, _ = _denoise(_mode_i(ints), ".tif", ".tif", identity, tmp_path, capsys)
    assert out.mode == "I"
    np.testing.assert_allclose(np.asarray(out), ints, rtol=0, atol=2**31 * 2e-7)
    floats = (GREY16 / 65535).astype(np.float32)
    out, _ = _denoise(Image.fromarray(floats), ".tif", ".tif", identity, tmp_path, capsys)
    assert out.mode == "F"
    np.testing.assert_allclose(np.asarray(out), floats, rtol=0, atol=1e-6)
    out, notes = _denoise(Image.fromarray(floats), ".tif", ".png", identity, tmp_path, capsys)
    assert out.mode == "I;16" and "PNG cannot store 32-bit float grey: wrote 16-bit" in notes


def test_the_pretrained_model_keeps_a_16_bit_photo_in_range(tmp_path, capsys):
    """The reported bug: a 16-bit grey PNG came out saturated white."""
    ramp = np.linspace(8_000, 50_000, 32 * 40).reshape(32, 40).astype(np.uint16)
    out, _ = _denoise(Image.fromarray(ramp), ".png", ".png", str(PRETRAINED), tmp_path, capsys)
    assert out.mode == "I;16"
    assert np.abs(np.asarray(out, dtype=float) - ramp).mean() < 0.02 * 65535


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_passes_through_untouched(mode, identity, tmp_path, capsys):
    colour = Image.fromarray(RGB if mode == "RGBA" else GREY8)
    colour.putalpha(Image.fromarray(ALPHA))
    out, _ = _denoise(colour, ".png", ".png", identity, tmp_path, capsys)
    assert out.mode == mode
    np.testing.assert_array_equal(np.asarray(out.getchannel("A")), ALPHA)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(colour))
    out, notes = _denoise(colour, ".png", ".jpg", identity, tmp_path, capsys)
    assert out.mode == ("RGB" if mode == "RGBA" else "L") and "alpha dropped" in notes


def test_cmyk_is_denoised_as_rgb_with_a_note(identity, tmp_path, capsys):
    cmyk = Image.fromarray(RGB).convert("CMYK")
    out, notes = _denoise(cmyk, ".tif", ".png", identity, tmp_path, capsys)
    assert out.mode == "RGB" and "converted CMYK to RGB" in notes
    np.testing.assert_array_equal(np.asarray(out), np.asarray(cmyk.convert("RGB")))


def test_exif_orientation_is_applied(identity, tmp_path, capsys):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out, _ = _denoise(Image.fromarray(RGB), ".jpg", ".png", identity, tmp_path, capsys, exif=exif, quality=100)
    upright = ImageOps.exif_transpose(Image.open(tmp_path / "in.jpg"))
    assert out.size == (20, 28) == upright.size
    np.testing.assert_array_equal(np.asarray(out), np.asarray(upright))


def test_a_multi_frame_file_denoises_the_first_frame_and_says_so(identity, tmp_path, capsys):
    frames = [Image.fromarray(GREY8), Image.fromarray(255 - GREY8), Image.fromarray(GREY8 // 2)]
    options = {"save_all": True, "append_images": frames[1:]}
    out, notes = _denoise(frames[0], ".tif", ".png", identity, tmp_path, capsys, **options)
    assert "in.tif has 3 frames: denoised the first" in notes and notes.count("\n") == 1
    np.testing.assert_array_equal(np.asarray(out), GREY8)


@pytest.mark.parametrize("size", [(1, 1), (1, 7), (5, 2)])
def test_tiny_images_denoise_without_warnings(size, tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny = Image.fromarray(RGB[: size[1], : size[0]])
        out, notes = _denoise(tiny, ".png", ".png", str(PRETRAINED), tmp_path, capsys)
    assert out.size == size and notes == ""


def test_out_of_range_and_nan_pixels(identity, tmp_path, capsys):
    floats = (GREY16 / 65535).astype(np.float32) * 2 - 0.5
    out, notes = _denoise(Image.fromarray(floats), ".tif", ".tif", identity, tmp_path, capsys)
    assert "clipped" in notes and np.asarray(out).min() == 0 and np.asarray(out).max() == 1
    floats[3, 4] = np.nan
    Image.fromarray(floats).save(tmp_path / "nan.tif")
    assert cli.main(["denoise", str(tmp_path / "nan.tif"), str(tmp_path / "x.png"), "--model", identity]) == 2
    assert "NaN" in capsys.readouterr().err and not (tmp_path / "x.png").exists()


def test_read_picture_scales_by_bit_depth(tmp_path):
    Image.fromarray(np.full((2, 3), 65535, np.uint16)).save(tmp_path / "white16.png")
    picture = images.read_picture(tmp_path / "white16.png")
    assert picture.colour.shape == (1, 2, 3) and picture.white == 65535 and picture.mode == "I;16"
    assert (picture.colour.to(torch.float32) / picture.white).eq(1).all()
