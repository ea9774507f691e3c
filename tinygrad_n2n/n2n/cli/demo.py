"""`tinygrad-n2n demo` (what `make demo` runs): a short training run, evaluation, a denoised photo, the graph."""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import torch

from .. import data, run_folder
from ..inference import denoise_batches, pick_device
from ..metrics import psnr
from ..model_file import PRETRAINED, ModelFileError, load_model
from ..pipeline import MODEL, RunConfig
from ..report import save_image
from ..train import TrainConfig
from . import commands

DEMO_PHOTO = "chelsea"  # one of data.VAL_IMAGES: never seen in training


def demo_command(args: argparse.Namespace) -> int:
    """Train the default network briefly on the bundled photos, then evaluate and write every output to --out.

    The folder is held (`run_folder.claim`) for the whole demo: a second demo or train run there fails at once.
    """
    out, device = Path(args.out), pick_device(args.device)
    commands.setup_threads(args.threads)
    with run_folder.claim(out):
        return _demo(args, out, device)


def _demo(args: argparse.Namespace, out: Path, device: torch.device) -> int:
    started = time.perf_counter()
    print(f"== 1/4 training the default U-Net on {args.train_size} noisy pairs for {args.epochs} epochs (engine)")
    spec = data.DataSpec(train_size=args.train_size, seed=args.seed)
    config = RunConfig("default", TrainConfig(epochs=args.epochs, lr=3e-3, seed=args.seed), spec, args.device)
    code = commands.train(config, out)
    if code != 0:
        return code
    net, _ = load_model(out / MODEL, device)

    print("\n== 2/4 held-out validation patches (32×32, σ = 25/255), PSNR")
    val = data.load_data(replace(spec, train_size=0)).val
    scores = commands.evaluate(net, val, device)
    print(f"  noisy input              {scores['noisy']:6.2f} dB")
    print(f"  denoised (demo model)    {scores['model']:6.2f} dB  ({scores['model'] - scores['noisy']:+.2f} dB)")
    pretrained = None
    try:
        pretrained, _ = load_model(PRETRAINED, device)
        shipped = commands.evaluate(pretrained, val, device)["model"]
        print(f"  shipped pretrained model {shipped:6.2f} dB  ({shipped - scores['noisy']:+.2f} dB)")
    except ModelFileError as error:
        print(f"  (no shipped pretrained model: {error})")

    print(f"\n== 3/4 denoising the held-out photo '{DEMO_PHOTO}'")
    clean = data.skimage_image(DEMO_PHOTO)[None]
    noisy = data.add_noise(clean, data.Noise(), torch.Generator().manual_seed(args.seed))
    outputs = {"photo_clean.png": clean[0], "photo_noisy.png": noisy[0]}
    denoised = denoise_batches(net, noisy, 1, device)
    outputs["photo_denoised.png"] = denoised[0]
    line = f"  noisy {psnr(noisy, clean):.2f} dB -> demo model {psnr(denoised, clean):.2f} dB"
    if pretrained is not None:
        shipped_photo = denoise_batches(pretrained, noisy, 1, device)
        outputs["photo_denoised_pretrained.png"] = shipped_photo[0]
        line += f", shipped model {psnr(shipped_photo, clean):.2f} dB"
    print(line)
    for name, image in outputs.items():
        save_image(image, out / name)

    print("\n== 4/4 the training graph (forward + MSE loss, module clusters, parameter names)")
    graph_path, note = commands.render_training_graph("default", out / "graph.svg", net)
    print(f"  {graph_path}" + (f"\n  note: {note}" if note else ""))

    print(f"\ndone in {time.perf_counter() - started:.0f} s. Outputs in {out}/:")
    described = {
        "model.tn": "the trained model (tinygrad-n2n eval --model / denoise --model)",
        "metrics.csv": "loss and PSNR per epoch",
        "curves.png": "training loss and validation PSNR curves",
        "samples.png": "validation patches: noisy / denoised / clean rows",
        **{name: "the held-out photo" for name in outputs},
        graph_path.name: "the training graph",
    }
    for name, what in described.items():
        print(f"  {out / name}: {what}")
    return 0
