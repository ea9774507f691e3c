"""The course API, `Model`: build, load the shipped weights, train on pairs, predict.

Training goes through the app's one pipeline (`pipeline.run_training`); model files live in `model_file`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from ..optim import Adam
from .data import Dataset
from .inference import InputError, check_images, denoise_batches, pick_device
from .model_file import PRETRAINED, load_model
from .models import build
from .pipeline import RunConfig, run_training
from .train import TrainConfig


class Model:
    """The course's denoiser API on the engine (default: the U-Net, Adam, MSE on noisy targets).

    Images are (N, 3, H, W) tensors in [0, 255], uint8 or float. Runs on CUDA when available.
    """

    def __init__(
        self,
        arch: str = "default",
        lr: float = 1e-3,
        batch_size: int = 32,
        device: str | torch.device | None = None,
        seed: int = 0,
    ) -> None:
        self.arch, self.device, self.seed = arch, pick_device(device), seed
        self.config = TrainConfig(batch_size=batch_size, lr=lr, seed=seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = build(arch).to(self.device)
        self.optimizer = Adam(self.net.parameters(), lr=lr)
        self.history: list[dict[str, float]] = []

    def load_pretrained_model(self, path: str | Path | None = None) -> None:
        """Load the weights shipped inside the package: `path` None or "default" (trained at σ = 25), "blind" (σ from 5
        to 50), or a model file saved by `tinygrad-n2n train`."""
        net, payload = load_model(path or PRETRAINED, self.device)
        self.arch, self.net = payload["arch"], net
        self.optimizer = Adam(self.net.parameters(), lr=self.config.lr)

    def train(self, train_input: torch.Tensor, train_target: torch.Tensor, num_epochs: int) -> list[dict[str, float]]:
        """Noise2Noise training: train_input, train_target: (N, 3, H, W) in [0, 255], two noisy copies each.

        Adam, MSE, a cosine schedule over the `num_epochs` epochs; a tqdm bar when tqdm is installed.
        Returns the history of every call so far, one dict per epoch (train_loss, lr, seconds, img_per_s).
        """
        train_input = check_images(train_input, "train_input")
        train_target = check_images(train_target, "train_target")
        if train_input.shape != train_target.shape:
            raise InputError(
                f"train: train_input {tuple(train_input.shape)} and train_target {tuple(train_target.shape)} "
                "must have the same shape"
            )
        if not isinstance(num_epochs, int) or num_epochs < 1:
            raise InputError(f"train: num_epochs must be a positive int, got {num_epochs!r}")
        config = RunConfig(self.arch, replace(self.config, epochs=num_epochs), device=self.device)
        trainer = run_training(config, Dataset((train_input, train_target)), net=self.net, optimizer=self.optimizer)
        self.history += trainer.history
        return self.history

    def predict(self, test_input: torch.Tensor) -> torch.Tensor:
        """Denoise (N, 3, H, W) in [0, 255], any H and W -> float torch.Tensor (N, 3, H, W) in [0, 255].

        Eval mode, no tape; small images in batches, images over 512 pixels a side in overlapping tiles
        (`tiling`), so memory stays bounded; the result is on the input's device.
        """
        images = check_images(test_input, "predict")
        return denoise_batches(self.net, images, 64, self.device).to(images.device)
