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


def _means(root: Path, folder: str) -> dict[str, dict]:
    """The per-method means of one committed `eval --full` run (results/<folder>/full_eval.json)."""
    run = json.loads((root / "results" / folder / "full_eval.json").read_text())
    assert run["command"].startswith("tinygrad-n2n eval --full")
    means = {row["method"]: row for row in run["rows"] if row["photo"] == "mean"}
    assert set(means) == set(photo_eval.METHODS)
    return means


def _readme_rows(label: str) -> list[list[str]]:
    """The cells of the README's table rows that start with `label` (bold marks stripped)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith(f"| {label}") and line.count("|") == 5]
    return [[cell.strip().strip("*") for cell in row.split("|")[1:5]] for row in rows]


def test_the_readmes_whole_photo_table_is_the_committed_run():
    """README's σ = 25 table (PSNR to 2 decimals, SSIM to 3) is results/full_eval/full_eval.json's means."""
    means = _means(Path(__file__).resolve().parents[1], "full_eval")
    labels = {
        "noisy": "noisy input",
        "nl_means": "non-local means (true σ)",
        "bm3d": "BM3D (",
        "model": "default U-Net, engine",
    }
    for method, label in labels.items():
        cells = [row for row in _readme_rows(label) if " / " not in row[1]][-1]  # after the patch table
        assert cells[1:3] == [f"{means[method]['psnr']:.2f}", f"{means[method]['ssim']:.3f}"], cells


def test_the_readmes_three_sigma_table_is_the_committed_runs():
    """README's σ = 15/25/50 table ("PSNR / SSIM") is the means of the six committed runs: the default model's
    and the blind model's; the methods that are not a model saw the same noise in both runs of a σ."""
    root = Path(__file__).resolve().parents[1]
    folders = {
        "default": {15: "full_eval_sigma15", 25: "full_eval", 50: "full_eval_sigma50"},
        "blind": {sigma: f"full_eval_blind_sigma{sigma}" for sigma in (15, 25, 50)},
    }
    runs = {
        model: {sigma: _means(root, folder) for sigma, folder in by_sigma.items()}
        for model, by_sigma in folders.items()
    }
    labels = {
        ("default", "noisy"): "noisy input",
        ("default", "nl_means"): "non-local means |",
        ("default", "bm3d"): "BM3D |",
        ("default", "model"): "default U-Net (trained at σ = 25)",
        ("blind", "model"): "blind U-Net (trained at σ 5–50)",
    }
    for (model, method), label in labels.items():
        (cells,) = [row for row in _readme_rows(label.removesuffix(" |")) if " / " in row[1]]
        for column, sigma in enumerate((15, 25, 50), start=1):
            score = runs[model][sigma][method]
            assert cells[column] == f"{score['psnr']:.2f} / {score['ssim']:.3f}", (label, sigma)
            if method != "model":
                assert runs["blind"][sigma][method]["psnr"] == score["psnr"], (method, sigma)
