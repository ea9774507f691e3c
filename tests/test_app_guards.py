"""NaN guards: numeric flags must be finite, a diverging run stops with one line and keeps the last good
checkpoint, no model with NaN/inf weights is written or loaded, and Model.train states the size rule.
"""

from __future__ import annotations

import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n.n2n import Model, cli
from tinygrad_n2n.n2n.inference import InputError
from tinygrad_n2n.n2n.model_file import ModelFileError, load_model, read_model_file, save_model
from tinygrad_n2n.n2n.models import build
from tinygrad_n2n.n2n.train import DivergedError, TrainConfig, Trainer

TINY = ["--arch", "course", "--train-size", "32", "--val-size", "8", "--batch-size", "16", "--quiet", "--threads", "1"]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "abc"])
def test_the_learning_rate_must_be_a_finite_positive_number(value, tmp_path, capsys):
    assert cli.main(["train", "--lr", value, "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert "argument --lr:" in error and error.count("\n") == 1 and not (tmp_path / "run").exists()


def _poison_weights_at(monkeypatch, call: int) -> None:
    """Make the `call`-th training step meet NaN weights (as after an overflowing update)."""
    original, calls = Trainer.train_step, []

    def step(self, inputs, targets):
        calls.append(1)
        if len(calls) == call:
            next(iter(self.net.parameters())).data.fill_(float("nan"))
        return original(self, inputs, targets)

    monkeypatch.setattr(Trainer, "train_step", step)


def test_a_diverging_run_stops_naming_epoch_and_step_and_keeps_the_last_good_files(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "--epochs", "1", "--out", str(out), *TINY]) == 0
    good = {name: (out / name).read_bytes() for name in ("model.tn", "checkpoint.tn")}
    _poison_weights_at(monkeypatch, 4)  # 2 steps per epoch: epoch 2, step 2
    capsys.readouterr()
    assert cli.main(["train", "--epochs", "3", "--out", str(out), *TINY]) == 1
    error = capsys.readouterr().err
    assert "training diverged: the loss is nan at epoch 2, step 2" in error and error.count("\n") == 1
    assert f"kept the last good {out / 'checkpoint.tn'}" in error
    assert (out / "model.tn").read_bytes() == good["model.tn"]  # the earlier run's model is untouched
    kept = read_model_file(out / "checkpoint.tn")  # written by this run after epoch 1, finite
    assert kept["trainer"]["epoch"] == 1 and kept["trainer"]["config"]["epochs"] == 3


def test_the_guard_refuses_the_step_before_touching_the_weights():
    torch.manual_seed(0)
    trainer = Trainer(build("course"), TrainConfig(epochs=1, batch_size=2), steps_per_epoch=1)
    before = [p.data.clone() for p in trainer.net.parameters()]
    noisy = torch.full((2, 3, 8, 8), float("nan"))
    with pytest.raises(DivergedError, match="the loss is nan at epoch 1, step 1"):
        trainer.train_step(noisy, noisy)
    assert all(torch.equal(a, p.data) for a, p in zip(before, trainer.net.parameters()))


def test_no_model_with_nan_weights_is_written_or_loaded(tmp_path, capsys):
    net = build("course")
    net.state_dict()["0.weight"].view(-1)[0] = float("inf")
    with pytest.raises(ModelFileError, match=r"refused to write .*bad\.tn: weights 0\.weight hold NaN or infinite"):
        save_model(net, "course", tmp_path / "bad.tn")
    assert not (tmp_path / "bad.tn").exists()
    payload = {"format": "tinygrad_n2n.n2n/1", "arch": "course", "width": 16, "net": net.state_dict()}
    tn.save(payload, tmp_path / "bad.tn")  # written behind the app's back
    with pytest.raises(ModelFileError, match="hold NaN or infinite values"):
        load_model(tmp_path / "bad.tn")
    image = tmp_path / "in.png"
    image.write_bytes(b"")
    assert cli.main(["denoise", str(image), str(tmp_path / "out.png"), "--model", str(tmp_path / "bad.tn")]) == 2
    assert "NaN or infinite" in capsys.readouterr().err and not (tmp_path / "out.png").exists()


def test_model_train_says_what_the_size_rule_is():
    model = Model("course", device="cpu")
    with pytest.raises(InputError, match=r"multiples of 4 .* got 30×30; crop the pairs, e.g. x\[\.\.\., :28, :28\]"):
        model.train(torch.zeros(4, 3, 30, 30), torch.zeros(4, 3, 30, 30), 1)
