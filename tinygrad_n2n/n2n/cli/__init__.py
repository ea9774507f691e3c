"""`tinygrad-n2n` / `python -m tinygrad_n2n`: train, eval, denoise, graph and demo (argparse subcommands).

User mistakes (missing or corrupt files, bad arguments, bad data) print one line and exit with code 2 (1 for
other failures, a missing optional package among them); Ctrl-C exits with 130 after saving a resumable
checkpoint when training.
"""

from __future__ import annotations

import argparse
import sys

from ... import serialization
from .. import data
from ..extras import MissingExtraError
from ..inference import InputError
from ..model_file import ModelFileError
from ..models import ARCHITECTURES
from . import commands

USER_ERRORS = (commands.UsageError, data.DataError, InputError, ModelFileError, serialization.CheckpointError)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 or auto (CUDA when available)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")


def _add_data(parser: argparse.ArgumentParser, train_size: int = 20_000) -> None:
    parser.add_argument(
        "--data",
        default="default",
        help="'default' (photos bundled with scikit-image), a folder with the course's train_data.pkl/val_data.pkl,"
        " or a folder of images (PNG/JPEG; the last 20%% by name are held out)",
    )
    parser.add_argument("--train-size", type=int, default=train_size, help="training pairs (default %(default)s)")
    parser.add_argument("--val-size", type=int, default=1000, help="validation pairs (default %(default)s)")
    parser.add_argument(
        "--noise",
        default="gaussian:25",
        help="gaussian:SIGMA or gaussian:LOW-HIGH (0-255 units), poisson:PEAK or poisson:LOW-HIGH "
        "(default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the data, the initialisation and the batches")


def build_parser() -> argparse.ArgumentParser:
    """The `tinygrad-n2n` parser: one subcommand per handler (train, eval, denoise, graph, demo)."""
    parser = argparse.ArgumentParser(
        prog="tinygrad-n2n", description="Noise2Noise denoising on the tinygrad_n2n engine (never torch.autograd)."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train a denoiser on pairs of noisy images")
    _add_data(train)
    train.add_argument("--arch", choices=ARCHITECTURES, default="default", help="network (default %(default)s)")
    train.add_argument("--epochs", type=int, default=6, help="epochs (default %(default)s)")
    train.add_argument("--batch-size", type=int, default=32, help="batch size (default %(default)s)")
    train.add_argument("--optimizer", choices=("adam", "sgd"), default="adam", help="(default %(default)s)")
    train.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (default %(default)s)")
    train.add_argument("--schedule", choices=("cosine", "constant"), default="cosine", help="(default %(default)s)")
    train.add_argument("--resume", help="continue a run from its checkpoint.tn (its settings are used)")
    train.add_argument("--out", default="runs/train", help="output folder (default %(default)s)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_common(train)
    train.set_defaults(handler=commands.train_command)

    evaluate = sub.add_parser("eval", help="PSNR of a model on a data source's validation pairs")
    evaluate.add_argument("--model", help="model file from `train` (default: the shipped pretrained model)")
    _add_data(evaluate, train_size=0)
    evaluate.add_argument("--nlmeans", action="store_true", help="also score non-local means with the true σ")
    _add_common(evaluate)
    evaluate.set_defaults(handler=commands.eval_command)

    denoise = sub.add_parser("denoise", help="denoise an image file (PNG/JPEG, any size)")
    denoise.add_argument("input", help="noisy image file")
    denoise.add_argument("output", help="where to write the denoised image (.png, .jpg)")
    denoise.add_argument("--model", help="model file from `train` (default: the shipped pretrained model)")
    _add_common(denoise)
    denoise.set_defaults(handler=commands.denoise_command)

    graph = sub.add_parser("graph", help="render the denoiser's training graph (forward + MSE loss)")
    graph.add_argument("--arch", choices=ARCHITECTURES, default="default", help="network (default %(default)s)")
    graph.add_argument("--out", default="graph.svg", help=".svg/.png/.pdf (need Graphviz's dot) or .dot")
    graph.set_defaults(handler=commands.graph_command)

    demo = sub.add_parser("demo", help="train briefly, evaluate, denoise a photo, draw curves and the graph")
    demo.add_argument("--out", default="demo_out", help="output folder (default %(default)s)")
    demo.add_argument("--train-size", type=int, default=10_000, help="training pairs (default %(default)s)")
    demo.add_argument("--epochs", type=int, default=3, help="epochs (default %(default)s)")
    demo.add_argument("--seed", type=int, default=0, help="seed (default %(default)s)")
    _add_common(demo)
    demo.set_defaults(handler=_demo)
    return parser


def _demo(args: argparse.Namespace) -> int:
    from .demo import demo_command

    return demo_command(args)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 failure, 2 user mistake, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except USER_ERRORS as error:
        print(f"tinygrad-n2n {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tinygrad-n2n {args.command}: interrupted", file=sys.stderr)
        return 130
    except (OSError, RuntimeError, MissingExtraError) as error:
        print(f"tinygrad-n2n {args.command}: failed: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
