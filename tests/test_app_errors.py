"""One-line errors: every CLI failure is one line on stderr with exit code 2 (usage) or 1 (runtime), no traceback,
and nothing written; bad model and checkpoint files are explained, a long key list summarised.
"""

from __future__ import annotations

import pytest
import torch
from PIL import Image

import tinygrad_n2n as tn
from tinygrad_n2n.n2n import cli, data
from tinygrad_n2n.n2n.model_file import FORMAT, PRETRAINED
from tinygrad_n2n.n2n.models import build

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


def _run(argv: list[str], capsys) -> tuple[int, str]:
    code = cli.main(argv)
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error, error
    return code, error


@pytest.mark.parametrize(
    ("argv", "code", "fragment"),
    [
        pytest.param(["train", "--device", "cuda"], 2, "CUDA is not available", marks=NO_CUDA),
        (["eval", "--device", "tpu:9"], 2, "unknown device 'tpu:9'"),
        (["train", "--train-size", "0"], 2, "argument --train-size: must be at least 1, got 0"),
        (["train", "--noise", "gaussian:1.2.3"], 2, "bad noise spec 'gaussian:1.2.3'"),
        (["train", "--noise", "gaussian:" + "9" * 400], 2, "noise level must be finite"),
        (["train", "--seed", str(2**64)], 2, "argument --seed: must be between 0 and 4294967295"),
        (["train", "--epochs", "2.5"], 2, "expected a whole number, got '2.5'"),
        (["train", "--threads", "0"], 2, "argument --threads"),
        (["eval", "--val-size", "0"], 2, "argument --val-size: must be at least 1"),
        (["demo", "--train-size", "0"], 2, "argument --train-size: must be at least 1"),
        (["graph", "--out", "OUT/g.xyz"], 2, "--out must end in .svg, .png, .pdf, .dot, .gv; got 'g.xyz'"),
        (["graph", "--out", "OUT/g"], 2, "got 'g'"),
        (["denoise", "IN", "OUT/denoised"], 2, "output file must end in .png"),
        (["denoise", "IN", "OUT/x.gif"], 2, "got 'x.gif'"),
        (["frobnicate"], 2, "invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors_are_one_line(argv, code, fragment, tmp_path, capsys):
    Image.new("RGB", (8, 8)).save(tmp_path / "in.png")
    argv = [arg.replace("OUT", str(tmp_path / "out")).replace("IN", str(tmp_path / "in.png")) for arg in argv]
    exit_code, error = _run(argv, capsys)
    assert exit_code == code and fragment in error
    assert not (tmp_path / "out").exists()


def _model_file(path, **changes) -> str:
    net = build("course")
    payload = {"format": FORMAT, "arch": "course", "width": 16, "net": net.state_dict(), **changes}
    tn.save({key: value for key, value in payload.items() if value is not None}, path)
    return str(path)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"arch": "transformer"}, "unknown network 'transformer' (this version knows default, course)"),
        ({"arch": "default", "width": "wide"}, "bad network width 'wide'"),
        ({"arch": "default", "width": -3}, "bad network width -3"),
        ({"net": {"0.weight": torch.zeros(1)}}, "not fit the 'course' network: 7 weights missing (0.bias, 2.weight"),
        ({"net": "weights"}, "is not a tinygrad_n2n denoiser file"),
        ({"format": None}, "is not a tinygrad_n2n denoiser file"),
    ],
)
def test_bad_model_files_are_explained_in_one_line(changes, fragment, tmp_path, capsys):
    path = _model_file(tmp_path / "bad.tn", **changes)
    code, error = _run(["eval", "--model", path, "--val-size", "4"], capsys)
    assert code == 2 and fragment in error and "bad.tn" in error


def test_twenty_two_mismatched_keys_are_summarised(tmp_path, capsys):
    """The default U-Net's 22 weights, loaded into the course network: one line, not 22."""
    path = _model_file(tmp_path / "swapped.tn", net=tn.load(PRETRAINED)["net"])
    code, error = _run(["eval", "--model", path, "--val-size", "4"], capsys)
    assert code == 2 and "8 weights missing (0.weight, 0.bias, 2.weight and 5 more)" in error
    assert "22 unexpected weights (enc0.0.weight, enc0.0.bias, enc0.2.weight and 19 more)" in error


def test_a_checkpoint_with_missing_training_state_is_explained(tmp_path, capsys):
    path = _model_file(tmp_path / "checkpoint.tn", trainer={"config": {"epochs": 1}}, data={"source": "default"})
    code, error = _run(["train", "--resume", path, "--quiet"], capsys)
    assert code == 2 and "incomplete training state" in error and "checkpoint.tn" in error


def test_ctrl_c_before_training_starts_is_one_line_with_code_130(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(data, "load_data", interrupted)
    code, error = _run(["train", "--out", str(tmp_path / "run"), "--quiet"], capsys)
    assert code == 130 and error == "tinygrad-n2n train: interrupted\n"


def test_an_unexpected_failure_is_still_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(data, "load_data", lambda spec: 1 / 0)
    code, error = _run(["train", "--out", str(tmp_path / "run"), "--quiet"], capsys)
    assert code == 1 and error.startswith("tinygrad-n2n train: failed: internal error: division by zero")
    monkeypatch.setenv("TINYGRAD_N2N_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli.main(["train", "--out", str(tmp_path / "run"), "--quiet"])
