"""Headless subcommands of ``optviz``: each module has ``add_parser(subparsers)`` and ``run(args) -> int``."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""
