"""``tandem patching import-advisories``: severity and CVE ids from advisory data."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tandem.core.cli import CommandError, Commands


def cmd_import_advisories(args: argparse.Namespace) -> int:
    from tandem.core.errors import InvalidInput
    from tandem.core.principal import system_principal
    from tandem.patching import services

    actor = system_principal("tandem patching import-advisories")
    text = Path(args.file).read_text(encoding="utf-8")
    try:
        if args.format == "debian":
            if not args.release:
                raise CommandError("--release (a codename such as bookworm) is required")
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise CommandError(f"{args.file} is not JSON: {exc}") from exc
            count = services.import_debian_advisories(actor=actor, data=data, release=args.release)
        else:
            count = services.import_advisory_csv(actor=actor, text=text)
    except InvalidInput as exc:
        raise CommandError(str(exc)) from exc
    print(f"Updated {count} catalogue entries.")
    return 0


def register(commands: Commands) -> None:
    group = commands.group("patching", "Patch management.", dest="patching_command")
    p = group.add(
        "import-advisories",
        cmd_import_advisories,
        "Set severity and CVE ids of catalogue entries from advisory data.",
    )
    p.add_argument("file", help="the Debian Security Tracker JSON, or a CSV")
    p.add_argument("--format", choices=("debian", "csv"), default="debian")
    p.add_argument("--release", help="the Debian codename (bookworm, trixie, ...)")
