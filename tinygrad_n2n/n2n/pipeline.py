"""The one training pipeline, `run_training`: the `train` and `demo` commands and `Model.train` all go through it.

Read top to bottom: pick the device, build the network (or continue one), make the trainer (optimizer and
schedule), restore a checkpoint when resuming, train with a checkpoint after every epoch, then write the
model and a grid of validation samples. Which pairs to train on is the caller's business (`data.load_data`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..nn import Module
from ..optim import Optimizer
from .data import Dataset, DataSpec
from .inference import InputError, denoise_batches, pick_device
from .model_file import save_model
from .models import DOWNSAMPLING, build
from .report import save_curves, save_grid, write_csv
from .train import TrainConfig, Trainer, TrainingInterrupted

MODEL, CHECKPOINT, METRICS, CURVES, SAMPLES = "model.tn", "checkpoint.tn", "metrics.csv", "curves.png", "samples.png"


@dataclass
class RunConfig:
    """A training run as plain data: which network, its hyper-parameters, the data's recipe and the device.

    `data` is stored in every checkpoint so that a resumed run regenerates the same pairs; it may be None
    when the caller brings its own tensors and writes no files (`Model.train`).
    """

    arch: str = "default"
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataSpec | None = None
    device: str | torch.device = "auto"


def _silent(message: str) -> None:
    """The default log: say nothing."""


@dataclass(frozen=True)
class Progress:
    """How a run reports: `bar` draws tqdm's bar (when tqdm is installed); `log` receives one line per event."""

    bar: bool = True
    log: Callable[[str], None] = _silent


def run_training(
    config: RunConfig,
    data: Dataset,
    out_dir: Path | None = None,
    progress: Progress | None = None,
    *,
    net: Module | None = None,
    optimizer: Optimizer | None = None,
    resume: dict[str, Any] | None = None,
) -> Trainer:
    """Train a denoiser on data.train, scoring data.val after each epoch -> the Trainer (.net, .history).

    data.train: (input, target), each (N, 3, H, W) in [0, 255]; data.val: (noisy, clean) (M, 3, h, w) or None.
    net, optimizer: continue training these (`Model.train`); otherwise a fresh `config.arch` network seeded
    by config.train.seed. resume: a `Trainer.state_dict()` (a checkpoint's "trainer") to continue from.
    With `out_dir` (an existing folder; needs config.data): checkpoint.tn, metrics.csv and curves.png after
    every epoch, model.tn and samples.png at the end. Ctrl-C: saves checkpoint.tn, raises TrainingInterrupted.
    A NaN or infinite loss raises DivergedError and writes nothing: the last checkpoint.tn stays the last good one.
    The caller holds `out_dir` (`run_folder.claim`), so that no other run writes there meanwhile.
    """
    progress = progress or Progress()
    if out_dir is not None and config.data is None:
        raise ValueError("run_training: writing to out_dir needs config.data (checkpoints store it for resuming)")
    device = pick_device(config.device)
    check_trainable(*data.train)
    if net is None:
        torch.manual_seed(config.train.seed)
        net = build(config.arch).to(device)
    inputs, targets = data.train
    steps_per_epoch = -(-len(inputs) // config.train.batch_size)
    trainer = Trainer(net, config.train, steps_per_epoch, device, optimizer=optimizer)
    if resume is not None:
        trainer.load_state_dict(resume)
    progress.log(f"model: {config.arch}, {net.num_parameters():,} parameters, on {device}; {config.train}")
    on_epoch = None if out_dir is None else lambda current: _save_epoch(current, config, out_dir)
    try:
        trainer.fit(inputs, targets, data.val, progress=progress.bar, on_epoch=on_epoch)
    except TrainingInterrupted:
        if out_dir is not None:
            _save_checkpoint(trainer, config, out_dir)
        raise
    if out_dir is not None:
        _save_results(trainer, config, data, out_dir)
    return trainer


def check_trainable(inputs: torch.Tensor, targets: torch.Tensor) -> None:
    """Training pairs: (N, 3, H, W) each, N ≥ 1, H and W multiples of DOWNSAMPLING; else InputError saying so."""
    if len(inputs) == 0:
        raise InputError("train: there are no training pairs")
    height, width = inputs.shape[-2:]
    if height % DOWNSAMPLING or width % DOWNSAMPLING:
        raise InputError(
            f"train: image height and width must be multiples of {DOWNSAMPLING} (the networks halve the resolution "
            f"twice), got {height}×{width}; crop the pairs, e.g. x[..., :{height // DOWNSAMPLING * DOWNSAMPLING}, "
            f":{width // DOWNSAMPLING * DOWNSAMPLING}]"
        )


def _save_checkpoint(trainer: Trainer, config: RunConfig, out_dir: Path) -> None:
    """out_dir/checkpoint.tn: the network, the trainer's whole state and the data's recipe (`train --resume`)."""
    save_model(trainer.net, config.arch, out_dir / CHECKPOINT, trainer=trainer.state_dict(), data=asdict(config.data))


def _save_epoch(trainer: Trainer, config: RunConfig, out_dir: Path) -> None:
    """After each epoch: the checkpoint, the metrics so far and their curves."""
    _save_checkpoint(trainer, config, out_dir)
    write_csv(trainer.history, out_dir / METRICS)
    save_curves(trainer.history, out_dir / CURVES, f"{config.arch} network, {config.data.noise} noise")


def _save_results(trainer: Trainer, config: RunConfig, data: Dataset, out_dir: Path) -> None:
    """At the end: model.tn (weights, data recipe, history) and samples.png (noisy / denoised / clean rows)."""
    save_model(trainer.net, config.arch, out_dir / MODEL, data=asdict(config.data), history=trainer.history)
    if data.val is not None:
        noisy, clean = data.val
        denoised = denoise_batches(trainer.net, noisy, 256, trainer.device)
        save_grid({"noisy": noisy, "denoised": denoised, "clean": clean}, out_dir / SAMPLES)
