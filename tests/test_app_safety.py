"""Every file the denoiser app reads refuses code (model files, checkpoints, the course's train/val .pkl files),
and what else the loaders check (the network, its width, finite weights that fit).

Each test plants a pickle whose unpickling runs `os.system("touch MARKER")`, loads it the way the app does,
and asserts the load is refused with a clear error and that the marker file was never created.
`test_the_payload_runs_when_loaded_unsafely` proves the payload is live: an unsafe load does create it.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
import torch
from PIL import Image

import tinygrad_n2n as tn
from tinygrad_n2n.n2n import Model, cli, data
from tinygrad_n2n.n2n.model_file import (
    FORMAT,
    MAX_WIDTH,
    ModelFileError,
    load_model,
    mismatch,
    read_model_file,
    save_model,
)
from tinygrad_n2n.n2n.models import DEFAULT_WIDTH, build


class RunsCode:
    """Unpickles as a call to os.system that creates `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def plant_model_file(path: Path, marker: Path, checkpoint: bool = False) -> Path:
    """A model file (or, with `checkpoint`, a training checkpoint) whose weights carry the payload."""
    payload = {"format": FORMAT, "arch": "course", "width": 32, "net": {"conv.weight": RunsCode(marker)}}
    if checkpoint:
        payload |= {"trainer": {"epoch": 1, "config": {}}, "data": {"source": "default"}}
    torch.save(payload, path)
    return path


def plant_course_folder(folder: Path, marker: Path, bad: str) -> Path:
    """A course data folder whose `bad` file ('train_data.pkl' or 'val_data.pkl') carries the payload."""
    folder.mkdir(exist_ok=True)
    pair = (torch.zeros(2, 3, 8, 8, dtype=torch.uint8), torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
    for name in ("train_data.pkl", "val_data.pkl"):
        torch.save((pair[0], RunsCode(marker)) if name == bad else pair, folder / name)
    return folder


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    path = tmp_path / "code_ran"
    yield path
    assert not path.exists(), "the file's code ran"


def test_the_payload_runs_when_loaded_unsafely(tmp_path):
    marker = tmp_path / "code_ran"
    torch.load(plant_model_file(tmp_path / "model.tn", marker), weights_only=False)
    assert marker.exists()
    marker.unlink()
    torch.load(plant_course_folder(tmp_path / "course", marker, "val_data.pkl") / "val_data.pkl", weights_only=False)
    assert marker.exists()


def test_model_file_with_code_is_refused(tmp_path, marker):
    path = plant_model_file(tmp_path / "model.tn", marker)
    for load in (read_model_file, load_model, Model("course", device="cpu").load_pretrained_model):
        with pytest.raises(ModelFileError, match="refused"):
            load(path)


def test_checkpoint_with_code_is_refused(tmp_path, marker):
    path = plant_model_file(tmp_path / "checkpoint.tn", marker, checkpoint=True)
    with pytest.raises(ModelFileError, match="refused"):
        read_model_file(path)


@pytest.mark.parametrize("bad", ["train_data.pkl", "val_data.pkl"])
def test_course_data_file_with_code_is_refused(tmp_path, marker, bad):
    folder = plant_course_folder(tmp_path / "course", marker, bad)
    with pytest.raises(data.DataError, match=rf"cannot read .*{bad}"):
        data.course_data(folder)
    with pytest.raises(data.DataError, match=rf"cannot read .*{bad}"):
        data.load_data(data.DataSpec(source=str(folder)))


@pytest.mark.parametrize("bad", ["train_data.pkl", "val_data.pkl", "model.tn"])
def test_loaders_stay_safe_when_torch_is_told_to_load_unsafely(tmp_path, marker, monkeypatch, bad):
    """TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 makes torch.load unsafe by default; the loaders pass weights_only=True."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    if bad == "model.tn":
        with pytest.raises(ModelFileError, match="refused"):
            read_model_file(plant_model_file(tmp_path / bad, marker))
    else:
        with pytest.raises(data.DataError, match=f"cannot read .*{bad}"):
            data.course_data(plant_course_folder(tmp_path / "course", marker, bad))


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "--model", "MODEL"],
        ["denoise", "IN", "OUT", "--model", "MODEL", "--quiet"],
        ["train", "--resume", "CHECKPOINT", "--out", "RUN", "--quiet"],
        ["eval", "--data", "COURSE_TRAIN"],
        ["train", "--data", "COURSE_VAL", "--epochs", "1", "--out", "RUN", "--quiet"],
    ],
)
def test_the_cli_refuses_files_with_code_in_one_line(argv, tmp_path, marker, capsys):
    names = {
        "MODEL": plant_model_file(tmp_path / "model.tn", marker),
        "CHECKPOINT": plant_model_file(tmp_path / "checkpoint.tn", marker, checkpoint=True),
        "COURSE_TRAIN": plant_course_folder(tmp_path / "train", marker, "train_data.pkl"),
        "COURSE_VAL": plant_course_folder(tmp_path / "val", marker, "val_data.pkl"),
        "IN": tmp_path / "in.png",
        "OUT": tmp_path / "out.png",
        "RUN": tmp_path / "run",
    }
    Image.new("RGB", (8, 8)).save(names["IN"])
    assert cli.main([str(names.get(arg, arg)) for arg in argv] + ["--threads", "1"]) == 2
    error = capsys.readouterr().err
    assert ("refused" in error or "cannot read" in error) and error.count("\n") == 1, error
    assert not (tmp_path / "out.png").exists() and not (tmp_path / "run" / "model.tn").exists()


# ---------------------------------------------------------------- what else the loaders check


def test_refusals_name_the_file_and_the_reason_once(tmp_path, marker):
    path = plant_model_file(tmp_path / "model.tn", marker)
    with pytest.raises(ModelFileError) as refused:
        read_model_file(path)
    assert str(refused.value).startswith(f"cannot read {path} as a model file (UnsafeCheckpointError: refused to load")


def test_course_files_of_the_wrong_structure_name_the_pair_they_should_hold(tmp_path):
    pair = (torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 8, 8))
    for bad, names in (("train_data.pkl", "(noisy_a, noisy_b)"), ("val_data.pkl", "(noisy, clean)")):
        folder = tmp_path / bad.removesuffix(".pkl")
        folder.mkdir()
        for name in ("train_data.pkl", "val_data.pkl"):
            torch.save({"x": 1} if name == bad else pair, folder / name)
        with pytest.raises(data.DataError, match=re.escape(f"{folder / bad} must hold a pair of tensors {names}, got")):
            data.course_data(folder)


def test_course_files_saved_on_a_gpu_load_on_the_cpu(tmp_path, monkeypatch):
    """A .pkl written on a CUDA machine (its tensors tagged 'cuda:0') loads here: the loader maps it to the CPU."""
    pair = (torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.ones(2, 3, 4, 4, dtype=torch.uint8))
    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        for name in ("train_data.pkl", "val_data.pkl"):
            torch.save(pair, tmp_path / name)
    (noisy_a, noisy_b), (_, clean) = data.course_data(tmp_path)
    assert noisy_a.device.type == "cpu" and torch.equal(noisy_b, pair[1]) and torch.equal(clean, pair[1])


def save_payload(path: Path, **changes) -> Path:
    """A model file (tn.save, with its digest) of a default U-Net of width 4, with `changes` to its dict."""
    torch.manual_seed(0)
    payload = {"format": FORMAT, "arch": "default", "width": 4, "net": build("default", 4).state_dict()} | changes
    tn.save({key: value for key, value in payload.items() if value is not None}, path)
    return path


def test_model_files_keep_the_network_and_its_width(tmp_path):
    torch.manual_seed(1)
    net = build("default", 4)
    save_model(net, "default", tmp_path / "model.tn", trainer={"epoch": 3})
    payload = read_model_file(tmp_path / "model.tn")
    assert (payload["format"], payload["arch"], payload["width"], payload["trainer"]) == (
        FORMAT,
        "default",
        4,
        {"epoch": 3},
    )
    loaded, _ = load_model(tmp_path / "model.tn", "meta")
    assert loaded.width == 4 and all(p.data.device.type == "meta" for p in loaded.parameters())
    loaded, _ = load_model(tmp_path / "model.tn")
    for (name, want), got in zip(net.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(want, got), name


def test_a_network_without_a_width_is_saved_with_the_default_width(tmp_path):
    save_model(build("course"), "course", tmp_path / "course.tn")
    net, payload = load_model(tmp_path / "course.tn")
    assert payload["width"] == DEFAULT_WIDTH and net.num_parameters() == 38_723


def test_a_model_file_without_a_width_is_the_default_width(tmp_path):
    net, payload = load_model(save_payload(tmp_path / "model.tn", width=None, net=build("default").state_dict()))
    assert "width" not in payload and net.width == DEFAULT_WIDTH


@pytest.mark.parametrize("width", [1, MAX_WIDTH])
def test_widths_at_the_bounds_are_accepted(tmp_path, width):
    assert read_model_file(save_payload(tmp_path / "model.tn", width=width, net={}))["width"] == width


@pytest.mark.parametrize("width", [0, MAX_WIDTH + 1, -3, True, 2.0, "16"])
def test_bad_widths_are_refused(tmp_path, width):
    path = save_payload(tmp_path / "model.tn", width=width, net={})
    with pytest.raises(ModelFileError, match=re.escape(f"bad network width {width!r} (a whole number from 1 to 1024)")):
        read_model_file(path)


@pytest.mark.parametrize(
    "changes",
    [{"format": "another/1"}, {"format": None}, {"net": [1, 2]}, {"net": None}, {"format": "another/1", "net": {}}],
)
def test_files_that_are_not_denoiser_files_are_refused(tmp_path, changes):
    with pytest.raises(
        ModelFileError, match=re.escape("is not a tinygrad_n2n denoiser file (format tinygrad_n2n.n2n/1)")
    ):
        read_model_file(save_payload(tmp_path / "model.tn", **changes))
    tn.save([1, 2], tmp_path / "list.tn")
    with pytest.raises(ModelFileError, match="is not a tinygrad_n2n denoiser file"):
        read_model_file(tmp_path / "list.tn")


def test_weights_that_are_not_finite_are_refused_both_ways(tmp_path):
    net = build("default", 4)
    net.state_dict()["dec0.2.weight"].view(-1)[0] = float("nan")
    with pytest.raises(
        ModelFileError, match=r"refused to write .*: weights dec0\.2\.weight hold NaN or infinite values"
    ):
        save_model(net, "default", tmp_path / "model.tn")
    assert not (tmp_path / "model.tn").exists()
    with pytest.raises(
        ModelFileError, match=r"weights dec0\.2\.weight hold NaN or infinite values \(a diverged run\?\)"
    ):
        read_model_file(save_payload(tmp_path / "nan.tn", net=net.state_dict()))


def test_weights_that_do_not_fit_are_counted_and_named():
    expected = {name: torch.zeros(2) for name in "abcdefg"}
    assert mismatch(expected, dict(expected)) == ""
    assert mismatch(expected, {name: expected[name] for name in "defg"}) == "3 weights missing (a, b, c)"
    found = {"b": torch.zeros(3), "c": "text", "x": torch.zeros(2)}
    assert mismatch(expected, found) == (
        "5 weights missing (a, d, e and 2 more); 1 unexpected weights (x); 2 of the wrong shape or type (b, c)"
    )


def test_a_model_file_for_another_network_is_refused(tmp_path):
    path = save_payload(tmp_path / "model.tn", width=8)
    with pytest.raises(ModelFileError, match=r"do not fit the 'default' network: \d+ of the wrong shape or type \("):
        load_model(path)
