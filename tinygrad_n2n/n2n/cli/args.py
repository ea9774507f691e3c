"""Argument types of the CLI, each checked when parsed, and a parser that reports a mistake in one line.

A bad value is a usage error (exit code 2) naming the flag, what it got and what it takes; argparse's usage
block is left out (`--help` shows it).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import NoReturn

from .. import data

MAX_SEED = 2**32 - 1


class OneLineParser(argparse.ArgumentParser):
    """argparse, with errors as one line on stderr ('tinygrad-n2n train: error: ...') and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Print `message` in one line (with a pointer to --help) and exit with 2."""
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def positive_int(text: str) -> int:
    """A whole number ≥ 1 (sizes, epochs, threads)."""
    if (value := _integer(text)) < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def count(text: str) -> int:
    """A whole number ≥ 0 (0 switches the thing off: --val-size 0, --max-pixels 0)."""
    if (value := _integer(text)) < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def seed(text: str) -> int:
    """A seed in 0 … 2³² - 1."""
    if not 0 <= (value := _integer(text)) <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_SEED}, got {text}")
    return value


def learning_rate(text: str) -> float:
    """A finite number > 0 (nan and inf are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def noise(text: str) -> str:
    """A noise spec `data.Noise.parse` accepts (returned as given)."""
    try:
        data.Noise.parse(text)
    except data.DataError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text
