"""The CLI's subcommands (train, eval, denoise, graph): argparse namespaces in, files and a printed summary out."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch

from ... import functional as F
from ..._tensor import Tensor
from .. import data
from ..inference import denoise_batches
from ..metrics import nl_means, psnr
from ..model import PRETRAINED, load_model, pick_device, read_model_file, save_model
from ..models import build
from ..report import save_curves, save_grid, save_image, write_csv
from ..train import TrainConfig, Trainer, TrainingInterrupted

Pairs = tuple[torch.Tensor, torch.Tensor]


class UsageError(ValueError):
    """A user mistake the CLI reports as one line (exit code 2)."""


def load_source(spec: dict[str, Any]) -> tuple[Pairs, Pairs, str]:
    """spec: {source, train_size, val_size, noise, seed} -> ((input, target), (noisy, clean), description).

    source 'default' = scikit-image photos; a folder holding train_data.pkl = the course files; any other
    folder = its images (the last 20 % by name held out).
    """
    noise, source = data.Noise.parse(spec["noise"]), spec["source"]
    if source == "default":
        train = data.default_train(spec["train_size"], noise, spec["seed"])
        val = data.default_val(spec["val_size"], noise)
        names = f"train {', '.join(data.TRAIN_IMAGES)}; val {', '.join(data.VAL_IMAGES)}"
        return train, val, f"scikit-image photos, {names}"
    folder = Path(source)
    if (folder / "train_data.pkl").exists() or (folder / "val_data.pkl").exists():
        (a, b), (noisy, clean) = data.course_data(folder)
        return (a[: spec["train_size"]], b[: spec["train_size"]]), (noisy, clean), f"course files in {folder}"
    train, val = data.folder_pairs(folder, spec["train_size"], noise, spec["seed"])
    return train, val, f"images in {folder}"


def data_spec(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "source": args.data,
        "train_size": args.train_size,
        "val_size": args.val_size,
        "noise": args.noise,
        "seed": args.seed,
    }


def setup_threads(threads: int | None) -> None:
    if threads is not None:
        if threads < 1:
            raise UsageError(f"--threads must be ≥ 1, got {threads}")
        torch.set_num_threads(threads)


# ---------------------------------------------------------------- train


def train_command(args: argparse.Namespace) -> int:
    """Train a denoiser; writes model.tn, checkpoint.tn, metrics.csv, curves.png, samples.png in --out."""
    setup_threads(args.threads)
    device, out = pick_device(args.device), Path(args.out)
    if args.resume:
        saved = read_model_file(args.resume)
        if "trainer" not in saved:
            raise UsageError(f"{args.resume} holds no training state (use the checkpoint.tn of a train run)")
        arch, spec, config = saved["arch"], saved["data"], TrainConfig(**saved["trainer"]["config"])
    else:
        arch, spec = args.arch, data_spec(args)
        config = TrainConfig(args.epochs, args.batch_size, args.lr, args.optimizer, args.schedule, args.seed)
    if config.epochs < 1 or config.batch_size < 1 or config.lr <= 0:
        raise UsageError("--epochs and --batch-size must be ≥ 1 and --lr > 0")
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    (inputs, targets), val, description = load_source(spec)
    print(f"data: {description}: {len(inputs)} training pairs, {len(val[0])} validation pairs ({spec['noise']})")
    torch.manual_seed(config.seed)
    net = build(arch).to(device)
    trainer = Trainer(net, config, -(-len(inputs) // config.batch_size), device)
    if args.resume:
        trainer.load_state_dict(saved["trainer"])
        print(f"resuming {args.resume} at epoch {trainer.epoch + 1}, step {trainer.step}")
    print(f"model: {arch}, {net.num_parameters():,} parameters, on {device}; {config}")

    def save_progress(current: Trainer) -> None:
        save_model(net, arch, out / "checkpoint.tn", trainer=current.state_dict(), data=spec)
        write_csv(current.history, out / "metrics.csv")
        save_curves(current.history, out / "curves.png", f"{arch} network, {spec['noise']} noise")

    try:
        history = trainer.fit(inputs, targets, val, on_epoch=save_progress, progress=not args.quiet)
    except TrainingInterrupted as stop:
        save_model(net, arch, out / "checkpoint.tn", trainer=trainer.state_dict(), data=spec)
        print(f"\n{stop}; saved {out / 'checkpoint.tn'}; continue with: train --resume {out / 'checkpoint.tn'}")
        return 130
    save_model(net, arch, out / "model.tn", data=spec, history=history)
    noisy, clean = val
    denoised = denoise_batches(net, noisy, 256, device)
    save_grid({"noisy": noisy, "denoised": denoised, "clean": clean}, out / "samples.png")
    last = history[-1] if history else {}
    print(
        f"done in {time.perf_counter() - started:.0f} s: validation PSNR {last.get('val_psnr', float('nan')):.2f} dB "
        f"(noisy input {last.get('noisy_psnr', float('nan')):.2f} dB)"
    )
    print(f"wrote {out / 'model.tn'}, {out / 'checkpoint.tn'}, {out / 'metrics.csv'}, {out / 'curves.png'}, ", end="")
    print(f"{out / 'samples.png'}")
    return 0


# ---------------------------------------------------------------- eval, denoise, graph


def evaluate(net: Any, val: Pairs, device: Any, noise: data.Noise | None = None) -> dict[str, float]:
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
    _, val, description = load_source({**data_spec(args), "train_size": 0})
    scores = evaluate(net, val, device, data.Noise.parse(args.noise) if args.nlmeans else None)
    print(f"{args.model or PRETRAINED} ({payload['arch']}) on {len(val[0])} validation pairs, {description}:")
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
