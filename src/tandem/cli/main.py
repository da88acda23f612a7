"""The ``tandem`` command: run, operate and inspect a Tandem instance.

Each sub-command has ``--help``; failures print one clear line to stderr and exit non-zero.
The sub-commands are this package's own (``commands``) and those of every installed app
(``TandemAppConfig.cli_commands``), in ``INSTALLED_APPS`` order.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

import django
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError

from tandem import __version__
from tandem.cli import commands
from tandem.config import installed
from tandem.config.env import SQLITE_FILE, data_dir
from tandem.core.apps import TandemAppConfig
from tandem.core.cli import EXIT_FAILED, EXIT_USAGE, CommandError, Commands
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.registry import cli_command_modules, declared_before_setup, tandem_apps

DEFAULT_SETTINGS = "tandem.config.settings"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEFAULT_SETTINGS)
    django.setup()


def _installed_apps() -> list[TandemAppConfig]:
    """The Tandem apps whose commands to offer. With the default settings they are read from
    ``config/installed.py`` without loading the settings, which would create the data
    directory before ``_require_database`` could refuse a command run in the wrong folder.
    Other settings (a test's, an embedding program's) are loaded: they chose their apps and
    their database."""
    if apps.ready:
        return tandem_apps()
    if os.environ.get("DJANGO_SETTINGS_MODULE", DEFAULT_SETTINGS) == DEFAULT_SETTINGS:
        return declared_before_setup(installed.TANDEM_APPS)
    _setup()
    return tandem_apps()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandem", description="Tandem: co-managed IT in one system the client owns."
    )
    parser.add_argument("--verbose", action="store_true", help="more output")
    parser.add_argument("--version", action="version", version=f"tandem {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    top = Commands(sub)
    commands.register(top)
    for module in cli_command_modules(_installed_apps()):
        importlib.import_module(module).register(top)
    return parser


def _require_database() -> None:
    """Outside a data directory, say so in one line, before the settings create ``./var``
    and a query fails on a missing table. PostgreSQL (DATABASE_URL) reports for itself, and
    a process that set Django up already (tests, an embedding program) chose its database."""
    if os.environ.get("DATABASE_URL") or apps.ready:
        return
    folder = data_dir()
    if not (folder / SQLITE_FILE).is_file():
        raise CommandError(
            f"no Tandem database in {folder}: run this where the instance's var/ is, "
            "set TANDEM_DATA_DIR (or DATABASE_URL), or create one with `tandem migrate`"
        )


def _missing_schema(exc: Exception) -> bool:
    text = str(exc).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # A command that works on an instance's data (every one not added with
    # ``needs_data=False``) first checks that there is one.
    if args.needs_data:
        try:
            _require_database()
        except CommandError as exc:
            print(f"tandem: error: {exc}", file=sys.stderr)
            return EXIT_FAILED
    _setup()
    try:
        return int(args.func(args))
    except (CommandError, Conflict, PermissionDenied) as exc:
        print(f"tandem: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except DatabaseError as exc:
        if not _missing_schema(exc):
            raise
        print(
            "tandem: error: the database has no Tandem tables yet: run `tandem migrate`",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except InvalidInput as exc:
        print(f"tandem: error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
