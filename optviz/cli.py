"""The ``optviz`` command: the GUI by default, subcommands for headless work.

Every subcommand lives in ``optviz.commands.<name>`` with ``add_parser(subparsers)`` and ``run(args) -> int``.

Exit statuses, the same for every subcommand and for the GUI's own flags:

* **0**: done.
* **2**: bad input the user can fix on the command line, found *before any work starts*: an unknown flag or name, a
  flag given twice, a value out of range or malformed (a range whose LOW is not below HIGH included), an output path
  that is a folder, lies in a missing or read-only folder, has a suffix not allowed or names an input file, a
  missing or damaged input file (session, checkpoint, dataset files). Raised as :class:`UsageError` or a
  ValueError subclass from the core (ParamError, SessionError, DatasetError, …).
* **1**: a failure while working: out of memory, a file that cannot be written once the work is done (a full
  disk: :class:`OutputError`, whose line says where the result was kept instead, when it could be), a screenshot
  that could not be taken, a lesson whose claim does not hold (``optviz lessons --check``).
* 130: interrupted (Ctrl-C); 141: the reader of stdout left (``optviz surfaces | head``).

Either way one line on stderr, ``optviz: error: …``, never a traceback; no output file is created or left
half-written (files are written to a temporary file in the same folder and renamed).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from typing import Sequence

from optviz import __version__
from optviz.commands import RunError, UsageError, output_file
from optviz.core.files import OutputError

SUBCOMMANDS = ("surfaces", "paths", "train", "basins", "sweep", "export", "landscape", "sweep-lr", "lessons")


_GIVEN = "_optviz_given"  # the options met so far, kept on the namespace while parsing


class _StoreOnce(argparse._StoreAction):
    """``store``, refusing a second occurrence: ``--x a --x b`` would otherwise keep b without a word."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        given = namespace.__dict__.setdefault(_GIVEN, set())
        if self.dest in given:
            raise argparse.ArgumentError(self, "given twice (give it once)")
        given.add(self.dest)
        super().__call__(parser, namespace, values, option_string)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2, no usage dump
        raise UsageError(message)

    def add_argument(self, *args, **kwargs):
        if args and args[0].startswith("-") and kwargs.get("action", "store") == "store":
            kwargs["action"] = _StoreOnce  # every single-valued option; repeatable ones use action="append"
        return super().add_argument(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        namespace, rest = super().parse_known_args(args, namespace)
        namespace.__dict__.pop(_GIVEN, None)
        return namespace, rest


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
        _check_gui_args(args)
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


def _check_gui_args(args: argparse.Namespace) -> None:
    """The GUI's flags, before any window: the screenshot's file, and the data of a training it would run."""
    if not args.screenshot:
        return
    output_file(args.screenshot, "--screenshot", (".png",), others={"--session": args.session})
    tab = args.tab
    if tab is None and args.lesson:
        from optviz.core.lessons import get_lesson

        tab = get_lesson(args.lesson).tab
    if tab != "training" or not args.session:
        return
    from optviz.core.session import load_session

    training = load_session(args.session).training
    if training is not None:  # missing data: bad input, not a screenshot that failed
        from optviz.training.config import problems, validate
        from optviz.training.data import load_dataset

        found = problems(training)
        if found:
            raise UsageError(f"the session's training cannot start: {found[0]}")
        try:
            load_dataset(validate(training))  # its files, read as the training will read them
        except ValueError as exc:  # DatasetError
            raise UsageError(f"the session's training cannot start: {exc}") from None


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
