"""The Noise2Noise training loop on the engine: seeded batches, Adam/SGD, cosine schedule, resumable state.

All randomness of an epoch (the order of the pairs, flips, which copy is the input) is drawn at the start of
the epoch from a generator seeded by (seed, epoch), so a run stopped after any step and resumed from its
checkpoint continues exactly as if it had never stopped.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import torch

from .. import functional as F
from .._tensor import Tensor
from ..nn import Module
from ..optim import SGD, Adam, Optimizer
from ..optim.lr_scheduler import CosineAnnealingLR
from .inference import denoise_batches, to_unit
from .metrics import psnr
from .progress import progress_bar


@dataclass
class TrainConfig:
    """Hyper-parameters of a run; `schedule` is 'cosine' (per step, to 0) or 'constant'."""

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    schedule: str = "cosine"
    seed: int = 0
    augment: bool = True


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during `fit`: raised after the current step finished, so the trainer's state is consistent."""


class DivergedError(RuntimeError):
    """The loss or the weights became NaN or infinite; `epoch` and `step` (1-based) say where."""

    def __init__(self, what: str, epoch: int, step: int) -> None:
        super().__init__(f"training diverged: {what} at epoch {epoch}, step {step}")
        self.epoch, self.step = epoch, step


def make_optimizer(net: Module, config: TrainConfig) -> Optimizer:
    """Adam (β = 0.9, 0.999) or SGD with momentum 0.9 over the network's parameters."""
    if config.optimizer == "adam":
        return Adam(net.parameters(), lr=config.lr)
    if config.optimizer == "sgd":
        return SGD(net.parameters(), lr=config.lr, momentum=0.9)
    raise ValueError(f"unknown optimizer {config.optimizer!r}; choose adam or sgd")


def epoch_plan(n: int, config: TrainConfig, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The epoch's random choices: order (n,) int64 and flags (n, 3) bool = (flip H, flip W, swap input/target)."""
    generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
    order = torch.randperm(n, generator=generator)
    flags = torch.rand(n, 3, generator=generator) < 0.5
    if not config.augment:
        flags.zero_()
    return order, flags


def augment(a: torch.Tensor, b: torch.Tensor, flags: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample flips and input/target swap. a, b: (B, C, H, W); flags: (B, 3) bool -> (a', b')."""
    flip_h, flip_w, swap = (flags[:, i].view(-1, 1, 1, 1) for i in range(3))
    a, b = torch.where(flip_h, a.flip(2), a), torch.where(flip_h, b.flip(2), b)
    a, b = torch.where(flip_w, a.flip(3), a), torch.where(flip_w, b.flip(3), b)
    return torch.where(swap, b, a), torch.where(swap, a, b)


def batches(
    inputs: torch.Tensor, targets: torch.Tensor, config: TrainConfig, epoch: int, start_step: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The epoch's (input, target) batches from step `start_step` on, as stored (uint8 or [0, 255] floats)."""
    order, flags = epoch_plan(len(inputs), config, epoch)
    for start in range(start_step * config.batch_size, len(inputs), config.batch_size):
        index = order[start : start + config.batch_size]
        yield augment(inputs[index], targets[index], flags[index])


class _DeferredInterrupt:
    """While active (main thread only), Ctrl-C sets a flag instead of raising mid-step."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _DeferredInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class Trainer:
    """Trains `net` on (input, target) pairs with MSE; holds the optimizer, schedule and progress counters.

    `steps_per_epoch` fixes the cosine schedule's length (epochs · steps_per_epoch steps).
    """

    def __init__(
        self,
        net: Module,
        config: TrainConfig,
        steps_per_epoch: int,
        device: Any = "cpu",
        dtype: torch.dtype = torch.float32,
        optimizer: Optimizer | None = None,
    ) -> None:
        self.net, self.config, self.device, self.dtype = net, config, torch.device(device), dtype
        self.steps_per_epoch = steps_per_epoch
        self.optimizer = optimizer or make_optimizer(net, config)
        self.scheduler = None
        if config.schedule == "cosine":
            self.scheduler = CosineAnnealingLR(self.optimizer, T_max=max(1, config.epochs * steps_per_epoch))
        elif config.schedule != "constant":
            raise ValueError(f"unknown schedule {config.schedule!r}; choose cosine or constant")
        self.epoch, self.step, self.loss_sum = 0, 0, 0.0
        self.history: list[dict[str, float]] = []

    def train_step(self, inputs: torch.Tensor, targets: torch.Tensor) -> float:
        """One optimisation step on a batch (B, 3, H, W) in [0, 255]; returns the batch's MSE loss (in [0,1]²).

        A NaN or infinite loss raises DivergedError before the weights are touched.
        """
        x = Tensor(to_unit(inputs, self.device, self.dtype))
        y = Tensor(to_unit(targets, self.device, self.dtype))
        loss = F.mse_loss(self.net(x), y)
        if not math.isfinite(value := loss.item()):
            raise DivergedError(f"the loss is {value}", self.epoch + 1, self.step + 1)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        return value

    def fit(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        val: tuple[torch.Tensor, torch.Tensor] | None = None,
        max_steps: int | None = None,
        progress: bool = True,
        on_epoch: Callable[[Trainer], None] | None = None,
    ) -> list[dict[str, float]]:
        """Train until `config.epochs` (or `max_steps` more steps); returns the per-epoch history.

        inputs, targets: (N, 3, H, W) in [0, 255]; val: (noisy, clean) pairs scored after each epoch.
        Ctrl-C finishes the current step, then raises TrainingInterrupted (save `state_dict()` to resume).
        """
        self.net.train()
        steps_done, total = 0, math.ceil(len(inputs) / self.config.batch_size)
        with _DeferredInterrupt() as interrupt:
            while self.epoch < self.config.epochs:
                desc = f"epoch {self.epoch + 1}/{self.config.epochs}"
                bar = progress_bar(progress, total=total, initial=self.step, desc=desc)
                started, seen = time.perf_counter(), 0
                for batch_in, batch_target in batches(inputs, targets, self.config, self.epoch, self.step):
                    if max_steps is not None and steps_done >= max_steps:
                        bar.close()
                        return self.history
                    loss = self.train_step(batch_in, batch_target)
                    self.loss_sum += loss * len(batch_in)
                    self.step, steps_done, seen = self.step + 1, steps_done + 1, seen + len(batch_in)
                    rate = seen / (time.perf_counter() - started)
                    bar.set_postfix(loss=f"{loss:.5f}", img_per_s=f"{rate:.0f}", refresh=False)
                    bar.update()
                    if interrupt.requested:
                        bar.close()
                        raise TrainingInterrupted(f"interrupted at epoch {self.epoch + 1}, step {self.step}")
                bar.close()
                self._end_epoch(len(inputs), val, time.perf_counter() - started, seen)
                if on_epoch is not None:
                    on_epoch(self)
        return self.history

    def _end_epoch(self, n: int, val: tuple[torch.Tensor, torch.Tensor] | None, seconds: float, seen: int) -> None:
        if not all(parameter.data.isfinite().all() for parameter in self.net.parameters()):
            raise DivergedError("the weights hold NaN or infinite values", self.epoch + 1, self.step)
        row = {"epoch": self.epoch + 1, "train_loss": self.loss_sum / n, "lr": self.optimizer.param_groups[0]["lr"]}
        row.update(seconds=seconds, img_per_s=seen / max(seconds, 1e-9))
        if val is not None:
            noisy, clean = val
            row["val_psnr"] = psnr(denoise_batches(self.net, noisy, 256, self.device, self.dtype), clean)
            row["noisy_psnr"] = psnr(noisy, clean)
            self.net.train()
        self.history.append(row)
        self.epoch, self.step, self.loss_sum = self.epoch + 1, 0, 0.0

    # ------------------------------------------------------------ resumable state
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: network, optimizer, schedule, counters, history, RNG."""
        return {
            "net": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "config": asdict(self.config),
            "epoch": self.epoch,
            "step": self.step,
            "loss_sum": self.loss_sum,
            "history": [dict(row) for row in self.history],
            "torch_rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict()` saved (the network and optimizer must have the same structure).

        When this trainer's config has other epochs or another lr than the saved one (`train --resume
        --epochs/--lr`), the schedule follows the new config from the saved step on.
        """
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.step, self.loss_sum = int(state["epoch"]), int(state["step"]), float(state["loss_sum"])
        self.history = [dict(row) for row in state["history"]]
        torch.set_rng_state(state["torch_rng"])
        saved = state.get("config", {})
        if (saved.get("epochs"), saved.get("lr")) != (self.config.epochs, self.config.lr):
            self._reschedule()

    def _reschedule(self) -> None:
        """Set the lr a run started with this config would have now, and go on along that run's cosine curve."""
        steps_done = self.epoch * self.steps_per_epoch + self.step
        total = max(1, self.config.epochs * self.steps_per_epoch)
        lr = self.config.lr
        if self.scheduler is not None:
            lr *= (1 + math.cos(math.pi * min(steps_done, total) / total)) / 2
        for group in self.optimizer.param_groups:
            group["initial_lr"], group["lr"] = self.config.lr, lr
        if self.scheduler is not None:
            self.scheduler = CosineAnnealingLR(self.optimizer, T_max=total, last_epoch=steps_done - 1)
