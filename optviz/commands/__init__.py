"""Headless subcommands of ``optviz``: each module has ``add_parser(subparsers)`` and ``run(args) -> int``.

Exit statuses (the rule is written once, in :mod:`optviz.cli`): bad input found before any work starts raises
:class:`UsageError` (status 2); a failure while working raises :class:`RunError` or ``OutputError`` (status 1).
:func:`output_file` checks an output flag up front; :func:`write_or_keep` writes the result at the end and, where
that fails, keeps it in the temporary folder.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Mapping, Sequence

from optviz.core.files import OutputError, check_output


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


class RunError(Exception):
    """A run that stopped for a reason the user can act on (out of memory): one line, exit status 1."""


def output_file(path: str, flag: str, suffixes: Sequence[str] = (), *,
                others: Mapping[str, str | None] | None = None) -> Path:
    """``path`` checked before any work (its folder exists and is writable, it is not a folder, its suffix is
    allowed, it is not the file of another flag, ``others``: {flag: path}): UsageError naming ``flag`` and what
    is allowed otherwise."""
    allowed = "a file name" + (f" ending in {' or '.join(suffixes)}" if suffixes else "") + \
        " in a folder that exists and is writable"
    try:
        out = check_output(path, suffixes)
    except (OutputError, ValueError) as exc:
        text = str(exc)
        raise UsageError(f"{flag}: {text}" + ("" if "(allowed:" in text else f" (allowed: {allowed})")) from None
    for other, given in (others or {}).items():
        if given and _same_file(out, Path(given)):
            raise UsageError(f"{flag}: {str(path)!r} is also the file of {other}: one would replace the other "
                             "(allowed: another file name)")
    return out


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (or one file to be: neither need exist yet)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except (OSError, RuntimeError):
        return False


def write_or_keep(out: Path, write: Callable[[Path], None]) -> None:
    """``write(out)``; when that fails after the work is done (a full disk, a folder removed meanwhile), the same
    write into the temporary folder, so the result is not lost. OutputError, one line, says what happened: the
    target's reason and, where the spare copy worked, where it is."""
    try:
        write(out)
    except OutputError as exc:
        spare = _spare(out)
        if spare is None:
            raise
        try:
            write(spare)
        except OutputError:
            spare.unlink(missing_ok=True)
            raise exc from None
        raise OutputError(f"{exc}; kept it as {str(spare)!r} instead") from None


def _spare(out: Path) -> Path | None:
    """A new empty file in the temporary folder named like ``out``; None where that folder is ``out``'s own."""
    folder = tempfile.gettempdir()
    if _same_file(Path(folder), out.parent if str(out.parent) else Path(".")):
        return None
    try:
        fd, name = tempfile.mkstemp(prefix=f"{out.stem}-", suffix=out.suffix, dir=folder)
    except OSError:
        return None
    os.close(fd)
    return Path(name)


def plural(n: int, one: str, many: str) -> str:
    """``1 copy``, ``2 copies``."""
    return f"{n} {one if n == 1 else many}"
