"""Run folders: one run at a time (a lock naming the holder's pid; a killed holder does not block), leftovers of a
killed run removed, unwritable folders found first; --resume applies --epochs/--lr, refuses other changes, writes
into the checkpoint's folder and says when the run is finished; --val-size 0 trains without validation.
"""

from __future__ import annotations

import csv
import math
import os
import signal
import subprocess
import sys

import pytest

from tinygrad_n2n.n2n import cli, run_folder

TINY = ["--train-size", "32", "--val-size", "8", "--batch-size", "16", "--quiet", "--threads", "1"]


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_second_run_in_a_held_folder_fails_naming_the_first_runs_pid(tmp_path, capsys):
    out = tmp_path / "run"
    with run_folder.claim(out):
        code, _, error = _run(["train", "--arch", "course", "--out", str(out), *TINY], capsys)
    assert code == 1 and error.count("\n") == 1
    assert f"{out} is in use by another run (pid {os.getpid()})" in error
    assert sorted(os.listdir(out)) == [".lock"]  # nothing else was written


def test_a_lock_left_by_a_killed_process_does_not_block(tmp_path):
    holder = (
        "import fcntl, os, sys, time\n"
        "handle = open(sys.argv[1], 'a+')\n"
        "fcntl.flock(handle, fcntl.LOCK_EX)\n"
        "handle.write(str(os.getpid())); handle.flush(); print('held', flush=True); time.sleep(60)\n"
    )
    argv = [sys.executable, "-c", holder, str(tmp_path / ".lock")]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "held\n"
    with pytest.raises(run_folder.FolderBusyError, match=f"pid {process.pid}"), run_folder.claim(tmp_path):
        pass
    process.send_signal(signal.SIGKILL)
    process.wait()
    with run_folder.claim(tmp_path):
        assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"


def test_leftover_temporary_files_are_removed_when_the_next_run_starts(tmp_path):
    for name in (".model.tn.0123abcd.tmp", ".checkpoint.tn.deadbeef.tmp", ".notes.tmp", "mine.tmp"):
        (tmp_path / name).write_text("x")
    with run_folder.claim(tmp_path) as removed:
        assert removed == [".checkpoint.tn.deadbeef.tmp", ".model.tn.0123abcd.tmp"]
    assert sorted(os.listdir(tmp_path)) == [".lock", ".notes.tmp", "mine.tmp"]


def test_an_unwritable_out_is_found_before_any_work(tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    code, out, error = _run(["train", "--out", str(tmp_path / "file" / "run"), *TINY], capsys)
    assert code == 2 and "cannot write to" in error and "choose another --out" in error and out == ""


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_is_found_before_any_work(tmp_path, capsys):
    (tmp_path / "ro").mkdir(mode=0o555)
    code, out, error = _run(["train", "--out", str(tmp_path / "ro"), *TINY], capsys)
    assert code == 2 and "Permission denied" in error and out == ""


def _rows(folder) -> list[dict[str, str]]:
    with (folder / "metrics.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_resume_applies_epochs_and_lr_refuses_other_changes_and_knows_a_finished_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert _run(["train", "--arch", "course", "--epochs", "1", "--out", str(out), *TINY], capsys)[0] == 0
    checkpoint, before = str(out / "checkpoint.tn"), (out / "model.tn").read_bytes()

    code, said, _ = _run(["train", "--resume", checkpoint, "--quiet"], capsys)
    assert code == 0 and "already finished its 1 epochs" in said and "--epochs N with N > 1" in said
    assert (out / "model.tn").read_bytes() == before

    for flag, value, theirs in [("--arch", "default", "course"), ("--batch-size", "8", "16"), ("--seed", "3", "0")]:
        code, _, error = _run(["train", "--resume", checkpoint, flag, value], capsys)
        assert code == 2 and f"{flag} {value} differs from the resumed run's {theirs}" in error

    more = ["--epochs", "3", "--lr", "1e-3", "--batch-size", "16"]  # the same batch size may be given
    code, said, _ = _run(["train", "--resume", checkpoint, *more], capsys)
    assert code == 0 and "(of 3 epochs, lr 0.001)" in said  # written into the checkpoint's folder
    lrs = [float(row["lr"]) for row in _rows(out)]
    assert len(lrs) == 3 and lrs[0] == 0  # the first run's cosine ended at 0
    assert lrs[1] == pytest.approx(1e-3 * (1 + math.cos(math.pi * 4 / 6)) / 2)  # as if started with 3 epochs
    assert lrs[2] == pytest.approx(0, abs=1e-12) and (out / "model.tn").read_bytes() != before

    code, _, error = _run(["train", "--resume", checkpoint, "--epochs", "2"], capsys)
    assert code == 2 and "--epochs 2 is fewer than the 3 epochs" in error


def test_val_size_zero_trains_without_validation(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--arch", "course", "--epochs", "1", "--out", str(out), *TINY, "--val-size", "0"]
    code, said, _ = _run(argv, capsys)
    assert code == 0 and "0 validation pairs" in said and "PSNR" not in said
    assert not (out / "samples.png").exists() and "val_psnr" not in _rows(out)[0]
