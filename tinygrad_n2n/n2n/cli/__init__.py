"""`tinygrad-n2n` / `python -m tinygrad_n2n`: train, eval, denoise, graph and demo (argparse subcommands).

Every failure is one line on stderr saying what went wrong, where, and what to do. Exit codes: 0 done,
2 a usage error (a bad argument, a missing, corrupt or unsupported input file, an output that cannot be
written), 1 a runtime failure (training diverged, the run folder is busy, a missing optional package,
an I/O or device error), 130 interrupted (Ctrl-C; a training run saves a resumable checkpoint first).
Set TINYGRAD_N2N_DEBUG=1 to get a traceback instead of the line.
"""

from __future__ import annotations

import argparse
import os
import sys

from ... import serialization
from .. import data, images, run_folder
from ..extras import MissingExtraError
from ..images import MAX_PIXELS
from ..inference import DeviceError, InputError
from ..model_file import ModelFileError
from ..models import ARCHITECTURES
from . import args as types
from . import commands
from .commands import TRAIN_DEFAULTS as DEFAULTS

USAGE_ERRORS = (
    commands.UsageError,
    data.DataError,
    images.ImageFileError,
    InputError,
    DeviceError,
    ModelFileError,
    run_folder.FolderNotWritableError,
    serialization.CheckpointError,
)
RUNTIME_ERRORS = (OSError, RuntimeError, MemoryError, MissingExtraError)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, mps or auto (CUDA when available)")
    parser.add_argument("--threads", type=types.positive_int, help="CPU threads for torch (default: torch's choice)")


def _add_data(parser: argparse.ArgumentParser, training: bool) -> None:
    """The data flags; for `train` their defaults are None, so that `--resume` knows which were given."""
    default = (lambda name: None) if training else DEFAULTS.get
    parser.add_argument(
        "--data",
        default=default("data"),
        help="'default' (photos bundled with scikit-image), a folder with the course's train_data.pkl/val_data.pkl,"
        " or a folder of images (PNG/JPEG/TIFF/...; the last 20%% by name are held out)",
    )
    if training:
        size_help = f"training pairs (default {DEFAULTS['train_size']})"
        parser.add_argument("--train-size", type=types.positive_int, help=size_help)
    val_help = f"validation pairs (default {DEFAULTS['val_size']}" + ("; 0: no validation)" if training else ")")
    val_type = types.count if training else types.positive_int
    parser.add_argument("--val-size", type=val_type, default=default("val_size"), help=val_help)
    parser.add_argument(
        "--noise",
        type=types.noise,
        default=default("noise"),
        help="gaussian:SIGMA or gaussian:LOW-HIGH (0-255 units), poisson:PEAK or poisson:LOW-HIGH "
        f"(default {DEFAULTS['noise']})",
    )
    seed_help = f"seed of the data, the initialisation and the batches, 0 to {types.MAX_SEED} (default 0)"
    parser.add_argument("--seed", type=types.seed, default=default("seed"), help=seed_help)


def _add_train(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a denoiser on pairs of noisy images")
    _add_data(train, training=True)
    train.add_argument("--arch", choices=ARCHITECTURES, help="network: default (a small U-Net, the default) or course")
    epochs = f"epochs (default {DEFAULTS['epochs']}); with --resume, the run's new total"
    train.add_argument("--epochs", type=types.positive_int, help=epochs)
    train.add_argument("--batch-size", type=types.positive_int, help=f"(default {DEFAULTS['batch_size']})")
    train.add_argument("--optimizer", choices=("adam", "sgd"), help=f"(default {DEFAULTS['optimizer']})")
    lr = f"peak learning rate, finite and > 0 (default {DEFAULTS['lr']:g}); applies with --resume"
    train.add_argument("--lr", type=types.learning_rate, help=lr)
    train.add_argument("--schedule", choices=("cosine", "constant"), help=f"(default {DEFAULTS['schedule']})")
    train.add_argument("--resume", help="continue a run from its checkpoint.tn (--epochs and --lr may change)")
    train.add_argument("--out", help="output folder (default runs/train; with --resume, the checkpoint's folder)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_common(train)
    train.set_defaults(handler=commands.train_command)


MODEL_HELP = "model file from `train`, or a shipped model: default (σ = 25, the default) or blind (σ from 5 to 50)"


def build_parser() -> argparse.ArgumentParser:
    """The `tinygrad-n2n` parser: one subcommand per handler (train, eval, denoise, graph, demo)."""
    parser = types.OneLineParser(
        prog="tinygrad-n2n", description="Noise2Noise denoising on the tinygrad_n2n engine (never torch.autograd)."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(sub)

    evaluate = sub.add_parser("eval", help="PSNR of a model on a data source's validation pairs")
    evaluate.add_argument("--model", help=MODEL_HELP)
    _add_data(evaluate, training=False)
    evaluate.add_argument("--nlmeans", action="store_true", help="also score non-local means with the true σ")
    evaluate.add_argument(
        "--full",
        action="store_true",
        help="score whole held-out photos instead of patches: PSNR, SSIM and time per photo of the noisy input, "
        "NL-means, BM3D (with the [eval] extra) and the model, one noise draw per photo (Gaussian noise of one σ)",
    )
    evaluate.add_argument("--out", help="with --full: a folder for full_eval.json and full_eval_crops.png")
    _add_common(evaluate)
    evaluate.set_defaults(handler=commands.eval_command)

    denoise = sub.add_parser("denoise", help="denoise an image file (any size, mode and bit depth Pillow reads)")
    denoise.add_argument("input", help="noisy image file (PNG, JPEG, TIFF, WebP, BMP, GIF, PGM, ...)")
    denoise.add_argument("output", help="where to write the denoised image: " + ", ".join(images.FORMATS))
    denoise.add_argument("--model", help=MODEL_HELP)
    limit = f"refuse images above this many pixels; 0: no limit (default {MAX_PIXELS:,}, about 2 GB of memory)"
    denoise.add_argument("--max-pixels", type=types.count, default=MAX_PIXELS, help=limit)
    denoise.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_common(denoise)
    denoise.set_defaults(handler=commands.denoise_command)

    graph = sub.add_parser("graph", help="render the denoiser's training graph (forward + MSE loss)")
    graph.add_argument("--arch", choices=ARCHITECTURES, default="default", help="network (default %(default)s)")
    graph.add_argument("--out", default="graph.svg", help=".svg/.png/.pdf (need Graphviz's dot) or .dot")
    graph.set_defaults(handler=commands.graph_command)

    demo = sub.add_parser("demo", help="train briefly, evaluate, denoise a photo, draw curves and the graph")
    demo.add_argument("--out", default="demo_out", help="output folder (default %(default)s)")
    demo.add_argument("--train-size", type=types.positive_int, default=10_000, help="training pairs (%(default)s)")
    demo.add_argument("--epochs", type=types.positive_int, default=3, help="epochs (default %(default)s)")
    demo.add_argument("--seed", type=types.seed, default=0, help="seed (default %(default)s)")
    _add_common(demo)
    demo.set_defaults(handler=_demo)
    return parser


def _demo(args: argparse.Namespace) -> int:
    from .demo import demo_command

    return demo_command(args)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 failure, 2 usage error, 130 interrupted)."""
    command = "tinygrad-n2n"
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as stop:  # --help (0), or a usage error already printed (2)
            return stop.code if isinstance(stop.code, int) else 2
        command = f"tinygrad-n2n {args.command}"
        return args.handler(args)
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except USAGE_ERRORS as error:
        return _report(command, "error", error, 2)
    except RUNTIME_ERRORS as error:
        return _report(command, "failed", error, 1)
    except Exception as error:  # a bug: still one line, the traceback on request
        return _report(command, "failed: internal error", error, 1, f" ({type(error).__name__}; please report it)")


def _report(command: str, kind: str, error: BaseException, code: int, suffix: str = "") -> int:
    """Print '<command>: <kind>: <first line of error>' to stderr -> code; re-raise under TINYGRAD_N2N_DEBUG."""
    if os.environ.get("TINYGRAD_N2N_DEBUG"):
        raise error
    lines = str(error).strip().splitlines() or [type(error).__name__]
    more = f" (+{len(lines) - 1} more lines; TINYGRAD_N2N_DEBUG=1 shows all)" if len(lines) > 1 else ""
    print(f"{command}: {kind}: {lines[0]}{more}{suffix}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
