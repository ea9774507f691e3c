"""A run's output folder: one run at a time (a lock), leftovers of a killed run cleaned, writability checked first.

The lock is `flock` on `<folder>/.lock`, which holds the owner's pid: the kernel releases it when the process
ends, however it ends, so a lock left by a killed run never blocks the next one. Where `fcntl` does not exist
(Windows) folders are not locked.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

LOCK = ".lock"
LEFTOVER = re.compile(r"\..+\.[0-9a-f]{8}\.tmp")  # serialization.atomic_path's temporary files


class FolderBusyError(RuntimeError):
    """Another live process holds the run folder (message names its pid)."""


class FolderNotWritableError(ValueError):
    """The output folder cannot be created or written (message names it and the reason)."""


@contextlib.contextmanager
def claim(folder: str | Path) -> Iterator[list[str]]:
    """Hold `folder` (created if needed) for one run -> the names of the leftover temporary files it removed.

    Raises FolderNotWritableError before any work when the folder cannot be written, and FolderBusyError when
    another live process holds it. Leftovers (`.NAME.xxxxxxxx.tmp` from a run killed mid-write) are removed
    once the lock is held, when no other run can be writing them.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / LOCK, "a+")  # noqa: SIM115 (held open for the whole run)
    except OSError as error:
        raise FolderNotWritableError(f"cannot write to {folder} ({error.strerror}): choose another --out") from None
    with handle:
        _lock(handle, folder)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            removed = remove_leftovers(folder)
        except OSError as error:
            raise FolderNotWritableError(f"cannot write to {folder} ({error.strerror}): choose another --out") from None
        yield removed


def _lock(handle: object, folder: Path) -> None:
    """flock the open lock file without waiting; FolderBusyError naming the holder's pid when it is taken."""
    if fcntl is None:
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "unknown"
        raise FolderBusyError(
            f"{folder} is in use by another run (pid {pid}); wait for it to finish or choose another --out"
        ) from None


def remove_leftovers(folder: Path) -> list[str]:
    """Delete the temporary files an interrupted atomic write left in `folder` -> their names."""
    removed = []
    for path in folder.iterdir():
        if LEFTOVER.fullmatch(path.name) and path.is_file():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path.name)
    return sorted(removed)


def check_writable(folder: str | Path) -> None:
    """Fail early (FolderNotWritableError) when a file cannot be created in `folder` (created if needed)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test.{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise FolderNotWritableError(f"cannot write to {folder} ({error.strerror})") from None
