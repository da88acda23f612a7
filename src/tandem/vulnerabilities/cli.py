"""``tandem vulnerabilities import FILE --format osv|debian [--release bookworm]`` and
``tandem vulnerabilities match``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tandem.core.cli import CommandError, Commands


def _say_matched(matched: Any) -> None:
    print(
        f"Matched {matched.devices} devices: {matched.opened} findings opened, "
        f"{matched.fixed} fixed."
    )


def cmd_import(args: argparse.Namespace) -> int:
    from tandem.core.errors import InvalidInput
    from tandem.core.principal import system_principal
    from tandem.vulnerabilities import services, sources
    from tandem.vulnerabilities.matching import DEBIAN_NUMBERS

    actor = system_principal("tandem vulnerabilities import")
    path = Path(args.file)
    if not path.exists():
        raise CommandError(f"{path}: no such file or folder")
    try:
        if args.format == "debian":
            if not args.release:
                raise CommandError("--release (a codename such as bookworm) is required")
            try:
                data = json.loads(path.read_bytes())
            except (json.JSONDecodeError, UnicodeDecodeError, IsADirectoryError) as exc:
                raise CommandError(f"{path} is not JSON: {exc}") from exc
            records = sources.tracker_records(data, args.release)
            ecosystem = f"Debian:{DEBIAN_NUMBERS.get(args.release, 'sid')}"
            summary = services.import_advisories(
                actor=actor,
                records=records,
                source="debian-tracker",
                imported_from=path.name,
                ecosystem=ecosystem,
            )
        else:
            records = list(sources.read_osv(path))
            summary = services.import_advisories(
                actor=actor, records=records, source="osv", imported_from=path.name
            )
    except sources.SourceError as exc:
        raise CommandError(f"{exc} (nothing was imported)") from exc
    except InvalidInput as exc:
        raise CommandError(f"{exc} (nothing was imported)") from exc
    print(
        f"Advisories: {summary.added} added, {summary.updated} updated, "
        f"{summary.unchanged} unchanged, {summary.removed} removed."
    )
    if not args.no_match:
        _say_matched(services.match_devices(actor=actor))
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from tandem.core.principal import system_principal
    from tandem.vulnerabilities import services

    actor = system_principal("tandem vulnerabilities match")
    matched = services.match_devices(actor=actor)
    _say_matched(matched)
    return 0


def register(commands: Commands) -> None:
    group = commands.group(
        "vulnerabilities", "Vulnerability advisories and findings.", dest="vulnerabilities_command"
    )
    p = group.add("import", cmd_import, "Import advisories (OSV or the Debian tracker JSON).")
    p.add_argument("file", help="an OSV record, a folder of them, an all.zip, or the tracker JSON")
    p.add_argument("--format", choices=("osv", "debian"), default="osv")
    p.add_argument("--release", help="the Debian codename of a tracker import (bookworm, ...)")
    p.add_argument(
        "--no-match", action="store_true", help="do not match the devices after the import"
    )
    group.add("match", cmd_match, "Match every device's software against the advisories.")
