"""Tiled inference: windows cover the image with weights summing to 1, the context outgrows the receptive
field, tiled equals untiled, a progress bar for many tiles, a pixel limit, and bounded memory on a big photo.
"""

from __future__ import annotations

import itertools
import struct
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from tinygrad_n2n.n2n import Model, cli, data, tiling
from tinygrad_n2n.n2n.models import DOWNSAMPLING, build


@pytest.mark.parametrize("window", [128, 512])
def test_windows_cover_every_pixel_on_the_grid_with_weights_summing_to_one(window):
    for length in [1, 5, window, window + 3, window + 4, 2 * window + 37, 4000]:
        spans = tiling.spans(length, window)
        total = torch.zeros(length)
        for start, stop, weight in spans:
            assert start % DOWNSAMPLING == 0 and stop - start <= window + DOWNSAMPLING - 1
            total[start:stop] += weight
        assert (total - 1).abs().max() < 1e-6
        for (_, stop, weight), (start, _, _) in itertools.pairwise(spans):  # no weight where a window lacks context
            assert stop - tiling.CONTEXT - (start + tiling.CONTEXT) >= tiling.BLEND
            assert weight[-tiling.CONTEXT :].eq(0).all()


def _receptive_radius(net) -> int:
    """How far (pixels) a change of one input pixel reaches in the output, over the 4×4 grid phases."""
    x = torch.rand(1, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    radius = 0
    with tiling.inference(net):
        base = tiling.run_padded(net, x)
        for dy in range(DOWNSAMPLING):
            for dx in range(DOWNSAMPLING):
                poked = x.clone()
                poked[0, :, 48 + dy, 48 + dx] += 0.3
                rows, cols = ((tiling.run_padded(net, poked) - base).abs().amax(1)[0] > 0).nonzero(as_tuple=True)
                radius = max(radius, (rows - 48 - dy).abs().max().item(), (cols - 48 - dx).abs().max().item())
    return radius


@pytest.mark.parametrize("arch", ["default", "course"])
def test_the_context_is_wider_than_the_receptive_field(arch):
    torch.manual_seed(0)
    radius = _receptive_radius(build(arch, 4))
    assert 0 < radius <= tiling.CONTEXT


@pytest.mark.parametrize("arch", ["default", "course"])
def test_tiled_equals_untiled_on_a_512_photo(arch):
    torch.manual_seed(0)
    net = build(arch, 2)
    clean = data.skimage_image("astronaut")  # 512×512
    noisy = data.add_noise(clean[None], data.Noise(), torch.Generator().manual_seed(0))[0]
    whole = tiling.denoise_tiled(net, noisy, 255.0, window=512)
    tiled = tiling.denoise_tiled(net, noisy, 255.0, window=320)  # 2×2 windows: seams across both axes
    assert len(tiling.spans(512, 320)) == 2
    assert (whole - tiled).abs().max() <= 1e-5


def test_predict_tiles_images_bigger_than_a_window():
    model = Model("course", device="cpu")
    image = torch.randint(0, 256, (1, 3, 40, tiling.WINDOW + 60), dtype=torch.uint8)
    whole = tiling.denoise_tiled(model.net, image[0], 255.0, window=tiling.WINDOW + 64)
    assert (model.predict(image)[0] / 255 - whole).abs().max() <= 1e-5


def test_a_progress_bar_from_many_tiles_on(monkeypatch):
    bars = []
    monkeypatch.setattr(tiling, "progress_bar", lambda enabled, **options: bars.append((enabled, options)) or _Bar())
    net = build("course")
    tiling.denoise_tiled(net, torch.rand(3, 300, 300), 1.0, window=128, progress=True)  # 5×5 windows
    tiling.denoise_tiled(net, torch.rand(3, 200, 200), 1.0, window=128, progress=True)  # 3×3
    assert [(enabled, options["total"]) for enabled, options in bars] == [(True, 25), (False, 9)]


class _Bar:
    def update(self, steps: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _png_header_only(path, width: int, height: int) -> None:
    """A PNG that declares width×height (1-bit grey) but holds no pixel data: a decompression bomb's header."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))


@pytest.mark.parametrize(("width", "height"), [(14_000, 13_000), (10_000, 9_500)])  # 182 MP, 95 MP
def test_images_above_the_pixel_limit_are_one_line_errors_before_decoding(width, height, tmp_path, capsys):
    _png_header_only(tmp_path / "huge.png", width, height)
    assert cli.main(["denoise", str(tmp_path / "huge.png"), str(tmp_path / "out.png")]) == 2
    error = capsys.readouterr().err
    assert f"huge.png is {width}×{height}" in error and f"--max-pixels {width * height}" in error
    assert error.count("\n") == 1 and not (tmp_path / "out.png").exists()
    assert cli.main(["denoise", str(tmp_path / "huge.png"), str(tmp_path / "out.png"), "--max-pixels", "0"]) == 2
    error = capsys.readouterr().err  # allowed: Pillow's own bomb check is off, decoding the empty file fails
    assert "cannot read" in error and "DecompressionBomb" not in error and error.count("\n") == 1


MEMORY_PROBE = """
import resource, sys
import torch
import tinygrad_n2n as tn
from tinygrad_n2n import nn
from tinygrad_n2n.n2n import cli
from tinygrad_n2n.n2n.cli import commands

class Activations(nn.Module):
    '''Stands in for a network (cheaply): holds 24 floats per pixel, as a small U-Net's activations do.'''

    def forward(self, x):
        return tn.Tensor(x.data.repeat(1, 8, 1, 1)[:, :3].clone())

commands.load_model = lambda path, device: (Activations(), {})
start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
code = cli.main(["denoise", sys.argv[1], sys.argv[2], "--quiet", "--threads", "1"])
print(code, start * 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in kB on Linux")
def test_a_4000_by_3000_photo_is_denoised_in_bounded_memory(tmp_path):
    """Peak resident memory of a subprocess running `denoise` on a 12 MP photo: under 2 GB in all, and under
    700 MB above its start-up size (untiled, the same stand-in network needs about 1.6 GB more)."""
    rows = np.linspace(0, 200, 3000, dtype=np.float32)[:, None, None]
    photo = (rows + np.random.default_rng(0).integers(0, 55, (1, 4000, 3), dtype=np.uint8)).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "big.tif")
    del photo
    argv = [sys.executable, "-c", textwrap.dedent(MEMORY_PROBE), str(tmp_path / "big.tif"), str(tmp_path / "out.tif")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    code, start, peak = map(int, done.stdout.split()[-3:])
    assert code == 0 and Image.open(tmp_path / "out.tif").size == (4000, 3000), done.stderr
    assert peak < 2 * 2**30 and peak - start < 700 * 2**20, (start / 2**20, peak / 2**20)
