"""Atomic file writes: a temp file in the target directory, fsync, then ``os.replace``.

A failure at any point (rendering, writing, syncing, renaming) leaves the previous file
untouched and removes the temp file, so a reader never sees half a report.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from planner.errors import InputError


def check_writable_target(path: str | Path, field: str = "out") -> Path:
    """The target as a Path, or an :class:`InputError` if it cannot be a file we write."""
    target = Path(path).expanduser()
    if str(path).strip() == "":
        raise InputError(field, str(path), "a file path")
    if target.is_dir():
        raise InputError(field, str(path), "a file path", detail="it is a directory")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(
            field,
            str(path),
            "a path in an existing directory",
            detail=f"{parent} does not exist or is not a directory",
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(field, str(path), "a writable path", detail=f"{parent} is not writable")
    if target.exists() and not os.access(target, os.W_OK):
        raise InputError(field, str(path), "a writable path", detail="the file is read-only")
    return target


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object], field: str = "out") -> Path:
    """Write a file atomically: ``write(f)`` fills a temp file that then replaces ``path``.

    Raises
    ------
    InputError
        When the path is not writable (naming ``field``); the previous file is kept.
    """
    target = check_writable_target(path, field)
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else _new_file_mode()
    try:
        fd, tmp_name = tempfile.mkstemp(
            dir=target.parent if str(target.parent) else ".",
            prefix=f".{target.name}.",
            suffix=".tmp",
        )
    except OSError as exc:
        raise InputError(
            field, str(path), "a writable path", detail=exc.strerror or str(exc)
        ) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise InputError(
            field, str(path), "a writable path", detail=exc.strerror or str(exc)
        ) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target
