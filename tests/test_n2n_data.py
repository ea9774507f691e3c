"""Noise2Noise data: shapes, ranges, seeding, the held-out split, noise models, course files, image folders."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from tinygrad_n2n.n2n import data


def test_train_pairs_shapes_ranges_and_reproducible():
    a, b = data.default_train(200, seed=3)
    assert a.shape == b.shape == (200, 3, 32, 32) and a.dtype == b.dtype == torch.uint8
    again_a, again_b = data.default_train(200, seed=3)
    assert torch.equal(a, again_a) and torch.equal(b, again_b)
    assert not torch.equal(a, data.default_train(200, seed=4)[0])
    # two independent noisy copies of one clean patch: close on average, never identical
    assert not torch.equal(a, b)
    difference = (a.float() - b.float()) / 255
    assert abs(difference.std().item() - np.sqrt(2) * 25 / 255) < 0.03


def test_val_pairs_are_noisy_clean_with_the_expected_psnr():
    noisy, clean = data.default_val(300)
    assert noisy.shape == clean.shape == (300, 3, 32, 32) and noisy.dtype == torch.uint8
    error = ((noisy.float() - clean.float()) / 255).pow(2).mean().item()
    assert 19.5 < -10 * np.log10(error) < 21.5  # σ = 25/255 with clipping


def test_train_and_val_images_are_disjoint():
    assert not set(data.TRAIN_IMAGES) & set(data.VAL_IMAGES)
    train_pixels = {tuple(data.skimage_image(n).shape) for n in data.TRAIN_IMAGES}
    for name in data.VAL_IMAGES:
        image = data.skimage_image(name)
        assert image.shape[0] == 3 and image.dtype == torch.uint8
        for other in data.TRAIN_IMAGES:
            candidate = data.skimage_image(other)
            assert candidate.shape != image.shape or not torch.equal(candidate, image)
    assert all(shape[0] == 3 for shape in train_pixels)  # grayscale photos converted to 3 channels


def test_generating_twenty_thousand_pairs():
    """How long it takes is for the bench, not for a test (the machines are shared)."""
    a, b = data.default_train(20_000)
    assert a.shape == b.shape == (20_000, 3, 32, 32) and not torch.equal(a, b)


@pytest.mark.parametrize(
    ("spec", "kind", "low", "high"),
    [
        ("gaussian:25", "gaussian", 25 / 255, 25 / 255),
        ("gaussian:0-50", "gaussian", 0.0, 50 / 255),
        ("poisson:30", "poisson", 30.0, 30.0),
        ("Poisson:5-50", "poisson", 5.0, 50.0),
        ("gaussian", "gaussian", 25 / 255, 25 / 255),
    ],
)
def test_noise_specs(spec, kind, low, high):
    noise = data.Noise.parse(spec)
    assert (noise.kind, noise.low, noise.high) == (kind, pytest.approx(low), pytest.approx(high))


@pytest.mark.parametrize("spec", ["uniform:3", "gaussian:50-10", "poisson:0", "gaussian:abc"])
def test_bad_noise_specs_raise_clear_errors(spec):
    with pytest.raises(data.DataError, match="noise"):
        data.Noise.parse(spec)


def test_poisson_and_blind_noise_stay_in_range_and_vary():
    clean = torch.full((64, 3, 8, 8), 128, dtype=torch.uint8)
    generator = torch.Generator().manual_seed(0)
    poisson = data.add_noise(clean, data.Noise.parse("poisson:30"), generator)
    assert poisson.dtype == torch.uint8 and abs(poisson.float().mean().item() - 128) < 3
    blind = data.add_noise(clean, data.Noise.parse("gaussian:0-50"), generator)
    spreads = (blind.float() - 128).std(dim=(1, 2, 3))
    assert spreads.min() < 10 < 30 < spreads.max()  # each image draws its own σ


def _save_course(path, first, second):
    torch.save((first, second), path)


def test_course_files_round_trip(tmp_path):
    pairs = torch.randint(0, 256, (2, 5, 3, 32, 32), dtype=torch.uint8)
    _save_course(tmp_path / "train_data.pkl", pairs[0], pairs[1])
    _save_course(tmp_path / "val_data.pkl", pairs[1], pairs[0])
    (a, _b), (noisy, clean) = data.course_data(tmp_path)
    assert torch.equal(a, pairs[0]) and torch.equal(clean, pairs[0]) and torch.equal(noisy, pairs[1])


@pytest.mark.parametrize(
    "payload",
    [
        {"noisy": 1},
        (torch.zeros(2, 3, 8, 8),),
        (torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 8, 9)),
        (torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 8, 8)),
        [torch.zeros(3, 8, 8), torch.zeros(3, 8, 8)],
    ],
)
def test_course_file_with_wrong_structure_is_a_clear_error(tmp_path, payload):
    torch.save(payload, tmp_path / "train_data.pkl")
    _save_course(tmp_path / "val_data.pkl", torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4))
    with pytest.raises(data.DataError, match=r"train_data\.pkl"):
        data.course_data(tmp_path)


def test_course_file_missing_or_not_a_tensor_file(tmp_path):
    with pytest.raises(data.DataError, match="no such course data file"):
        data.course_data(tmp_path)
    (tmp_path / "train_data.pkl").write_bytes(b"not a pickle at all")
    with pytest.raises(data.DataError, match="cannot read"):
        data.course_data(tmp_path)


def test_image_folder_source(tmp_path):
    rng = np.random.default_rng(0)
    for index in range(3):
        Image.fromarray(rng.integers(0, 256, (40 + index, 50, 3), dtype=np.uint8)).save(tmp_path / f"{index}.png")
    Image.fromarray(rng.integers(0, 256, (48, 48), dtype=np.uint8)).save(tmp_path / "gray.jpg")
    (tmp_path / "notes.txt").write_text("ignored")
    (a, b), (noisy, clean) = data.folder_pairs(tmp_path, 50, data.Noise(), seed=0)
    assert a.shape == b.shape == (50, 3, 32, 32) and noisy.shape == clean.shape == (100, 3, 32, 32)


def test_bad_image_files_are_clear_errors(tmp_path):
    with pytest.raises(data.DataError, match="no such image file"):
        data.read_image(tmp_path / "missing.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(data.DataError, match="cannot read"):
        data.read_image(tmp_path / "broken.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DataError, match="no image files"):
        data.folder_images(tmp_path / "empty")
