"""Checkpoints: `tn.save(obj, path)` and `tn.load(path, map_location=None)`.

A checkpoint holds nested dicts / lists / tuples of tensors, numbers, strings, booleans and None (model and
optimizer state dicts, epoch counters, ...). Engine tensors and Parameters are stored as plain CPU torch
tensors, in torch's own file format, so `torch.load` reads our checkpoints and `tn.load` reads torch's
state-dict files.

Safety: loading never runs code from the file (torch's weights-only unpickler; anything else, such as a
pickled `os.system` call, is refused with `UnsafeCheckpointError`). Atomicity: saving writes a temporary
file in the destination folder and renames it over the target, so an error or a crash mid-save leaves the
previous checkpoint intact.

Integrity: every file `save` writes carries one more record in its zip archive, `<archive>/tinygrad_n2n.sha256`,
the SHA-256 of every other record's name and bytes; `load` recomputes it and refuses a file that changed
(`CheckpointError`). Before anything is read, the archive's directory must not declare more uncompressed bytes
than twice the file's size plus 1 MiB (torch stores records uncompressed; a zip bomb declares far more).
Files without a digest (written by `torch.save` or an older version) still load, with a logged warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import secrets
import stat
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, BinaryIO

import torch

from ._tensor import Tensor

PathLike = str | os.PathLike

_ATOMS = (int, float, bool, str, bytes, type(None))
DIGEST_RECORD = "tinygrad_n2n.sha256"  # inside the archive's folder, beside torch's data.pkl
MAX_EXPANSION, EXPANSION_SLACK = 2, 1 << 20  # declared uncompressed bytes ≤ 2 · file size + 1 MiB

logger = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """The file is not a checkpoint: truncated, corrupt, or some other kind of file."""


class UnsafeCheckpointError(CheckpointError):
    """The file holds objects other than tensors and plain containers (e.g. code to run); it was not loaded."""


def _storable(value: Any, where: str) -> Any:
    """A copy of `value` with engine tensors as plain CPU torch tensors; rejects what a checkpoint can't hold."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, _ATOMS):
        return value
    if isinstance(value, dict):
        items = [(key, _storable(item, f"{where}[{key!r}]")) for key, item in value.items()]
        for key, _ in items:
            if not isinstance(key, _ATOMS):
                raise TypeError(f"tn.save: key {key!r} in {where} must be a string or a number")
        return OrderedDict(items) if isinstance(value, OrderedDict) else dict(items)
    if isinstance(value, (list, tuple)):
        return type(value)(_storable(item, f"{where}[{i}]") for i, item in enumerate(value))
    raise TypeError(
        f"tn.save: {where} is a {type(value).__name__}; a checkpoint holds tensors, numbers, strings, None "
        "and dicts/lists/tuples of them (save a model's or optimizer's state_dict(), not the object)"
    )


def _write(payload: Any, handle: BinaryIO) -> None:
    """Serialise `payload` into an open binary file (torch's zip format)."""
    torch.save(payload, handle)


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[str]:
    """Yield a new temporary file's path in `path`'s folder; on success rename it over `path`, on error delete it.

    Every file the package writes (checkpoints, run outputs, rendered graphs) goes through here, so a reader
    only ever sees the old file or the complete new one. Permissions are those `open(path, "w")` gives: a
    new file gets 0o666 & ~umask (the kernel applies the umask at creation), a replaced file keeps its mode.
    The folder must exist.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"folder {folder!r} does not exist (for {path!r})")
    temporary = _create_beside(path)
    try:
        yield temporary
        with contextlib.suppress(FileNotFoundError):  # a new file keeps the mode it was created with
            os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _create_beside(path: str) -> str:
    """Create an empty, uniquely named file `.NAME.<random>.tmp` beside `path` with mode 0o666 & ~umask."""
    folder, name = os.path.split(os.path.abspath(path))
    while True:
        temporary = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return temporary


def save(obj: Any, path: PathLike) -> None:
    """Write `obj` (nested dicts/lists of tensors and numbers, e.g. state dicts) to `path`, atomically.

    The data goes to a temporary file in the same folder, gets its SHA-256 digest record, is flushed to disk,
    then is renamed over `path`; if anything fails, the temporary file is removed and an existing checkpoint
    at `path` is untouched.
    """
    payload = _storable(obj, "obj")
    try:
        with atomic_path(path) as temporary:
            with open(temporary, "wb") as handle:
                _write(payload, handle)
            _append_digest(temporary)
            with open(temporary, "rb+") as handle:
                os.fsync(handle.fileno())
    except FileNotFoundError as error:
        raise FileNotFoundError(f"tn.save: {error}") from None


def load(path: PathLike, map_location: Any = None) -> Any:
    """Read a checkpoint written by `save` (or a torch.save'd state dict) without running any code.

    map_location: None (tensors stay on the CPU), a device (`"cuda"`, `torch.device(...)`) or anything
    `torch.load` accepts. Tensors come back as plain torch tensors, ready for `load_state_dict`.
    Raises FileNotFoundError, UnsafeCheckpointError (the file holds code or arbitrary objects) or
    CheckpointError (truncated, corrupt, changed since it was saved, or not a checkpoint), each naming the path.
    A file without a digest (plain `torch.save`) loads with a warning on the `tinygrad_n2n.serialization` logger.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"tn.load: no checkpoint file at {path!r}")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"tn.load: {path!r} is not a checkpoint: the file is empty")
    if isinstance(map_location, (str, torch.device)):
        device = torch.device(map_location)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"tn.load: map_location={map_location!r} but CUDA is not available (loading {path!r})")
    verified = _verify(path)
    try:
        loaded = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        lines = str(error).splitlines()
        if "weights only" in str(error).lower():
            reason = next((line.strip() for line in lines if "unsupported" in line.lower()), "")
            raise UnsafeCheckpointError(
                f"tn.load: refused to load {path!r}: it holds objects other than tensors, numbers and plain "
                f"containers (possibly code that would run on loading); nothing from it was executed. {reason}"
            ) from None
        raise CheckpointError(f"tn.load: {path!r} is not a checkpoint (unreadable pickle data: {error})") from None
    except (RuntimeError, EOFError, ValueError, KeyError, IndexError, AttributeError, OSError) as error:
        detail = (str(error).splitlines() or [""])[0]
        raise CheckpointError(
            f"tn.load: {path!r} is not a readable checkpoint (truncated, corrupt, or another kind of file; "
            f"{type(error).__name__}: {detail})"
        ) from None
    if not verified:
        note = "tn.load: %r carries no content digest (written by torch.save or an older tn.save): loaded unverified"
        logger.warning(note, path)
    return loaded


def _archive_digest(archive: zipfile.ZipFile, records: list[zipfile.ZipInfo]) -> str:
    """SHA-256 over each record's name, size and bytes, in archive order (reads stream by stream; checks CRCs)."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(f"{record.filename}\0{record.file_size}\0".encode())
        with archive.open(record) as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _append_digest(path: str) -> None:
    """Add the DIGEST_RECORD (hex SHA-256 of every other record) to the zip archive torch.save wrote at `path`."""
    with zipfile.ZipFile(path, "a") as archive:
        records = archive.infolist()
        folder = records[0].filename.partition("/")[0]  # torch reads only records inside the archive's folder
        archive.writestr(f"{folder}/{DIGEST_RECORD}", _archive_digest(archive, records))


def _verify(path: str) -> bool:
    """Check the archive's declared size and its digest before torch reads it -> True when a digest matched.

    False: no digest to check (a plain torch file, or not a zip archive: torch.load decides what it is).
    """
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        return False
    except Exception as error:  # zipfile raises many kinds on damaged directories
        raise CheckpointError(f"tn.load: {path!r} is corrupt (unreadable zip directory: {error})") from None
    with archive:
        records = archive.infolist()
        declared, size = sum(record.file_size for record in records), os.path.getsize(path)
        if declared > MAX_EXPANSION * size + EXPANSION_SLACK:
            raise CheckpointError(
                f"tn.load: refused {path!r}: its records declare {declared:,} bytes uncompressed from a {size:,}-byte "
                "file (a compression bomb, or not a checkpoint)"
            )
        stored = [record for record in records if record.filename.endswith("/" + DIGEST_RECORD)]
        if not stored:
            return False
        others = [record for record in records if record not in stored]
        try:
            expected = archive.read(stored[-1]).decode("ascii", "replace").strip()
            actual = _archive_digest(archive, others)
        except Exception as error:  # bad CRC, damaged local headers, ...
            raise CheckpointError(f"tn.load: {path!r} is corrupt ({type(error).__name__}: {error})") from None
    if actual != expected:
        raise CheckpointError(
            f"tn.load: {path!r} is corrupt: its content no longer matches the SHA-256 digest written with it"
        )
    return True
