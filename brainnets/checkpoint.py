"""Files that are either whole or absent: atomic writes for checkpoints and results.

Each writer writes to a temporary file in the destination folder, flushes it to disk and renames it
over the destination, so a run killed at any moment leaves the previous version, never half of one.
"""
from __future__ import annotations

import fcntl
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: How :func:`write_bytes_atomic` names a file while writing it (``.NAME.XXXX.tmp``); one is left only by a kill.
LEFTOVER_PATTERN = ".*.tmp"


def remove_leftovers(folder: str | Path) -> None:
    """Remove what writes killed mid-way left in ``folder`` (the finished files are whole: never touched)."""
    for path in Path(folder).glob(LEFTOVER_PATTERN):
        path.unlink(missing_ok=True)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes private files; results are for everyone
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | Path, document) -> None:
    write_bytes_atomic(path, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())


def save_arrays_atomic(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes_atomic(path, buffer.getvalue())


class CorruptFileError(ValueError):
    """A file the package wrote earlier (a checkpoint, a saved network) cannot be read back."""


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file; a truncated or corrupt one raises :class:`CorruptFileError` naming it."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, EOFError, ValueError, KeyError) as error:
        raise CorruptFileError(f"{path}: truncated or corrupt, cannot be read back ({error}); delete it, "
                               "or start the run again in a new folder") from None


class RunFolderError(RuntimeError):
    """An output folder cannot take this run: it holds a finished run, another run, or nothing to resume."""


#: Folders this process holds (resolved path -> the open folder whose lock it holds).
_HELD: dict[Path, int] = {}


def hold_folder(folder: str | Path) -> None:
    """Make ``folder`` (which exists) this process's own until :func:`release_folder` or the process ends:
    a second process that asks for it (two runs or studies writing into one --out) is refused. The lock is
    the kernel's (``flock`` on the folder itself), so no file is made and a killed process releases it."""
    folder = Path(folder).resolve()
    if folder in _HELD:
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(handle)
        raise RunFolderError(f"{folder} is in use by another brainnets process; wait for it to end, or choose "
                             "another --out") from None
    _HELD[folder] = handle


def release_folder(folder: str | Path) -> None:
    handle = _HELD.pop(Path(folder).resolve(), None)
    if handle is not None:
        os.close(handle)


def check_new_result(path: str | Path) -> None:
    """A result file a study is about to write must not exist yet: finished results are never overwritten."""
    if Path(path).exists():
        raise ValueError(f"{path} exists; choose another --out")


def add_run_folder_arguments(parser) -> None:
    """The options of a resumable training run's folder: ``--out``, ``--resume`` (see :func:`check_run_folder`)
    and ``--quiet``."""
    parser.add_argument("--out", required=True, help="output folder; must be new unless --resume")
    parser.add_argument("--resume", action="store_true", help="continue the training checkpointed in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def check_run_folder(out: str | Path, resume: bool, checkpoint: Path | None = None,
                     finished: str = "metrics.json") -> None:
    """A finished run (its ``finished`` file written) is never overwritten; a folder with something else in
    it is used only to resume, and ``resume`` needs the ``checkpoint`` when there is one to look for."""
    out = Path(out)
    if (out / finished).exists():
        raise RunFolderError(f"{out} holds a finished run ({finished}); choose another --out")
    if out.is_dir():
        remove_leftovers(out)
    if resume:
        if checkpoint is not None and not checkpoint.exists():
            raise RunFolderError(f"--resume: no checkpoint in {out}")
        return
    if out.exists() and any(out.iterdir()):
        raise RunFolderError(f"{out} is not empty (add --resume to continue it); choose another --out")
