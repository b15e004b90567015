"""The one way optviz writes a file: atomically, or not at all.

Every file the app writes (CSV, JSON, checkpoints, sessions, exports) goes through :func:`write_atomic`: the data
goes to a temporary file in the target's folder, is flushed and fsync'd, and is then renamed over the target, so a
full disk, an error or a kill leaves the previous file intact. An existing file keeps its permissions; a new one
gets the usual umask-based mode. :func:`check_output` checks a target before any work starts. Both raise
:class:`OutputError`, one line naming the file and the reason.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO, Callable, Sequence

Writer = Callable[[BinaryIO], None]


class OutputError(Exception):
    """A file that cannot be written: one line naming it and why (the CLI exits with status 1)."""


def cache_root() -> Path:
    """Where optviz keeps what it can rebuild: ``$OPTVIZ_CACHE_DIR``, else ``$XDG_CACHE_HOME/optviz`` or
    ``~/.cache/optviz`` (not created here)."""
    root = os.environ.get("OPTVIZ_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "optviz")
    return Path(root)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno is not None:
        return os.strerror(exc.errno).lower()
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_output(path: str | os.PathLike, suffixes: Sequence[str] = ()) -> Path:
    """``path`` if a file can be written there: its folder exists and is writable, it is not a folder, its name is
    allowed; OutputError (or ValueError for a wrong suffix) otherwise."""
    p = Path(path)
    if not str(path).strip() or p.name in ("", ".", ".."):
        raise ValueError(f"Invalid output file {str(path)!r} (allowed: a file name)")
    if suffixes and p.suffix.lower() not in suffixes:
        raise ValueError(f"Invalid output file {str(path)!r} (allowed: a file name ending in {' or '.join(suffixes)})")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {str(p)!r}: folder {str(folder)!r} does not exist")
    try:
        max_name = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        max_name = 255
    if len(os.fsencode(p.name)) + 16 > max_name:  # room for the temporary file's longer name
        raise OutputError(f"cannot write {str(p)!r}: file name too long")
    if p.is_dir():
        raise OutputError(f"cannot write {str(p)!r}: it is a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {str(p)!r}: folder {str(folder)!r} is not writable")
    return p


def write_atomic(path: str | os.PathLike, data: str | bytes | Writer) -> None:
    """Write ``data`` (text, bytes, or a function that writes to a binary file) to ``path`` atomically."""
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    tmp = folder / f".{p.name}.{secrets.token_hex(4)}.tmp"
    fd = -1
    try:
        mode = stat.S_IMODE(os.stat(p).st_mode) if p.exists() else None
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 minus the umask, as open() gives
        with os.fdopen(fd, "wb") as fh:
            fd = -1
            if callable(data):
                data(fh)
            else:
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, p)
        _sync_folder(folder)
    except BaseException as exc:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        if isinstance(exc, (OSError, RuntimeError)):  # torch.save reports a full disk as RuntimeError
            raise OutputError(f"cannot write {str(p)!r}: {_reason(exc)}") from None
        raise


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every file system lets a folder be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)
