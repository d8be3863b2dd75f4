"""Files that are never half-written: write to a temporary file, then rename.

A training run can be killed at any moment (a time limit, Ctrl-C, a full disk).
Writing a checkpoint or an image straight to its final name risks leaving a
truncated file that a later ``--resume`` or a viewer then chokes on. Writing to
a temporary file in the *same* folder and renaming it with :func:`os.replace`
is atomic on POSIX and Windows: readers see the old file or the new one, never
a mix. Checkpoints, JSON and YAML files, and every PNG the kit writes
(:func:`ceec_lab.data.write_png`) go through :func:`atomic_path`.

A command that writes a *set* of files (``predict``'s masks, ``data synth``'s
pairs) builds them in a temporary folder and moves them into place at the end
(:func:`atomic_folder`): a failure half-way leaves nothing behind, and an output
folder that already holds files is refused unless the user says to replace them
(:func:`check_output_folder`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Give a temporary path beside ``path``; rename it over ``path`` on success.

    Example::

        with atomic_path("runs/last.pt") as tmp:
            torch.save(state, tmp)

    The temporary file is removed if the block raises, so nothing is left behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_torch(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` made atomic."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def load_torch(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by :func:`save_torch`.

    ``weights_only=True``: only tensors and plain Python values are unpickled, so
    a checkpoint from elsewhere cannot run code on your machine.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is empty, truncated, not written by ``torch.save`` or
            holds something else than a dict (the message names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch.load fails in many ways on a bad file: name the file
        if isinstance(error, FileNotFoundError | PermissionError):
            raise
        detail = str(error).split(". ")[0].splitlines()[0] if str(error) else ""
        cause = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
        raise ValueError(
            f"{path}: not a readable checkpoint - truncated, empty or not written by "
            f"torch.save ({cause})"
        ) from error
    if not isinstance(state, dict):
        raise ValueError(f"{path}: holds a {type(state).__name__}, not a checkpoint dict")
    return state


def check_output_folder(path: str | os.PathLike, overwrite: bool, option: str) -> Path:
    """Check that ``path`` can receive a command's outputs, before any work starts.

    Args:
        path: the output folder (it may not exist yet).
        overwrite: whether the user allowed replacing what is there.
        option: how the user names the folder (``"--out"``), for the messages.

    Raises:
        ValueError: ``path`` is a file, or a folder that already holds files
            while ``overwrite`` is false.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path}: is a file; expected a folder")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        shown = ", ".join(sorted(p.name for p in path.iterdir())[:4])
        raise ValueError(
            f"{option} {path}: already holds files ({shown}); choose an empty folder "
            "or pass --overwrite (overwrite=True) to replace them"
        )
    return path


@contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Give a temporary folder beside ``path``; move its contents into ``path`` on success.

    Example::

        with atomic_folder("predictions") as tmp:
            write_png(tmp / "masks" / "a.png", mask)

    Each top-level entry of the temporary folder replaces the entry of the same
    name in ``path`` (``predictions/masks`` as a whole, so no stale mask survives);
    other files in ``path`` are left alone. If the block raises, the temporary
    folder is deleted and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the usual permissions
    try:
        yield tmp
        if not path.exists():
            os.replace(tmp, path)
            return
        for entry in sorted(tmp.iterdir()):
            target = path / entry.name
            if target.is_dir() and not target.is_symlink():
                os.replace(target, tmp / f".{entry.name}.replaced")  # deleted with tmp below
            os.replace(entry, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def save_json(obj: Any, path: str | os.PathLike) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2) + "\n")
    return Path(path)
