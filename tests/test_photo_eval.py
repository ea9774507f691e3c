"""Whole-photo evaluation (`n2n/photo_eval.py`, `tinygrad-n2n eval --full`): scores computed by hand, the shared
noise draw, every method's wiring, and the CLI's table, JSON and crops."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
import torch

from tinygrad_n2n.n2n import cli, data, photo_eval
from tinygrad_n2n.n2n.model_file import PRETRAINED, load_model
from tinygrad_n2n.n2n.tiling import denoise_tiled

SIGMA = 25 / 255


def _photo(height: int = 40, width: int = 48, seed: int = 0) -> torch.Tensor:
    """A smooth uint8 (3, H, W) test picture (a gradient plus a little texture)."""
    generator = torch.Generator().manual_seed(seed)
    rows = torch.linspace(40, 210, height)[:, None].expand(height, width)
    texture = torch.rand(3, height, width, generator=generator) * 20
    return (rows + texture).round().clamp(0, 255).to(torch.uint8)


@pytest.fixture(scope="module")
def shipped():
    net, _ = load_model(PRETRAINED, "cpu")
    return net


def test_psnr_and_ssim_of_known_images():
    clean = torch.zeros(3, 16, 16, dtype=torch.uint8)
    assert photo_eval.score(torch.full((3, 16, 16), 0.1, dtype=torch.float64), clean)[0] == pytest.approx(
        20.0, abs=1e-9
    )
    clean = _photo()
    psnr, ssim = photo_eval.score(clean.float() / 255, clean)
    assert psnr > 140 and ssim == pytest.approx(1.0, abs=1e-9)  # only float32 rounding of x / 255 differs
    assert photo_eval.score(clean.float() / 255 * 0.9, clean)[1] < 0.999


def test_the_noise_draw_is_gaussian_of_the_given_sigma_and_repeats_with_the_seed():
    clean = torch.full((3, 300, 300), 128, dtype=torch.uint8)  # mid-grey: clipping at 0 and 1 is negligible
    noise = data.Noise("gaussian", SIGMA, SIGMA)
    noisy = photo_eval.noisy_photo(clean, noise, seed=3)
    assert noisy.dtype == torch.float32 and noisy.min() >= 0 and noisy.max() <= 1
    assert (noisy - 128 / 255).std().item() == pytest.approx(SIGMA, rel=0.01)  # 270,000 draws
    assert torch.equal(noisy, photo_eval.noisy_photo(clean, noise, seed=3))
    assert not torch.equal(noisy, photo_eval.noisy_photo(clean, noise, seed=4))


def test_the_model_method_is_the_tiled_denoiser_clipped(shipped):
    noisy = photo_eval.noisy_photo(_photo(), data.Noise("gaussian", SIGMA, SIGMA), seed=0)
    expected = denoise_tiled(shipped, noisy, white=1.0).clamp(0, 1)
    assert torch.equal(photo_eval.denoise("model", noisy, SIGMA, shipped), expected)


def test_every_method_sees_the_same_noisy_photo_and_is_scored_against_the_clean_one(shipped, monkeypatch):
    seen = []

    def fake_bm3d_rgb(image, sigma_psd):  # records its input and returns it: then it scores as the noisy input
        seen.append((torch.from_numpy(image.transpose(2, 0, 1).copy()).float(), sigma_psd))
        return image

    monkeypatch.setitem(sys.modules, "bm3d", types.SimpleNamespace(bm3d_rgb=fake_bm3d_rgb))
    photos = [("a", _photo(seed=1)), ("b", _photo(32, 36, seed=2))]
    scores, first = photo_eval.evaluate_photos(photos, SIGMA, 5, shipped, methods=photo_eval.METHODS)
    assert [(s.photo, s.method) for s in scores] == [(p, m) for p, _ in photos for m in photo_eval.METHODS]
    noise = data.Noise("gaussian", SIGMA, SIGMA)
    for index, (name, clean) in enumerate(photos):
        noisy = photo_eval.noisy_photo(clean, noise, 5 + index)
        assert torch.allclose(seen[index][0], noisy) and seen[index][1] == SIGMA
        by_method = {s.method: s for s in scores if s.photo == name}
        assert (by_method["bm3d"].psnr, by_method["bm3d"].ssim) == pytest.approx(photo_eval.score(noisy, clean))
        assert (by_method["noisy"].psnr, by_method["noisy"].ssim) == pytest.approx(photo_eval.score(noisy, clean))
        model_psnr = photo_eval.score(photo_eval.denoise("model", noisy, SIGMA, shipped), clean)[0]
        assert by_method["model"].psnr == pytest.approx(model_psnr)
        assert by_method["model"].psnr > by_method["noisy"].psnr + 3  # the shipped model denoises
    assert set(first) == {*photo_eval.METHODS, "clean"} and torch.equal(first["clean"], photos[0][1].float() / 255)
    means = {s.method: s for s in photo_eval.mean_scores(scores)}
    assert means["model"].psnr == pytest.approx(sum(s.psnr for s in scores if s.method == "model") / 2)


def test_bm3d_is_left_out_with_a_note_when_its_package_is_missing(monkeypatch):
    monkeypatch.setattr(photo_eval.importlib.util, "find_spec", lambda name: None)
    methods, notes = photo_eval.available_methods()
    assert methods == ("noisy", "nl_means", "model") and notes == [photo_eval.BM3D_MISSING]


def test_real_bm3d_denoises_when_installed():
    pytest.importorskip("bm3d", reason="the [eval] extra is not installed")
    clean = _photo(32, 32)
    noisy = photo_eval.noisy_photo(clean, data.Noise("gaussian", SIGMA, SIGMA), seed=0)
    out = photo_eval.denoise("bm3d", noisy, SIGMA)
    assert out.shape == clean.shape and photo_eval.score(out, clean)[0] > photo_eval.score(noisy, clean)[0] + 3


def test_held_out_photos_of_the_default_data_and_of_a_folder(tmp_path):
    assert [name for name, _ in data.held_out_photos("default")] == list(data.VAL_IMAGES)
    pil_image = pytest.importorskip("PIL.Image")
    for index in range(6):
        pil_image.fromarray(_photo(seed=index).permute(1, 2, 0).numpy()).save(tmp_path / f"p{index}.png")
    held = data.held_out_photos(str(tmp_path))
    assert [name for name, _ in held] == ["p4.png", "p5.png"]  # the last ⌈0.2·6⌉ = 2 by name
    assert torch.equal(held[0][1], _photo(seed=4))


def test_eval_full_prints_and_writes_the_scores(tmp_path, monkeypatch, capsys):
    photos = [("tiny", _photo(seed=7))]
    monkeypatch.setattr(data, "held_out_photos", lambda source: photos)
    monkeypatch.setattr(photo_eval.importlib.util, "find_spec", lambda name: None)  # no BM3D: its note
    assert cli.main(["eval", "--full", "--seed", "2", "--threads", "1", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    net, _ = load_model(PRETRAINED, "cpu")
    scores, _ = photo_eval.evaluate_photos(photos, SIGMA, 2, net, methods=("noisy", "nl_means", "model"))
    for s in scores:
        assert f"{s.photo:18s} {s.method:9s} {s.psnr:9.2f} {s.ssim:7.4f}" in printed
    assert photo_eval.BM3D_MISSING in printed
    written = json.loads((tmp_path / "full_eval.json").read_text())
    assert written["noise"] == "gaussian:25" and written["notes"] == [photo_eval.BM3D_MISSING]
    assert [row["psnr"] for row in written["rows"][:3]] == pytest.approx([s.psnr for s in scores])
    assert (tmp_path / "full_eval_crops.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "--out", "x"], "--out goes with --full"),
        (["eval", "--full", "--noise", "poisson:30"], "Gaussian noise of one σ"),
        (["eval", "--full", "--noise", "gaussian:5-50"], "Gaussian noise of one σ"),
    ],
)
def test_eval_full_usage_errors(argv, message, capsys):
    assert cli.main([*argv, "--threads", "1"]) == 2
    assert message in capsys.readouterr().err


def test_the_readmes_whole_photo_table_is_the_committed_run():
    """README's table (PSNR to 2 decimals, SSIM to 3) is results/full_eval/full_eval.json's means."""
    root = Path(__file__).resolve().parents[1]
    run = json.loads((root / "results" / "full_eval" / "full_eval.json").read_text())
    means = {row["method"]: row for row in run["rows"] if row["photo"] == "mean"}
    assert run["command"].startswith("tinygrad-n2n eval --full") and set(means) == set(photo_eval.METHODS)
    readme = (root / "README.md").read_text(encoding="utf-8")
    labels = {
        "noisy": "noisy input",
        "nl_means": "non-local means (true σ)",
        "bm3d": "BM3D (",
        "model": "default U-Net",
    }
    for method, label in labels.items():
        rows = [line for line in readme.splitlines() if line.startswith(f"| {label}") and line.count("|") == 5]
        row = rows[-1]  # the whole-photo table comes after the patch table
        cells = [cell.strip().strip("*") for cell in row.split("|")[2:4]]
        assert cells == [f"{means[method]['psnr']:.2f}", f"{means[method]['ssim']:.3f}"], row
