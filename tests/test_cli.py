"""The `tinygrad-n2n` command line on tiny settings: outputs, resume, eval, denoise, graph, and one-line errors."""

from __future__ import annotations

import csv
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from tinygrad_n2n.n2n import cli, data
from tinygrad_n2n.n2n.inference import denoise_batches
from tinygrad_n2n.n2n.metrics import psnr
from tinygrad_n2n.n2n.model_file import load_model
from tinygrad_n2n.n2n.train import Trainer

TINY = ["--train-size", "64", "--val-size", "16", "--batch-size", "16", "--quiet", "--threads", "1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert cli.main(["train", "--arch", "course", "--epochs", "2", "--out", str(out), *TINY]) == 0
    return out


def test_train_writes_model_checkpoint_metrics_and_pictures(trained):
    for name in ("model.tn", "checkpoint.tn", "metrics.csv", "curves.png", "samples.png"):
        assert (trained / name).stat().st_size > 0, name
    with (trained / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert Image.open(trained / "curves.png").format == "PNG"
    net, payload = load_model(trained / "model.tn")
    assert payload["arch"] == "course" and net.num_parameters() == 38_723
    # the scores are the PSNRs of the run's 16 validation pairs, recomputed here from the saved model
    noisy, clean = data.default_val(16)
    assert float(rows[-1]["noisy_psnr"]) == pytest.approx(psnr(noisy, clean), abs=1e-9)
    assert float(rows[-1]["val_psnr"]) == pytest.approx(psnr(denoise_batches(net, noisy), clean), abs=1e-6)
    assert 19.5 < psnr(noisy, clean) < 21.5


def test_ctrl_c_saves_a_checkpoint_and_resume_ends_where_an_uninterrupted_run_ends(trained, tmp_path, monkeypatch):
    original, calls = Trainer.train_step, []

    def step_then_interrupt(self, x, y):
        calls.append(1)
        loss = original(self, x, y)
        if len(calls) == 6:  # 4 steps per epoch: stop in the middle of epoch 2
            signal.raise_signal(signal.SIGINT)
        return loss

    monkeypatch.setattr(Trainer, "train_step", step_then_interrupt)
    out = tmp_path / "run"
    assert cli.main(["train", "--arch", "course", "--epochs", "2", "--out", str(out), *TINY]) == 130
    assert not (out / "model.tn").exists()
    monkeypatch.setattr(Trainer, "train_step", original)
    assert cli.main(["train", "--resume", str(out / "checkpoint.tn"), "--out", str(out), "--threads", "1"]) == 0
    resumed, _ = load_model(out / "model.tn")
    uninterrupted, _ = load_model(trained / "model.tn")
    for (name, value), expected in zip(resumed.state_dict().items(), uninterrupted.state_dict().values()):
        assert torch.equal(value, expected), name


def test_eval_prints_noisy_and_model_psnr(trained, capsys):
    assert cli.main(["eval", "--model", str(trained / "model.tn"), "--val-size", "16", "--threads", "1"]) == 0
    printed = re.findall(r"^  (\w+) +([0-9.]+) dB +\(([+-][0-9.]+) dB over", capsys.readouterr().out, flags=re.M)
    noisy, clean = data.default_val(16)
    net, _ = load_model(trained / "model.tn")
    noisy_psnr, model_psnr = psnr(noisy, clean), psnr(denoise_batches(net, noisy), clean)
    expected = [("noisy", noisy_psnr, 0.0), ("model", model_psnr, model_psnr - noisy_psnr)]
    assert [name for name, _, _ in printed] == ["noisy", "model"]
    for (_, value, gain), (_, want, want_gain) in zip(printed, expected):
        assert float(value) == pytest.approx(want, abs=0.0051) and float(gain) == pytest.approx(want_gain, abs=0.0051)


def test_denoise_keeps_the_size_of_any_image(trained, tmp_path, capsys):
    noisy = np.random.default_rng(0).integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
    Image.fromarray(noisy).save(tmp_path / "in.png")
    args = ["denoise", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--model", str(trained / "model.tn")]
    assert cli.main(args) == 0
    assert Image.open(tmp_path / "out.png").size == (53, 37)
    assert "53×37" in capsys.readouterr().out


def test_graph_writes_dot_source_without_graphviz(tmp_path):
    assert cli.main(["graph", "--arch", "course", "--out", str(tmp_path / "g.dot")]) == 0
    source = (tmp_path / "g.dot").read_text()
    assert source.startswith("digraph") and "Upsampling" in source and "weight" in source


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot (CI installs it)")
def test_graph_renders_svg(tmp_path):
    assert cli.main(["graph", "--out", str(tmp_path / "g.svg")]) == 0
    assert "<svg" in (tmp_path / "g.svg").read_text()


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["eval", "--model", "missing.tn"], "no such model file"),
        (["denoise", "missing.png", "OUT_PNG", "--model", "MODEL"], "missing.png"),
        (["denoise", "IN", "out.gif"], "must end in .png"),
        (["train", "--epochs", "0", "--out", "OUT"], "--epochs"),
        (["train", "--noise", "gaussian:-3", "--out", "OUT"], "gaussian"),
        (["train", "--data", "no/such/folder", "--out", "OUT"], "no/such/folder"),
        (["eval", "--model", "CORRUPT"], "cannot read"),
    ],
)
def test_user_mistakes_are_one_line_with_exit_code_2(argv, fragment, trained, tmp_path, capsys):
    (tmp_path / "corrupt.tn").write_bytes(b"not a checkpoint")
    (tmp_path / "in.png").write_bytes(b"")
    names = {"OUT": str(tmp_path / "out"), "MODEL": str(trained / "model.tn"), "CORRUPT": str(tmp_path / "corrupt.tn")}
    names.update(IN=str(tmp_path / "in.png"), OUT_PNG=str(tmp_path / "out.png"))
    argv = [names.get(arg, arg) for arg in argv]
    assert cli.main([*argv, "--threads", "1"]) == 2
    error = capsys.readouterr().err
    assert fragment in error and error.count("\n") == 1 and "Traceback" not in error
    written = [path.name for path in tmp_path.rglob("*") if path.is_file()]
    assert sorted(written) == ["corrupt.tn", "in.png"]  # no output, not even a partial one


def test_denoise_of_a_corrupt_image_leaves_no_output(trained, tmp_path, capsys):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    out = tmp_path / "out.png"
    assert cli.main(["denoise", str(tmp_path / "broken.png"), str(out), "--model", str(trained / "model.tn")]) == 2
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "broken.png"]
    assert "broken.png" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["", "train", "eval", "denoise", "graph", "demo"])
def test_help_everywhere(command):
    argv = [sys.executable, "-m", "tinygrad_n2n", *([command] if command else []), "--help"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and "usage: tinygrad-n2n" in result.stdout


def test_training_uses_only_the_engine(trained):
    net, _ = load_model(trained / "model.tn")
    assert all(not p.data.requires_grad and p.data.grad_fn is None for p in net.parameters())
    assert all(p.data.dtype == torch.float32 for p in net.parameters())
