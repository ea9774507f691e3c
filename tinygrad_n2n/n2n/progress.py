"""Progress bars of the app (training epochs, tiles of a big photo): tqdm's when installed, else nothing drawn."""

from __future__ import annotations

from typing import Any


class NoBar:
    """Stands in for tqdm's bar when the bar is off or tqdm is not installed (a bare `pip install`)."""

    def set_postfix(self, **values: Any) -> None:
        """Ignore the values a bar would show."""

    def update(self, steps: int = 1) -> None:
        """Ignore progress."""

    def close(self) -> None:
        """Nothing to close."""


def progress_bar(enabled: bool, **options: Any) -> Any:
    """`tqdm.auto.tqdm(**options)` when `enabled` and tqdm is installed, else a `NoBar` that draws nothing."""
    if not enabled:
        return NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:  # a bare install: work without a bar
        return NoBar()
    return tqdm(**options)
