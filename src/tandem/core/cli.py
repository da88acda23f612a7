"""What every ``tandem`` sub-command shares, wherever it is declared: the parser an app adds
its commands to (:class:`Commands`), the one-line failure (:class:`CommandError`), the
system actor, dates and tables. The command itself (``tandem.cli``) collects the commands
of every installed app (``TandemAppConfig.cli_commands``), each module's ``register``.

Command modules import Django and app code inside the command functions: the parser is
built before Django is loaded (see ``tandem.cli.main``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable

from tandem.core.principal import Principal, system_principal

EXIT_USAGE = 2
EXIT_FAILED = 1

Handler = Callable[[argparse.Namespace], int]


class CommandError(Exception):
    """A failure to report as one line on stderr (no traceback)."""


class Commands:
    """A level of ``tandem`` sub-commands (the top level, or a group such as ``audit``)."""

    def __init__(self, sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
        self._sub = sub

    def add(
        self, name: str, func: Handler, help_text: str, *, needs_data: bool = True
    ) -> argparse.ArgumentParser:
        """Add ``tandem NAME``. ``needs_data``: the command works on an existing instance's
        data, so outside a data directory it says so instead of creating one."""
        p = self._sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func, needs_data=needs_data)
        return p

    def group(self, name: str, help_text: str, *, dest: str) -> Commands:
        """Add ``tandem NAME ACTION``: a group whose actions are added to the result."""
        p = self._sub.add_parser(name, help=help_text, description=help_text)
        return Commands(p.add_subparsers(dest=dest, metavar="ACTION", required=True))


def system_actor(reason: str) -> Principal:
    """The system principal a command acts as, named after the command."""
    return system_principal(f"cli: {reason}")


def parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-12-31") from exc


def positive_int(value: str) -> int:
    """An argument that must be a whole number of at least 1 (an id, a count, days)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of 1 or more")
    return number


def print_table(head: tuple[str, ...], rows: list[tuple[str, ...]], *, empty: str) -> None:
    """Columns padded to their widest cell; ``empty`` (to stderr) when there is no row."""
    if not rows:
        print(empty, file=sys.stderr)
        return
    widths = [max(len(str(row[i])) for row in [head, *rows]) for i in range(len(head) - 1)]
    for row in [head, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, str(row[-1])]))
