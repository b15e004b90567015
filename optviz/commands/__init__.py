"""Headless subcommands of ``optviz``: each module has ``add_parser(subparsers)`` and ``run(args) -> int``."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


class RunError(Exception):
    """A run that stopped for a reason the user can act on (out of memory): one line, exit status 1."""
