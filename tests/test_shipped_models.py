"""The shipped models by name: `--model default|blind` and `Model.load_pretrained_model(name)` resolve to the
package's weights unless a file of that name exists; the blind model's PSNR at three noise levels, pinned."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinygrad_n2n.n2n import Model, data
from tinygrad_n2n.n2n.metrics import psnr
from tinygrad_n2n.n2n.model_file import PRETRAINED, SHIPPED, ModelFileError, load_model, model_path


def test_a_shipped_name_resolves_unless_a_file_has_that_name(tmp_path, monkeypatch):
    assert model_path("default") == PRETRAINED and model_path("blind") == SHIPPED["blind"]
    assert model_path(tmp_path / "run.tn") == tmp_path / "run.tn" and model_path("runs/x.tn") == Path("runs/x.tn")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blind").write_bytes(b"not a model")  # a user's own file of that name wins, as a path would
    assert model_path("blind") == Path("blind")
    with pytest.raises(ModelFileError, match="cannot read blind as a model file"):
        load_model("blind")


def test_the_default_name_loads_the_shipped_default_model():
    net, payload = load_model("default")
    assert payload["arch"] == "default" and net.num_parameters() == 72_547


@pytest.fixture(scope="module")
def shipped() -> dict[str, Model]:
    models = {name: Model("default", device="cpu") for name in SHIPPED}
    for name, model in models.items():
        model.load_pretrained_model(name)
    return models


@pytest.mark.parametrize(
    ("sigma", "noisy_db", "default_db", "blind_db"),
    [(15, 24.830, 31.722, 31.735), (25, 20.528, 30.684, 29.847), (50, 14.945, 22.274, 26.683)],
)
def test_psnr_of_both_shipped_models_on_200_held_out_patches(shipped, sigma, noisy_db, default_db, blind_db):
    """`data.default_val(200, σ)`, pinned: the blind model (one network for σ from 5 to 50) gives up 0.84 dB at
    the default model's σ = 25, matches it at 15, and is 4.4 dB ahead at 50, where the default barely denoises."""
    noisy, clean = data.default_val(200, data.Noise.parse(f"gaussian:{sigma}"))
    assert psnr(noisy, clean) == pytest.approx(noisy_db, abs=0.005)
    assert psnr(shipped["default"].predict(noisy), clean) == pytest.approx(default_db, abs=0.005)
    assert psnr(shipped["blind"].predict(noisy), clean) == pytest.approx(blind_db, abs=0.005)


def test_the_blind_model_and_its_training_metrics_ship():
    """blind_metrics.csv, beside the weights: the training run's epochs, ending at 29.02 dB validation PSNR
    (1,000 held-out patches, σ drawn from 5 to 50)."""
    last = (SHIPPED["blind"].parent / "blind_metrics.csv").read_text().strip().splitlines()[-1].split(",")
    assert float(last[5]) == pytest.approx(29.02, abs=0.01)
    net, payload = load_model("blind")
    assert payload["arch"] == "default" and net.num_parameters() == 72_547
