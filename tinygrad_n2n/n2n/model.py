"""The course API, `Model`: build, load the shipped weights, train on pairs, predict; and model files.

A model file (`tn.save` format) holds {"format", "arch", "width", "net": state_dict, ...}; a training
checkpoint adds "trainer" (optimizer, schedule, counters, RNG) and "data" (how to regenerate the pairs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .. import serialization
from ..nn import Module
from .inference import InputError, check_images, denoise_batches
from .models import DEFAULT_WIDTH, build
from .train import TrainConfig, Trainer

FORMAT = "tinygrad_n2n.n2n/1"
PRETRAINED = Path(__file__).parent / "weights" / "default.tn"


class ModelFileError(ValueError):
    """A model file is missing, corrupt, or not a tinygrad_n2n denoiser (message says which)."""


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """'auto' or None -> CUDA when available, else CPU; otherwise the named device."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def save_model(net: Module, arch: str, path: str | Path, **extra: Any) -> None:
    """Write the network (and any `extra` entries, e.g. trainer state) to `path` atomically, safe format."""
    payload = {"format": FORMAT, "arch": arch, "width": getattr(net, "width", DEFAULT_WIDTH), "net": net.state_dict()}
    serialization.save({**payload, **extra}, path)


def read_model_file(path: str | Path) -> dict[str, Any]:
    """Load and check a model file or checkpoint -> its dict (no code runs: tn.load is weights-only)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"no such model file: {path}")
    try:
        payload = serialization.load(path)
    except Exception as error:  # corrupt, truncated, unsafe, or not a checkpoint at all
        raise ModelFileError(f"cannot read {path} as a model file ({type(error).__name__}: {error})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "net" not in payload:
        raise ModelFileError(f"{path} is not a tinygrad_n2n denoiser file (format {FORMAT})")
    return payload


def load_model(path: str | Path, device: Any = "cpu") -> tuple[Module, dict[str, Any]]:
    """A network built from a model file, with its weights, on `device` -> (net, the file's dict)."""
    payload = read_model_file(path)
    net = build(payload["arch"], int(payload.get("width", DEFAULT_WIDTH)))
    try:
        net.load_state_dict(payload["net"])
    except (RuntimeError, TypeError) as error:
        raise ModelFileError(f"{path}: weights do not fit the '{payload['arch']}' network: {error}") from None
    return net.to(device), payload


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
        self.optimizer = Trainer(self.net, self.config, 1).optimizer
        self.criterion = "mse"
        self.history: list[dict[str, float]] = []

    def load_pretrained_model(self, path: str | Path | None = None) -> None:
        """Load the weights shipped inside the package (or a model file saved by `tinygrad-n2n train`)."""
        net, payload = load_model(path or PRETRAINED, self.device)
        self.arch, self.net = payload["arch"], net
        self.optimizer = Trainer(self.net, self.config, 1).optimizer

    def train(self, train_input: torch.Tensor, train_target: torch.Tensor, num_epochs: int) -> list[dict[str, float]]:
        """Noise2Noise training: train_input, train_target: (N, 3, H, W) in [0, 255], two noisy copies each.

        Adam, MSE, a cosine schedule over the `num_epochs` epochs; shows a tqdm bar. Returns the history.
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
        config = TrainConfig(**{**self.config.__dict__, "epochs": num_epochs})
        steps = -(-len(train_input) // config.batch_size)
        trainer = Trainer(self.net, config, steps, self.device, optimizer=self.optimizer)
        self.history += trainer.fit(train_input, train_target)
        return self.history

    def predict(self, test_input: torch.Tensor) -> torch.Tensor:
        """Denoise (N, 3, H, W) in [0, 255], any H and W -> float torch.Tensor (N, 3, H, W) in [0, 255].

        Eval mode, no tape, batches bounding memory; the result is on the input's device.
        """
        images = check_images(test_input, "predict")
        return denoise_batches(self.net, images, 64, self.device).to(images.device)
