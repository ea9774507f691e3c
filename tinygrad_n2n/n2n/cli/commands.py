"""The CLI's subcommands eval, denoise and graph (train is in `training`): namespaces in, files and a summary out."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import torch

from ... import functional as F
from ..._tensor import Tensor
from .. import data, images, photo_eval, report, run_folder
from ..inference import denoise_batches, pick_device
from ..metrics import nl_means, psnr
from ..model_file import PRETRAINED, load_model
from ..models import build
from ..tiling import denoise_tiled
from .training import TRAIN_DEFAULTS, UsageError, setup_threads, train, train_command

__all__ = ["TRAIN_DEFAULTS", "UsageError", "eval_command", "graph_command", "setup_threads", "train", "train_command"]
GRAPH_SUFFIXES = (".svg", ".png", ".pdf", ".dot", ".gv")


def data_spec(args: argparse.Namespace) -> data.DataSpec:
    """The data flags of `eval` (--data, --val-size, --noise, --seed) -> DataSpec (no training pairs)."""
    return data.DataSpec(args.data, 0, args.val_size, args.noise, args.seed)


# ---------------------------------------------------------------- eval, denoise, graph


def evaluate(net: Any, val: data.Pairs, device: Any, noise: data.Noise | None = None) -> dict[str, float]:
    """PSNR (dB) of the noisy input, the network and, when `noise` is given, NL-means with its true σ."""
    noisy, clean = val
    scores = {"noisy": psnr(noisy, clean), "model": psnr(denoise_batches(net, noisy, 256, device), clean)}
    if noise is not None:
        scores["nl_means"] = psnr(nl_means(noisy, noise.sigma), clean)
    return scores


def eval_command(args: argparse.Namespace) -> int:
    """Print the PSNR of a model (default: the shipped one) on a data source's validation pairs, or with
    --full the PSNR and SSIM of every method on its whole held-out photos."""
    setup_threads(args.threads)
    device = pick_device(args.device)
    if args.out is not None and not args.full:
        raise UsageError("--out goes with --full (the whole-photo evaluation writes its table and crops there)")
    net, payload = load_model(args.model or PRETRAINED, device)
    if args.full:
        return full_eval(args, net, payload, device)
    dataset = data.load_data(data_spec(args))
    scores = evaluate(net, dataset.val, device, data.Noise.parse(args.noise) if args.nlmeans else None)
    pairs = f"{len(dataset.val[0])} validation pairs, {dataset.description}"
    print(f"{args.model or PRETRAINED} ({payload['arch']}) on {pairs}:")
    for name, value in scores.items():
        print(f"  {name:10s} {value:6.2f} dB  ({value - scores['noisy']:+.2f} dB over the noisy input)")
    return 0


def full_eval(args: argparse.Namespace, net: Any, payload: dict, device: Any) -> int:
    """`eval --full`: the table of photo_eval on the data source's held-out photos; with --out, its JSON and
    the first photo's crops (noisy / BM3D / ours / clean)."""
    noise = data.Noise.parse(args.noise)
    if noise.kind != "gaussian" or noise.low != noise.high:
        raise UsageError(f"eval --full scores Gaussian noise of one σ (e.g. --noise gaussian:25), got {args.noise!r}")
    photos = data.held_out_photos(args.data)
    methods, notes = photo_eval.available_methods()
    scores, first = photo_eval.evaluate_photos(photos, noise.sigma, args.seed, net, device, methods)
    print(f"{args.model or PRETRAINED} ({payload['arch']}) on {len(photos)} held-out photos, {args.noise}:")
    print(photo_eval.table(scores))
    for note in notes:
        print(f"note: {note}")
    if args.out is not None:
        out = Path(args.out)
        run_folder.check_writable(out)
        rows = [dataclasses.asdict(s) for s in [*scores, *photo_eval.mean_scores(scores)]]
        settings = {
            "command": " ".join(["tinygrad-n2n", *sys.argv[1:]]),
            "date": time.strftime("%Y-%m-%d"),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "model": args.model or f"the shipped model ({PRETRAINED.name})",
            "noise": args.noise,
            "seed": args.seed,
            "notes": notes,
        }
        report.write_json({**settings, "rows": rows}, out / "full_eval.json")
        labels = {"noisy": "noisy", "bm3d": "BM3D", "model": "ours", "clean": "clean"}
        report.save_side_by_side({labels[k]: first[k] for k in labels if k in first}, out / "full_eval_crops.png")
        print(f"wrote {out / 'full_eval.json'} and {out / 'full_eval_crops.png'}")
    return 0


def denoise_command(args: argparse.Namespace) -> int:
    """Denoise one image file of any size, mode and bit depth into another (written atomically), tile by tile.

    Checks come first, in the order that costs least: the output's suffix and folder, the model, the input's
    size (from its header), and only then are pixels decoded.
    """
    setup_threads(args.threads)
    device = pick_device(args.device)
    output = Path(args.output)
    images.output_format(output)
    run_folder.check_writable(output.parent)
    net, _ = load_model(args.model or PRETRAINED, device)
    picture = images.read_picture(args.input, args.max_pixels)
    denoised = denoise_tiled(net, picture.colour, picture.white, device, progress=not args.quiet)
    notes = picture.notes + images.write_picture(denoised, picture, output)
    for note in notes:
        print(f"tinygrad-n2n denoise: note: {note}", file=sys.stderr)
    _, height, width = picture.colour.shape
    print(f"wrote {output} ({width}×{height})")
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
    if Path(args.out).suffix.lower() not in GRAPH_SUFFIXES:
        raise UsageError(f"--out must end in {', '.join(GRAPH_SUFFIXES)}; got {Path(args.out).name!r}")
    path, note = render_training_graph(args.arch, Path(args.out))
    print(f"wrote {path}" + (f" ({note})" if note else ""))
    return 0
