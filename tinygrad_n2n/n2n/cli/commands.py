"""The CLI's subcommands (train, eval, denoise, graph): argparse namespaces in, files and a printed summary out."""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from ... import functional as F
from ..._tensor import Tensor
from .. import data
from ..inference import denoise_batches, pick_device
from ..metrics import nl_means, psnr
from ..model_file import PRETRAINED, load_model, read_model_file
from ..models import build
from ..pipeline import CHECKPOINT, CURVES, METRICS, MODEL, SAMPLES, Progress, RunConfig, run_training
from ..report import save_image
from ..train import TrainConfig, TrainingInterrupted


class UsageError(ValueError):
    """A user mistake the CLI reports as one line (exit code 2)."""


def setup_threads(threads: int | None) -> None:
    """--threads N: torch's CPU thread count (None leaves torch's choice)."""
    if threads is not None:
        if threads < 1:
            raise UsageError(f"--threads must be ≥ 1, got {threads}")
        torch.set_num_threads(threads)


def data_spec(args: argparse.Namespace) -> data.DataSpec:
    """The data flags (--data, --train-size, --val-size, --noise, --seed) -> DataSpec."""
    return data.DataSpec(args.data, args.train_size, args.val_size, args.noise, args.seed)


# ---------------------------------------------------------------- train


def train_command(args: argparse.Namespace) -> int:
    """Train a denoiser; writes model.tn, checkpoint.tn, metrics.csv, curves.png, samples.png in --out."""
    setup_threads(args.threads)
    if args.resume:
        config, state = resumed_run(args.resume, args.device)
    else:
        config, state = RunConfig(args.arch, train_config(args), data_spec(args), args.device), None
    return train(config, Path(args.out), quiet=args.quiet, state=state, resumed_from=args.resume)


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The hyper-parameter flags -> TrainConfig; nonsense values are a UsageError."""
    config = TrainConfig(args.epochs, args.batch_size, args.lr, args.optimizer, args.schedule, args.seed)
    if config.epochs < 1 or config.batch_size < 1 or config.lr <= 0:
        raise UsageError("--epochs and --batch-size must be ≥ 1 and --lr > 0")
    return config


def resumed_run(checkpoint: str, device: str) -> tuple[RunConfig, dict[str, Any]]:
    """A checkpoint.tn of a train run -> (its RunConfig on `device`, its trainer state)."""
    saved = read_model_file(checkpoint)
    if "trainer" not in saved:
        raise UsageError(f"{checkpoint} holds no training state (use the checkpoint.tn of a train run)")
    config = TrainConfig(**saved["trainer"]["config"])
    return RunConfig(saved["arch"], config, data.DataSpec(**saved["data"]), device), saved["trainer"]


def train(
    config: RunConfig,
    out: Path,
    quiet: bool = False,
    state: dict[str, Any] | None = None,
    resumed_from: str | None = None,
) -> int:
    """Load the data, run the pipeline into `out` and print what happened -> exit code (0, or 130 on Ctrl-C).

    state: the trainer state of the checkpoint `resumed_from`, to continue that run.
    """
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    dataset = data.load_data(config.data)
    train_pairs, val_pairs = len(dataset.train[0]), len(dataset.val[0])
    print(
        f"data: {dataset.description}: {train_pairs} training pairs, {val_pairs} validation pairs ({config.data.noise})"
    )
    if state is not None:
        print(f"resuming {resumed_from} at epoch {state['epoch'] + 1}, step {state['step']}")
    progress = Progress(bar=not quiet, log=print)
    try:
        trainer = run_training(config, dataset, out, progress, resume=state)
    except TrainingInterrupted as stop:
        print(f"\n{stop}; saved {out / CHECKPOINT}; continue with: train --resume {out / CHECKPOINT}")
        return 130
    last = trainer.history[-1] if trainer.history else {}
    print(
        f"done in {time.perf_counter() - started:.0f} s: validation PSNR {last.get('val_psnr', float('nan')):.2f} dB "
        f"(noisy input {last.get('noisy_psnr', float('nan')):.2f} dB)"
    )
    print(f"wrote {', '.join(str(out / name) for name in (MODEL, CHECKPOINT, METRICS, CURVES, SAMPLES))}")
    return 0


# ---------------------------------------------------------------- eval, denoise, graph


def evaluate(net: Any, val: data.Pairs, device: Any, noise: data.Noise | None = None) -> dict[str, float]:
    """PSNR (dB) of the noisy input, the network and, when `noise` is given, NL-means with its true σ."""
    noisy, clean = val
    scores = {"noisy": psnr(noisy, clean), "model": psnr(denoise_batches(net, noisy, 256, device), clean)}
    if noise is not None:
        scores["nl_means"] = psnr(nl_means(noisy, noise.sigma), clean)
    return scores


def eval_command(args: argparse.Namespace) -> int:
    """Print the PSNR of a model (default: the shipped one) on a data source's validation pairs."""
    setup_threads(args.threads)
    device = pick_device(args.device)
    net, payload = load_model(args.model or PRETRAINED, device)
    dataset = data.load_data(replace(data_spec(args), train_size=0))
    scores = evaluate(net, dataset.val, device, data.Noise.parse(args.noise) if args.nlmeans else None)
    pairs = f"{len(dataset.val[0])} validation pairs, {dataset.description}"
    print(f"{args.model or PRETRAINED} ({payload['arch']}) on {pairs}:")
    for name, value in scores.items():
        print(f"  {name:10s} {value:6.2f} dB  ({value - scores['noisy']:+.2f} dB over the noisy input)")
    return 0


def denoise_command(args: argparse.Namespace) -> int:
    """Denoise one image file of any size into another (written atomically)."""
    setup_threads(args.threads)
    device = pick_device(args.device)
    output = Path(args.output)
    if output.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise UsageError(f"output file must end in .png, .jpg or .jpeg, got {output.name}")
    image = data.read_image(args.input)
    net, _ = load_model(args.model or PRETRAINED, device)
    denoised = denoise_batches(net, image[None], 1, device)[0]
    save_image(denoised, output)
    print(f"wrote {output} ({image.shape[2]}×{image.shape[1]})")
    return 0


def render_training_graph(arch: str, out: Path, net: Any = None) -> tuple[Path, str]:
    """Draw forward + MSE loss of `net` (or a fresh `arch` network) on a (2, 3, 32, 32) batch, in train mode.

    Writes `out` (.svg/.png/.pdf need Graphviz's `dot`; without it a .dot file is written instead) and
    returns (the path written, a note).
    """
    from ...viz import GraphvizNotFoundError, draw_graph, render_graph

    net = net if net is not None else build(arch)
    net.train()
    generator = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 3, 32, 32, generator=generator), torch.rand(2, 3, 32, 32, generator=generator)
    loss = F.mse_loss(net(Tensor(x)), Tensor(y))
    graph = draw_graph(loss, params=net)
    try:
        return render_graph(graph, out), ""
    except GraphvizNotFoundError:
        path = render_graph(graph, out.with_suffix(".dot"))
        return path, "Graphviz 'dot' not found: wrote DOT source (render it with `dot -Tsvg FILE -o graph.svg`)"


def graph_command(args: argparse.Namespace) -> int:
    """Render the training graph of the chosen architecture."""
    path, note = render_training_graph(args.arch, Path(args.out))
    print(f"wrote {path}" + (f" ({note})" if note else ""))
    return 0
