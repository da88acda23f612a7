"""Advisory data that gives updates their severity and CVE ids: a pure core.

Two formats (decision 0031):

- **The Debian Security Tracker JSON** (``https://security-tracker.debian.org/tracker/
  data/json``): source package → CVE → ``releases`` → codename → ``status``,
  ``fixed_version``, ``urgency``. An update of a package to version *v* fixes a CVE when
  the CVE is resolved in the device's release at a version at or below *v*, and above the
  version some device has now (so an update does not claim every CVE ever fixed in the
  package). A ``fixed_version`` of ``0`` (never affected) and open CVEs (no fix yet) fix
  nothing. The tracker's urgency gives the severity (``unimportant`` is low; ``not yet
  assigned`` and anything unknown is unknown); the highest over the CVEs wins.
- **CSV** with a header: ``os_family,package,version,severity,cve_ids,released_on``
  (``cve_ids`` separated by spaces; ``released_on`` an ISO date, may be empty): what a
  vendor bulletin or another scanner exports.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SEVERITY_RANK = {"unknown": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
URGENCY_SEVERITY = {
    "unimportant": "low",
    "low": "low",
    "low*": "low",
    "medium": "medium",
    "medium*": "medium",
    "high": "high",
    "high*": "high",
}
CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,}$")
CSV_COLUMNS = ("os_family", "package", "version", "severity", "cve_ids", "released_on")


class AdvisoryError(ValueError):
    """Advisory data that cannot be read; the message names the place."""


@dataclass(frozen=True)
class Fix:
    """One CVE fixed in a source package at a version."""

    cve_id: str
    fixed_version: str
    severity: str


@dataclass(frozen=True)
class Bulletin:
    """One CSV row: an update's severity, CVEs and release date."""

    os_family: str
    package: str
    version: str
    severity: str
    cve_ids: tuple[str, ...]
    released_on: dt.date | None


def highest(severities: Iterable[str]) -> str:
    """The highest of ``severities`` (``unknown`` for none)."""
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, 0), default="unknown")


@dataclass(frozen=True)
class TrackerEntry:
    """One CVE of one source package in one Debian release, as the tracker states it:
    ``status`` is ``resolved`` (``fixed_version`` set; ``0`` = never affected), ``open``
    (no fix yet) or ``undetermined``."""

    package: str
    cve_id: str
    status: str
    fixed_version: str
    urgency: str
    description: str


def debian_tracker_entries(data: Mapping[str, Any], release: str) -> list[TrackerEntry]:
    """Every CVE entry of the Debian Security Tracker JSON for ``release`` (a codename
    such as bookworm): the one reader of that format, for patching's severities and the
    vulnerability findings alike. :class:`AdvisoryError` when the shape is not the
    tracker's; ``TEMP-`` ids (no CVE yet) and entries without the release are skipped."""
    if not isinstance(data, Mapping):
        raise AdvisoryError("The tracker's JSON is an object of source packages.")
    entries = []
    for package, issues in data.items():
        if not isinstance(issues, Mapping):
            raise AdvisoryError(f"{package}: expected an object of issues.")
        for cve_id, issue in issues.items():
            if not CVE_ID.match(str(cve_id)) or not isinstance(issue, Mapping):
                continue  # TEMP- ids name no CVE; odd entries are skipped, not guessed at
            releases = issue.get("releases") or {}
            if not isinstance(releases, Mapping):
                raise AdvisoryError(f"{package} {cve_id}: releases is not an object.")
            entry = releases.get(release)
            if not isinstance(entry, Mapping):
                continue
            entries.append(
                TrackerEntry(
                    package=str(package),
                    cve_id=str(cve_id),
                    status=str(entry.get("status") or ""),
                    fixed_version=str(entry.get("fixed_version") or ""),
                    urgency=str(entry.get("urgency") or ""),
                    description=str(issue.get("description") or ""),
                )
            )
    return entries


def debian_fixes(data: Mapping[str, Any], release: str) -> dict[str, list[Fix]]:
    """Source package → the CVEs resolved in ``release`` (a codename such as bookworm)."""
    fixes: dict[str, list[Fix]] = {}
    for entry in debian_tracker_entries(data, release):
        if entry.status != "resolved" or entry.fixed_version in ("", "0"):
            continue
        severity = URGENCY_SEVERITY.get(entry.urgency, "unknown")
        fixes.setdefault(entry.package, []).append(Fix(entry.cve_id, entry.fixed_version, severity))
    return fixes


def fixed_by(
    *,
    version: str,
    current_versions: Iterable[str],
    fixes: Iterable[Fix],
    compare: Callable[[str, str], int],
) -> tuple[tuple[str, ...], str]:
    """The CVE ids an update to ``version`` fixes for devices now at ``current_versions``,
    and their highest severity. With no current version known, every fix up to
    ``version`` counts."""
    currents = [c for c in current_versions if c]
    found: dict[str, str] = {}
    for fix in fixes:
        if compare(fix.fixed_version, version) > 0:
            continue
        if currents and not any(compare(c, fix.fixed_version) < 0 for c in currents):
            continue
        found[fix.cve_id] = highest([found.get(fix.cve_id, "unknown"), fix.severity])
    return tuple(sorted(found)), highest(found.values())


def read_csv(text: str) -> list[Bulletin]:
    """The bulletins of a CSV text; :class:`AdvisoryError` naming the line otherwise."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise AdvisoryError(f"The CSV lacks the column(s) {', '.join(missing)}.")
    rows = []
    for line, row in enumerate(reader, start=2):
        severity = (row["severity"] or "unknown").strip().lower()
        if severity not in SEVERITY_RANK:
            raise AdvisoryError(f"line {line}: unknown severity {row['severity']!r}.")
        cves = tuple(sorted(set((row["cve_ids"] or "").split())))
        if bad := [c for c in cves if not CVE_ID.match(c)]:
            raise AdvisoryError(f"line {line}: not a CVE id: {bad[0]!r}.")
        released = (row["released_on"] or "").strip()
        try:
            released_on = dt.date.fromisoformat(released) if released else None
        except ValueError as exc:
            raise AdvisoryError(f"line {line}: released_on is not a date.") from exc
        package, version = (row["package"] or "").strip(), (row["version"] or "").strip()
        if not package or not version:
            raise AdvisoryError(f"line {line}: package and version are required.")
        rows.append(
            Bulletin(
                os_family=(row["os_family"] or "").strip().lower(),
                package=package,
                version=version,
                severity=severity,
                cve_ids=cves,
                released_on=released_on,
            )
        )
    return rows
