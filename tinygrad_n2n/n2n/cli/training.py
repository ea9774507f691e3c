"""`tinygrad-n2n train`: a new run or a resumed one, into an output folder that this run holds alone."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import torch

from .. import data, run_folder
from ..inference import pick_device
from ..model_file import ModelFileError, read_model_file
from ..pipeline import CHECKPOINT, CURVES, METRICS, MODEL, SAMPLES, Progress, RunConfig, run_training
from ..train import DivergedError, TrainConfig, TrainingInterrupted

TRAIN_DEFAULTS: dict[str, Any] = {
    "arch": "default",
    "epochs": 6,
    "batch_size": 32,
    "optimizer": "adam",
    "lr": 3e-3,
    "schedule": "cosine",
    "data": "default",
    "train_size": 20_000,
    "val_size": 1000,
    "noise": "gaussian:25",
    "seed": 0,
}
TRAIN_FIELDS = ("epochs", "batch_size", "lr", "optimizer", "schedule", "seed")
RESUMABLE = ("epochs", "lr")  # the flags a resumed run applies; the others must match the run's own
STATE_KEYS = ("net", "optimizer", "scheduler", "config", "epoch", "step", "loss_sum", "history", "torch_rng")


class UsageError(ValueError):
    """A user mistake the CLI reports as one line (exit code 2)."""


def setup_threads(threads: int | None) -> None:
    """--threads N: torch's CPU thread count (None leaves torch's choice)."""
    if threads is not None:
        if threads < 1:
            raise UsageError(f"--threads must be ≥ 1, got {threads}")
        torch.set_num_threads(threads)


def train_command(args: argparse.Namespace) -> int:
    """Train a denoiser; writes model.tn, checkpoint.tn, metrics.csv, curves.png, samples.png in the run folder."""
    setup_threads(args.threads)
    given = {name: getattr(args, name) for name in TRAIN_DEFAULTS if getattr(args, name) is not None}
    if args.resume:
        config, state = resumed_run(args.resume, given, args.device)
        out = Path(args.out) if args.out else Path(args.resume).parent
    else:
        settings = {**TRAIN_DEFAULTS, **given}
        train_config = TrainConfig(**{name: settings[name] for name in TRAIN_FIELDS})
        spec = data.DataSpec(*(settings[name] for name in ("data", "train_size", "val_size", "noise", "seed")))
        config, state = RunConfig(settings["arch"], train_config, spec, args.device), None
        out = Path(args.out or "runs/train")
    pick_device(config.device)  # cheap checks before the folder is made: a mistake leaves nothing behind
    if config.data.source != "default" and not Path(config.data.source).is_dir():
        raise data.DataError(f"no such folder: {config.data.source} (--data)")
    with run_folder.claim(out) as removed:
        if removed:
            print(f"removed {len(removed)} temporary files an interrupted run left in {out}")
        return train(config, out, quiet=args.quiet, state=state, resumed_from=args.resume)


def resumed_run(checkpoint: str, given: dict[str, Any], device: str) -> tuple[RunConfig, dict[str, Any]]:
    """A checkpoint.tn of a train run and the flags given with --resume -> (RunConfig, the trainer state).

    --epochs (the run's new total) and --lr apply; any other flag must equal the run's own (UsageError).
    """
    saved = read_model_file(checkpoint)
    if "trainer" not in saved:
        raise UsageError(f"{checkpoint} holds no training state (use the checkpoint.tn of a train run)")
    try:
        state, config = saved["trainer"], TrainConfig(**saved["trainer"]["config"])
        spec = data.DataSpec(**saved["data"])
        if missing := [key for key in STATE_KEYS if key not in state]:
            raise KeyError(", ".join(missing))
        done = int(state["epoch"])
    except (KeyError, TypeError, ValueError) as error:
        detail = f"{type(error).__name__}: {error}"
        raise ModelFileError(f"{checkpoint}: incomplete training state ({detail}); start a new run") from None
    run = {"arch": saved["arch"], **vars(config), "data": spec.source, "train_size": spec.train_size}
    run |= {"val_size": spec.val_size, "noise": spec.noise}
    for name, value in given.items():
        if name not in RESUMABLE and not _same(name, value, run[name]):
            flag = "--" + name.replace("_", "-")
            raise UsageError(
                f"{flag} {value} differs from the resumed run's {run[name]}; a resumed run keeps it "
                f"(only --epochs and --lr change): drop {flag}, or start a new run with another --out"
            )
    if given.get("epochs", config.epochs) < done:
        raise UsageError(f"--epochs {given['epochs']} is fewer than the {done} epochs {checkpoint} has done")
    config.epochs, config.lr = given.get("epochs", config.epochs), given.get("lr", config.lr)
    return RunConfig(saved["arch"], config, spec, device), state


def _same(name: str, given: Any, saved: Any) -> bool:
    """Whether a flag's value equals the run's (paths compared normalised, noise specs by meaning)."""
    if name == "noise":
        return data.Noise.parse(given) == data.Noise.parse(saved)
    if name == "data":
        return os.path.normpath(given) == os.path.normpath(saved)
    return given == saved


def train(
    config: RunConfig,
    out: Path,
    quiet: bool = False,
    state: dict[str, Any] | None = None,
    resumed_from: str | None = None,
) -> int:
    """Load the data, run the pipeline into `out` (held by the caller) and print what happened -> exit code.

    state: the trainer state of the checkpoint `resumed_from`, to continue that run. A finished run is said
    so and left alone. Divergence raises RuntimeError naming the epoch, the step and the checkpoint kept.
    """
    if state is not None and state["epoch"] >= config.train.epochs and (out / MODEL).exists():
        done = state["epoch"]
        print(
            f"{resumed_from}: the run already finished its {done} epochs (its model is {out / MODEL}); "
            f"to train on, pass --epochs N with N > {done}"
        )
        return 0
    started = time.perf_counter()
    dataset = data.load_data(config.data)
    val_pairs = len(dataset.val[0]) if dataset.val is not None else 0
    print(
        f"data: {dataset.description}: {len(dataset.train[0])} training pairs, {val_pairs} validation pairs "
        f"({config.data.noise})"
    )
    if state is not None:
        print(
            f"resuming {resumed_from} at epoch {state['epoch'] + 1}, step {state['step']} "
            f"(of {config.train.epochs} epochs, lr {config.train.lr:g})"
        )
    try:
        trainer = run_training(config, dataset, out, Progress(bar=not quiet, log=print), resume=state)
    except TrainingInterrupted as stop:
        print(f"\n{stop}; saved {out / CHECKPOINT}; continue with: train --resume {out / CHECKPOINT}")
        return 130
    except DivergedError as error:
        checkpoint = out / CHECKPOINT
        kept = (
            f"kept the last good {checkpoint}: resume it with a lower --lr"
            if checkpoint.exists()
            else "no checkpoint was written: start again with a lower --lr"
        )
        raise RuntimeError(f"{error}; {kept}") from None
    last = trainer.history[-1] if trainer.history else {}
    score = ""
    if "val_psnr" in last:
        score = f": validation PSNR {last['val_psnr']:.2f} dB (noisy input {last['noisy_psnr']:.2f} dB)"
    print(f"done in {time.perf_counter() - started:.0f} s{score}")
    written = (MODEL, CHECKPOINT, METRICS, CURVES) + ((SAMPLES,) if dataset.val is not None else ())
    print(f"wrote {', '.join(str(out / name) for name in written)}")
    return 0
