"""The ``optviz`` command: the GUI by default, subcommands for headless work.

Every subcommand lives in ``optviz.commands.<name>`` with ``add_parser(subparsers)`` and ``run(args) -> int``.
Bad input raises :class:`UsageError` (or a ValueError subclass from the core); ``main`` turns it into one line
on stderr and exit status 2, never a traceback. A file that cannot be written (:class:`OutputError`) gives one
line and exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from typing import Sequence

from optviz import __version__
from optviz.commands import RunError, UsageError
from optviz.core.files import OutputError

SUBCOMMANDS = ("surfaces", "paths", "train", "basins", "sweep", "export", "landscape", "sweep-lr", "lessons")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2, no usage dump
        raise UsageError(message)


def _gui_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="optviz", description="Watch optimizers on 2D loss surfaces; train small CNNs with live plots. "
                f"Subcommands for headless work: {', '.join(SUBCOMMANDS)} (optviz SUBCOMMAND --help).")
    p.add_argument("--version", action="version", version=f"optviz {__version__}")
    p.add_argument("--session", metavar="FILE.json", help="open this session file")
    p.add_argument("--tab", choices=("playground", "training"), help="tab to show first")
    p.add_argument("--screenshot", metavar="FILE.png",
                   help="render the window offscreen once results are ready, save it and exit")
    p.add_argument("--size", metavar="WxH", default="1400x900", help="window size for --screenshot (default 1400x900)")
    p.add_argument("--lesson", metavar="NAME", help="open the app on a lesson (optviz lessons lists them)")
    return p


def _module(command: str) -> str:
    """The module of a subcommand: ``sweep-lr`` lives in ``optviz.commands.sweep_lr``."""
    return command.replace("-", "_")


def _sub_parser(name: str) -> argparse.ArgumentParser:
    """A parser for one subcommand (only its module is imported: `optviz paths` need not load the trainer)."""
    p = _Parser(prog="optviz")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    importlib.import_module(f"optviz.commands.{_module(name)}").add_parser(sub)
    return p


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--start -1.5,2`` → ``--start=-1.5,2``: argparse would take "-1.5,2" for an option."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1].startswith("--") and "=" not in out[-1] and re.match(r"^-\.?\d", arg):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = _join_negative_values(list(sys.argv[1:] if argv is None else argv))
    try:
        if argv and argv[0] in SUBCOMMANDS:
            args = _sub_parser(argv[0]).parse_args(argv)
            module = importlib.import_module(f"optviz.commands.{_module(args.command)}")
            return int(module.run(args) or 0)
        args = _gui_parser().parse_args(argv)
        from optviz.ui.app import run_gui  # Qt is imported only for the GUI

        return run_gui(args)
    except (UsageError, ValueError) as exc:  # ParamError, SessionError, DatasetError, … from the core
        return _error(exc, 2)
    except (OutputError, RunError) as exc:  # a file that cannot be written, a run out of memory: not bad input
        return _error(exc, 1)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `optviz surfaces | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


MAX_MESSAGE = 500


def _error(exc: Exception, status: int) -> int:
    """Print one line, whatever the message holds (control characters escaped, length capped)."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(exc))
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    print(f"optviz: error: {text}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
