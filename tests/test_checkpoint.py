"""tn.save / tn.load: round trips, safety (no code runs), atomic writes and their modes, corrupt files, exact resume."""

from __future__ import annotations

import os
import pickle
import re
import stat
import struct
import zipfile

import pytest
import torch

import tinygrad_n2n as tn
from tinygrad_n2n import nn, optim, serialization
from tinygrad_n2n.n2n.report import write_csv
from tinygrad_n2n.viz import draw_graph, render_graph


def _model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)).double()


def test_round_trip_of_nested_state(tmp_path):
    model = _model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(2, 1, 4, 4, dtype=torch.float64)).sum().backward()
    opt.step()
    payload = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 3,
        "history": [0.5, 0.25],
        "note": "ok",
        "engine": tn.Tensor(torch.arange(3.0)),
        "param": model[0].weight,
    }
    path = tmp_path / "ckpt.tn"
    tn.save(payload, path)
    loaded = tn.load(path)
    assert loaded["epoch"] == 3 and loaded["history"] == [0.5, 0.25] and loaded["note"] == "ok"
    assert type(loaded["engine"]) is torch.Tensor and torch.equal(loaded["engine"], torch.arange(3.0))
    assert type(loaded["param"]) is torch.Tensor and not loaded["param"].requires_grad
    fresh = _model()
    fresh.load_state_dict(loaded["model"])
    assert all(torch.equal(a.data, b.data) for a, b in zip(model.parameters(), fresh.parameters()))
    assert torch.equal(loaded["optimizer"]["state"][0]["exp_avg"], opt.state[model[0].weight]["exp_avg"])
    assert torch.load(path, weights_only=True)["epoch"] == 3, "the file is an ordinary torch checkpoint"
    assert os.listdir(tmp_path) == ["ckpt.tn"], "no temporary files are left behind"


def test_map_location_and_cpu_storage(tmp_path):
    path = tmp_path / "ckpt.tn"
    tn.save({"w": torch.ones(2), "nested": [{"b": torch.zeros(1)}]}, path)
    assert tn.load(path, map_location="cpu")["w"].device.type == "cpu"
    assert tn.load(path, map_location=torch.device("cpu"))["w"].device.type == "cpu"
    on_meta = tn.load(path, map_location="meta")  # a non-CPU device that exists everywhere
    assert on_meta["w"].device.type == "meta" and on_meta["nested"][0]["b"].device.type == "meta"
    assert tn.load(path, map_location={"cpu": "meta"})["w"].device.type == "meta"
    model = nn.Linear(2, 1).to("meta")
    model.load_state_dict({"weight": torch.ones(1, 2), "bias": torch.zeros(1)})
    assert model.weight.device.type == "meta", "loading keeps the model's device"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            tn.load(path, map_location="cuda")


def test_torch_model_checkpoint_loads_into_our_model(tmp_path):
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1))
    torch.save(theirs.state_dict(), tmp_path / "torch.pt")
    ours = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
    ours.load_state_dict(tn.load(tmp_path / "torch.pt"))
    x = torch.randn(4, 3)
    torch.testing.assert_close(ours(x).data, theirs(x).detach(), atol=1e-6, rtol=0)


class _Payload:
    """Unpickling this would run a shell command creating a file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("fmt", ["plain_pickle", "torch_zip"])
def test_a_pickle_carrying_code_is_refused_and_nothing_runs(tmp_path, fmt):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.tn"
    payload = {"model": {"w": torch.ones(1)}, "x": _Payload(str(marker))}
    if fmt == "plain_pickle":
        path.write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, path)
    with pytest.raises(serialization.UnsafeCheckpointError, match=r"refused to load .*evil\.tn.* nothing from it"):
        tn.load(path)
    assert not marker.exists()
    pickle.loads(pickle.dumps(_Payload(str(tmp_path / "control"))))
    assert (tmp_path / "control").exists(), "control: the payload does run when unpickled unsafely"


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_an_exception_mid_save_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch, error):
    path = tmp_path / "ckpt.tn"
    tn.save({"step": 1, "w": torch.ones(3)}, path)
    original = path.read_bytes()
    folder_while_writing = []

    def failing_writer(payload, handle):
        handle.write(b"PK\x03\x04 half a checkpoint")
        handle.flush()
        folder_while_writing.extend(sorted(os.listdir(tmp_path)))
        raise error

    monkeypatch.setattr(serialization, "_write", failing_writer)
    with pytest.raises(type(error)):
        tn.save({"step": 2, "w": torch.zeros(3)}, path)
    assert len(folder_while_writing) == 2 and folder_while_writing[1] == "ckpt.tn", "a temporary file beside it"
    assert folder_while_writing[0].startswith(".ckpt.tn.") and folder_while_writing[0].endswith(".tmp")
    assert path.read_bytes() == original
    assert tn.load(path)["step"] == 1
    assert os.listdir(tmp_path) == ["ckpt.tn"]


@pytest.fixture
def umask_027():
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def test_every_writer_creates_files_with_the_mode_open_gives(tmp_path, umask_027):
    """Checkpoints, run outputs and rendered graphs all go through serialization.atomic_path: 0o666 & ~umask."""
    tn.save({"w": torch.ones(1)}, tmp_path / "checkpoint.tn")
    write_csv([{"epoch": 1, "train_loss": 0.5}], tmp_path / "metrics.csv")
    render_graph(draw_graph((tn.randn(2, requires_grad=True) * 2).sum()), tmp_path / "graph.dot")
    (tmp_path / "by_open.txt").write_text("the reference")
    modes = {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in tmp_path.iterdir()}
    assert modes == dict.fromkeys(["checkpoint.tn", "metrics.csv", "graph.dot", "by_open.txt"], "0o640")


def test_a_failed_write_leaves_the_old_file_and_no_temporary_and_a_replacement_keeps_the_mode(tmp_path, umask_027):
    path = tmp_path / "metrics.csv"
    path.write_text("old")
    path.chmod(0o600)
    with pytest.raises(OSError, match="disk full"), serialization.atomic_path(path) as temporary:
        with open(temporary, "w") as handle:
            handle.write("half of the new")
        raise OSError("disk full")
    assert os.listdir(tmp_path) == ["metrics.csv"] and path.read_text() == "old"
    with serialization.atomic_path(path) as temporary, open(temporary, "w") as handle:
        handle.write("new")
    assert os.listdir(tmp_path) == ["metrics.csv"] and path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # as open(path, "w") would leave it


def test_unsaveable_objects_are_rejected_before_writing(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['model'\] is a Sequential; a checkpoint holds tensors"):
        tn.save({"model": _model()}, tmp_path / "x.tn")
    assert not (tmp_path / "x.tn").exists()


def test_corrupt_truncated_and_foreign_files_are_clear_errors(tmp_path):
    good = tmp_path / "good.tn"
    tn.save({"w": torch.randn(100)}, good)
    truncated = tmp_path / "truncated.tn"
    truncated.write_bytes(good.read_bytes()[:200])
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a checkpoint\n")
    empty = tmp_path / "empty.tn"
    empty.write_bytes(b"")
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("readme.txt", "an unrelated zip archive")
    for path in (truncated, text, empty, archive):
        with pytest.raises(serialization.CheckpointError, match=re.escape(f"tn.load: '{path}' is not a")):
            tn.load(path)
    with pytest.raises(FileNotFoundError, match=r"no checkpoint file at .*missing\.tn"):
        tn.load(tmp_path / "missing.tn")


def _train(model: nn.Module, opt: optim.Optimizer, scheduler, steps: range, data: torch.Tensor) -> list[float]:
    losses = []
    for step in steps:
        x = data[step % len(data)]
        opt.zero_grad()
        loss = nn.MSELoss()(model(x), x.flatten(1)[:, :3])
        loss.backward()
        opt.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
        ("Adam", {"lr": 0.01, "amsgrad": True}),
        ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    ],
)
def test_training_resumes_exactly_from_a_checkpoint(tmp_path, name, options):
    data = torch.randn(5, 2, 1, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def fresh():
        torch.manual_seed(0)
        model = _model()
        opt = getattr(optim, name)(model.parameters(), **options)
        return model, opt, optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)

    model, opt, scheduler = fresh()
    uninterrupted = _train(model, opt, scheduler, range(20), data)
    expected = [p.data.clone() for p in model.parameters()]

    model, opt, scheduler = fresh()
    first = _train(model, opt, scheduler, range(10), data)
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": scheduler.state_dict()}
    tn.save(state, tmp_path / "resume.tn")
    del model, opt, scheduler

    model, opt, scheduler = fresh()
    _train(model, opt, scheduler, range(1, 4), data)  # perturb everything that the checkpoint must restore
    loaded = tn.load(tmp_path / "resume.tn")
    model.load_state_dict(loaded["model"])
    opt.load_state_dict(loaded["optimizer"])
    scheduler.load_state_dict(loaded["scheduler"])
    second = _train(model, opt, scheduler, range(10, 20), data)
    assert first + second == uninterrupted
    assert all(torch.equal(p.data, e) for p, e in zip(model.parameters(), expected))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_training_state_saves_on_cpu_and_maps_back(tmp_path):
    model = _model().to("cuda")
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(2, 1, 4, 4, dtype=torch.float64, device="cuda")).sum().backward()
    opt.step()
    tn.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "gpu.tn")
    on_cpu = tn.load(tmp_path / "gpu.tn")
    assert all(v.device.type == "cpu" for v in on_cpu["model"].values())
    on_gpu = tn.load(tmp_path / "gpu.tn", map_location="cuda")
    fresh = _model().to("cuda")
    fresh.load_state_dict(on_gpu["model"])
    fresh_opt = optim.Adam(fresh.parameters(), lr=0.01)
    fresh_opt.load_state_dict(on_gpu["optimizer"])
    assert fresh_opt.state[fresh[0].weight]["exp_avg"].device.type == "cuda"
    assert all(torch.equal(a.data, b.data) for a, b in zip(model.parameters(), fresh.parameters()))


# ---------------------------------------------------------------- integrity: digest and size bound


def _tensor_byte_ranges(path) -> list[range]:
    """Where each tensor's bytes lie in the file (stored, uncompressed records of torch's zip)."""
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        records = [record for record in archive.infolist() if "/data/" in record.filename]
    ranges = []
    for record in records:  # a local header: 30 bytes, then the name and the extra field, then the data
        name_length, extra_length = struct.unpack("<HH", raw[record.header_offset + 26 : record.header_offset + 30])
        start = record.header_offset + 30 + name_length + extra_length
        ranges.append(range(start, start + record.compress_size))
    return ranges


def test_every_saved_file_carries_a_digest_and_any_flipped_tensor_byte_is_refused(tmp_path):
    path = tmp_path / "model.tn"
    tn.save({"net": _model().state_dict(), "epoch": 1}, path)
    with zipfile.ZipFile(path) as archive:
        assert any(name.endswith("/" + serialization.DIGEST_RECORD) for name in archive.namelist())
    original = path.read_bytes()
    positions = [position for span in _tensor_byte_ranges(path) for position in span]
    assert len(positions) > 300
    generator = torch.Generator().manual_seed(0)
    for index in torch.randint(0, len(positions), (60,), generator=generator).tolist():
        damaged = bytearray(original)
        damaged[positions[index]] ^= 1 << (index % 8)
        path.write_bytes(bytes(damaged))
        with pytest.raises(serialization.CheckpointError, match=re.escape(f"'{path}' is corrupt")):
            tn.load(path)


def test_a_flipped_byte_anywhere_is_refused_or_changes_nothing(tmp_path):
    path = tmp_path / "ckpt.tn"
    tn.save({"w": torch.arange(64.0), "step": 3}, path)
    original = path.read_bytes()
    for position in range(0, len(original), max(1, len(original) // 150)):
        damaged = bytearray(original)
        damaged[position] ^= 0x10
        path.write_bytes(bytes(damaged))
        try:
            loaded = tn.load(path)
        except serialization.CheckpointError:
            continue
        assert loaded["step"] == 3 and torch.equal(loaded["w"], torch.arange(64.0)), position  # e.g. zip padding


def test_a_compression_bomb_is_refused_from_the_zip_directory_before_reading(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.tn"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb/data.pkl", b"\0" * (16 << 20))  # 16 MiB of zeros: about 16 kB on disk
    assert bomb.stat().st_size < 100_000
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: pytest.fail("read a bomb"))
    with pytest.raises(serialization.CheckpointError, match=r"refused .*bomb\.tn.*16,777,216 bytes uncompressed"):
        tn.load(bomb)


def test_plain_torch_files_load_with_a_note_that_they_are_unverified(tmp_path, caplog):
    torch.save({"w": torch.ones(2)}, tmp_path / "plain.pt")
    with caplog.at_level("WARNING", logger="tinygrad_n2n.serialization"):
        assert torch.equal(tn.load(tmp_path / "plain.pt")["w"], torch.ones(2))
    assert "plain.pt' carries no content digest" in caplog.text
    caplog.clear()
    tn.save({"w": torch.ones(2)}, tmp_path / "ours.tn")
    with caplog.at_level("WARNING", logger="tinygrad_n2n.serialization"):
        tn.load(tmp_path / "ours.tn")
    assert caplog.text == ""


def test_the_shipped_weights_carry_a_digest():
    from tinygrad_n2n.n2n.model_file import PRETRAINED

    assert serialization._verify(str(PRETRAINED)) is True
