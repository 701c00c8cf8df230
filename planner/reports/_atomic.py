"""Safe atomic file writes: check the target, write a temp file beside it, then rename.

:func:`atomic_write` is the one way the planner writes a file a user named (reports; any
other output file should use it too). It is safe when run as root:

1. :func:`check_writable_target` turns the user's path into the real file to write, or raises
   :class:`~planner.errors.InputError` (one line naming the field, e.g. ``out``):

   - ``~`` and ``~user`` are expanded; an unknown user is refused;
   - a name the file system cannot hold (``ENAMETOOLONG``: usually 255 bytes per name,
     4096 in all) is refused;
   - symlinks are resolved: writing through a link to a regular file replaces the *target*
     atomically and the link stays a link; a dangling link or a loop is refused;
   - only an existing regular file, or a new name in an existing writable directory, is
     accepted: a directory, a character or block device (``/dev/null``), a FIFO or a socket
     is refused, so the rename never swaps a device node for a regular file.

2. The target directory is opened once; the temp file, the checks, the rename and the
   clean-up below all work relative to that descriptor (where the OS supports ``dir_fd``),
   so the directory cannot be swapped for a symlink in the middle of the write.
3. Temp files left by killed writers in that directory are removed
   (:func:`remove_stale_temp_files`).
4. The temp file ``.NAME.planner-TAG-PID-RANDOM.tmp`` is created with
   ``O_CREAT | O_EXCL | O_NOFOLLOW`` and mode ``0o666``, so the kernel applies the umask
   (and any default ACL): a new report gets ``0o666 & ~umask``, not ``mkstemp``'s ``0o600``.
   When a file is replaced, its permission bits (without set-user/group-ID) and, where
   allowed (as root), its owner and group are copied to the new file.
5. ``write(f)`` fills the temp file; it is flushed and fsynced; the target is checked again
   (still a regular file or still absent); ``os.replace`` renames the temp file over it and
   the directory is fsynced.

A failure at any point (rendering, writing, syncing, renaming) leaves the previous file
untouched and removes the temp file, so a reader never sees half a file. A writer killed
with SIGKILL cannot clean up; its temp file carries its host tag and PID, and the next
write into the same directory removes it.

Known limits: a replaced file loses its extended attributes and ACL entries (the new file
gets the directory's defaults); a file with several hard links is replaced under this name
only (the other names keep the old content), as with any atomic rename.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import socket
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, NoReturn

from planner.data_errors import resolve_user_path, show_path
from planner.errors import InputError

#: A temp file whose writer is not known to be alive is removed after this long (s):
#: 60 minutes, far longer than any report write (well under a minute for the largest).
STALE_AFTER_S = 3600.0
#: Marker in every temp file name (``.NAME.planner-TAG-PID-RANDOM.tmp``).
TEMP_MARKER = "planner"
#: At most this many characters of the target's name go into its temp file's name, so the
#: temp name stays far below NAME_MAX (255 bytes) whatever the target's name.
_LABEL_CHARS = 40
_TEMP_RE = re.compile(
    r"^\.(?P<label>[A-Za-z0-9._-]{0,40})\."
    + TEMP_MARKER
    + r"-(?P<tag>[0-9a-f]{6})-(?P<pid>[0-9]{1,10})-(?P<rand>[0-9a-f]{8})\.tmp$"
)
#: Temp files of earlier planner versions (``mkstemp``: ``.NAME.XXXXXXXX.tmp``); removed only
#: for the file being written and only when older than :data:`STALE_AFTER_S`.
_LEGACY_RAND = r"[a-z0-9_]{8}"
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)
_ALLOWED = "a regular file, or a new file name in an existing directory"
# os.replace takes src_dir_fd/dst_dir_fd wherever os.rename does (renameat).
_DIR_FD = {os.open, os.stat, os.unlink, os.rename} <= os.supports_dir_fd and (
    os.scandir in os.supports_fd
)


# --- checks ---------------------------------------------------------------------------------


def check_writable_target(path: str | os.PathLike[str], field: str = "out") -> Path:
    """The real file a write to ``path`` replaces, or an :class:`InputError` naming ``field``.

    Symlinks are resolved (the returned path has none), ``~`` is expanded, and the target
    must be an existing regular file or a new name in an existing, writable directory.
    Nothing is created or opened: a FIFO is never opened, a device never touched.

    Parameters
    ----------
    path : str or os.PathLike
        The path as the user gave it.
    field : str
        The input's name in error messages (``out`` for ``planner report --out``).

    Returns
    -------
    Path
        Absolute, symlink-free path of the file to write.

    Raises
    ------
    InputError
        One line naming ``field``, the value and what is allowed: empty path, unknown user in
        ``~user``, name too long, missing or non-directory parent, dangling symlink or loop,
        a directory, device, FIFO or socket, a read-only file or directory.
    """
    raw = os.fsdecode(os.fspath(path))

    def refuse(allowed: str, detail: str = "") -> NoReturn:
        raise InputError(field, show_path(raw), allowed, detail=detail)

    # empty, NUL, ~ and ~user (an unknown user is refused): worded as for every input path
    expanded = os.fspath(resolve_user_path(raw, field))
    head, name = os.path.split(expanded)
    ends_with_separator = raw.endswith(tuple(s for s in (os.sep, os.altsep) if s))
    is_link = False
    try:
        st: os.stat_result | None = os.lstat(expanded)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        _refuse_os_error(refuse, exc, expanded)
    if ends_with_separator or name in ("", ".", ".."):  # ``r.md/`` names a directory
        if os.path.isdir(expanded):
            refuse(_ALLOWED, "it is a directory")
        refuse("a file path, not a directory path", "it ends with a separator")
    if st is not None and stat.S_ISLNK(st.st_mode):
        is_link = True
        try:
            real = os.path.realpath(expanded, strict=True)
            st = os.stat(real)
        except (OSError, RuntimeError) as exc:
            link = _readlink(expanded)
            if getattr(exc, "errno", None) == errno.ELOOP or isinstance(exc, RuntimeError):
                refuse(_ALLOWED, f"it is a symlink loop ({name} -> {link})")
            refuse(_ALLOWED, f"it is a dangling symlink to {link!r}, which does not exist")
    else:
        parent = head or os.curdir
        try:
            real_parent = os.path.realpath(parent, strict=True)
        except (OSError, RuntimeError):
            refuse(
                "a path in an existing directory",
                f"the directory {parent} does not exist or is not reachable",
            )
        if not os.path.isdir(real_parent):
            refuse("a path in an existing directory", f"{parent} is not a directory")
        real = os.path.join(real_parent, name)
    if st is not None:
        kind = _kind(st.st_mode)
        if kind:
            refuse(_ALLOWED, f"it links to {real}, {kind}" if is_link else f"it is {kind}")
    real_parent = os.path.dirname(real)
    if not os.access(real_parent, os.W_OK | os.X_OK):
        refuse("a writable path", f"the directory {real_parent} is not writable")
    if st is not None and not os.access(real, os.W_OK):
        refuse("a writable path", "the file is read-only")
    return Path(real)


def _kind(mode: int) -> str:
    """``""`` for a regular file, else what it is (``a character device``...)."""
    if stat.S_ISREG(mode):
        return ""
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "not a regular file"  # pragma: no cover - door, whiteout, event port


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:  # pragma: no cover - the link vanished meanwhile
        return "?"


def _refuse_os_error(refuse: Callable[[str, str], NoReturn], exc: OSError, raw: str) -> NoReturn:
    """One line for an OSError met while looking the path ``raw`` up."""
    head = os.path.dirname(raw)
    if exc.errno == errno.ENAMETOOLONG:
        refuse(
            f"a path of at most {_name_max(head)} bytes per name and {_path_max(head)} in all "
            "(the file system's limits)",
            f"too long: the longest name has "
            f"{max(len(os.fsencode(p)) for p in raw.split(os.sep))} bytes, the path "
            f"{len(os.fsencode(raw))}",
        )
    if exc.errno == errno.ENOTDIR:
        refuse("a path in an existing directory", "a part of the path is not a directory")
    if exc.errno == errno.ELOOP:
        refuse(_ALLOWED, "the path has a symlink loop")
    refuse("a writable path", exc.strerror or str(exc))


def _pathconf(head: str, name: str, default: int) -> int:
    probe = head or os.curdir
    while probe and not os.path.isdir(probe):
        probe = os.path.dirname(probe)
    try:
        return int(os.pathconf(probe or os.curdir, name))
    except (OSError, ValueError, AttributeError):  # pragma: no cover - no pathconf (Windows)
        return default


def _name_max(head: str) -> int:
    return _pathconf(head, "PC_NAME_MAX", 255)


def _path_max(head: str) -> int:
    return _pathconf(head, "PC_PATH_MAX", 4096)


# --- temp files -----------------------------------------------------------------------------


def writer_tag() -> str:
    """Six hex digits naming this host and PID namespace (a PID means nothing elsewhere).

    A stale temp file is removed as soon as its PID is dead only when its tag is this one; a
    temp file from another host (a shared network directory) or container is removed only
    when older than :data:`STALE_AFTER_S`.
    """
    ns = ""
    with contextlib.suppress(OSError):
        ns = os.readlink("/proc/self/ns/pid")
    return hashlib.sha256(f"{socket.gethostname()}\0{ns}".encode()).hexdigest()[:6]


def temp_name(target_name: str, pid: int | None = None, tag: str | None = None) -> str:
    """A fresh temp file name for ``target_name``: ``.LABEL.planner-TAG-PID-RANDOM.tmp``.

    LABEL is the target's name cut to 40 characters of ``[A-Za-z0-9._-]`` (other characters
    become ``_``), so the temp name is at most 75 bytes whatever the target's name.
    """
    label = re.sub(r"[^A-Za-z0-9._-]", "_", target_name)[:_LABEL_CHARS]
    pid = os.getpid() if pid is None else pid
    return f".{label}.{TEMP_MARKER}-{tag or writer_tag()}-{pid}-{secrets.token_hex(4)}.tmp"


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` may still run on this host (unknown -> alive, so the file is kept)."""
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # EPERM: alive, another user's
        return True
    return True


def _is_stale(name: str, st: os.stat_result, target_name: str | None, now: float, tag: str) -> bool:
    old = now - st.st_mtime > STALE_AFTER_S
    m = _TEMP_RE.match(name)
    if m is not None:
        if old:
            return True
        return m["tag"] == tag and not _pid_alive(int(m["pid"]))
    if target_name is not None and old:
        legacy = r"^\." + re.escape(target_name) + r"\." + _LEGACY_RAND + r"\.tmp$"
        return re.match(legacy, name) is not None
    return False


def remove_stale_temp_files(
    directory: str | os.PathLike[str], target_name: str | None = None
) -> list[str]:
    """Remove temp files left in ``directory`` by killed writers; the names removed.

    Only regular files (never symlinks, never followed) directly in ``directory`` whose name
    matches ``.LABEL.planner-TAG-PID-RANDOM.tmp`` are candidates. One is removed when its
    writer's PID is dead on this host (same :func:`writer_tag`), or when it is older than
    :data:`STALE_AFTER_S` whatever the PID. With ``target_name``, temp files of earlier
    planner versions for that file (``.NAME.XXXXXXXX.tmp``) older than
    :data:`STALE_AFTER_S` go too. Errors are ignored: clean-up never fails a write.
    """
    fd = _open_dir(os.fspath(directory))
    if fd is None:
        return []
    try:
        return _remove_stale(fd, os.fspath(directory), target_name)
    finally:
        if fd >= 0:
            os.close(fd)


def _scan(fd: int, directory: str) -> Iterator[os.DirEntry[str]]:
    with contextlib.suppress(OSError), os.scandir(fd if fd >= 0 else directory) as it:
        yield from it


def _remove_stale(fd: int, directory: str, target_name: str | None) -> list[str]:
    removed = []
    now, tag = time.time(), writer_tag()
    for entry in _scan(fd, directory):
        name = entry.name
        if not (name.startswith(".") and name.endswith(".tmp")):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or not _is_stale(name, st, target_name, now, tag):
                continue
            if fd >= 0:
                os.unlink(name, dir_fd=fd)
            else:  # pragma: no cover - no dir_fd (Windows)
                os.unlink(os.path.join(directory, name))
        except (OSError, ValueError):
            continue
        removed.append(name)
    return removed


def _open_dir(directory: str) -> int | None:
    """A descriptor of ``directory`` for ``dir_fd`` calls (-1 without dir_fd support).

    ``O_PATH`` (Linux) when the directory is writable but not readable; ``None`` if it
    cannot be opened at all.
    """
    if not _DIR_FD:  # pragma: no cover - Windows
        return -1
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(directory, flags)
    except PermissionError:
        if not hasattr(os, "O_PATH"):  # pragma: no cover - macOS, no O_PATH
            return None
        try:
            return os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:  # pragma: no cover
            return None
    except OSError:
        return None


# --- the write ------------------------------------------------------------------------------


def atomic_write(
    path: str | os.PathLike[str], write: Callable[[BinaryIO], object], field: str = "out"
) -> Path:
    """Write a file atomically and safely: ``write(f)`` fills a temp file that replaces it.

    See the module docstring for every step. ``path`` may be a symlink to a regular file
    (the target is replaced, the link kept) or a new name in an existing directory.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write, as the user gave it.
    write : callable
        Called once with the temp file opened ``wb``; it writes the whole content.
    field : str
        The input's name in error messages.

    Returns
    -------
    Path
        The real (symlink-free, absolute) file written.

    Raises
    ------
    InputError
        The path cannot be written (see :func:`check_writable_target`), or writing, syncing
        or renaming failed (e.g. disk full); the previous file is kept, no temp file is left.
    """
    target = check_writable_target(path, field)
    directory, name = str(target.parent), target.name
    shown = os.fsdecode(os.fspath(path))

    def refuse(allowed: str, detail: str) -> NoReturn:
        raise InputError(field, show_path(shown), allowed, detail=detail)

    dir_fd = _open_dir(directory)
    if dir_fd is None:
        refuse("a writable path", f"the directory {directory} cannot be opened")
    try:
        _remove_stale(dir_fd, directory, name)
        tmp, fd = _create_temp(dir_fd, directory, name, refuse)
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                current = _lstat(dir_fd, directory, name)
                if current is not None:
                    if not stat.S_ISREG(current.st_mode):
                        refuse(_ALLOWED, f"{target} became {_kind(current.st_mode)}")
                    _copy_owner_and_mode(f.fileno(), current)
                os.fsync(f.fileno())
            if dir_fd >= 0:
                os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            else:  # pragma: no cover - Windows
                os.replace(os.path.join(directory, tmp), target)
        except OSError as exc:
            _unlink_quietly(dir_fd, directory, tmp)
            refuse("a writable path", exc.strerror or str(exc))
        except BaseException:
            _unlink_quietly(dir_fd, directory, tmp)
            raise
        if dir_fd >= 0:
            with contextlib.suppress(OSError):  # durability of the rename; EBADF for O_PATH
                os.fsync(dir_fd)
    finally:
        if dir_fd >= 0:
            os.close(dir_fd)
    return target


def _create_temp(
    dir_fd: int, directory: str, name: str, refuse: Callable[[str, str], NoReturn]
) -> tuple[str, int]:
    """Create a new temp file (never an existing one, never through a symlink)."""
    flags = (
        os.O_WRONLY
        | os.O_CREAT
        | os.O_EXCL
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_CLOEXEC", 0)
        | getattr(os, "O_BINARY", 0)
    )
    tag = writer_tag()
    for _ in range(16):
        tmp = temp_name(name, tag=tag)
        try:
            if dir_fd >= 0:
                return tmp, os.open(tmp, flags, 0o666, dir_fd=dir_fd)
            return tmp, os.open(os.path.join(directory, tmp), flags, 0o666)  # pragma: no cover
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        except OSError as exc:
            refuse("a writable path", exc.strerror or str(exc))
    refuse("a writable path", "no free temp file name")  # pragma: no cover


def _lstat(dir_fd: int, directory: str, name: str) -> os.stat_result | None:
    try:
        if dir_fd >= 0:
            return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        return os.lstat(os.path.join(directory, name))  # pragma: no cover - Windows
    except FileNotFoundError:
        return None


def _copy_owner_and_mode(fd: int, old: os.stat_result) -> None:
    """Give the new file the replaced file's owner, group (where allowed) and permissions.

    Set-user-ID and set-group-ID bits are not copied (a report is not a program).
    """
    new = os.fstat(fd)
    if (new.st_uid, new.st_gid) != (old.st_uid, old.st_gid) and hasattr(os, "fchown"):
        with contextlib.suppress(OSError):  # root: both; others: a group they belong to
            os.fchown(fd, old.st_uid, old.st_gid)
        with contextlib.suppress(OSError):
            os.fchown(fd, -1, old.st_gid)
    mode = stat.S_IMODE(old.st_mode) & ~(stat.S_ISUID | stat.S_ISGID)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # pragma: no cover - Windows
        pass


def _unlink_quietly(dir_fd: int, directory: str, tmp: str) -> None:
    with contextlib.suppress(OSError):
        if dir_fd >= 0:
            os.unlink(tmp, dir_fd=dir_fd)
        else:  # pragma: no cover - Windows
            os.unlink(os.path.join(directory, tmp))
