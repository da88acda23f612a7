"""Advisory files into plain records: OSV and the Debian Security Tracker JSON. Pure, no
Django (decision 0038); the services store what these return.

- **OSV** (ossf/osv-schema): one record (a JSON object), a folder of ``*.json`` records, or
  a zip of them (the ``<ECOSYSTEM>/all.zip`` dumps). Only ECOSYSTEM ranges are kept (GIT
  ranges name commits, not package versions); severity from the CVSS vectors (the highest
  base score), or a distribution's own rating (``Ubuntu``: low … critical).
- **The Debian tracker**: read by ``patching.advisories.debian_tracker_entries`` (one
  reader of the format) and turned into one record per CVE for the release's ecosystem
  (``Debian:12``): resolved at *v* affects versions below *v*; ``0`` never affected (left
  out); open affects every version with no fix (*unfixed*); undetermined is left out
  (nothing is known to match against); urgency gives the severity (``unimportant`` is
  informational).

Any malformed input raises :class:`SourceError` naming the file and the record, so the
import changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from tandem.patching.advisories import AdvisoryError, debian_tracker_entries
from tandem.vulnerabilities.matching import DEBIAN_NUMBERS, Range

SEVERITIES = ("critical", "high", "medium", "low", "informational", "unknown")
SEVERITY_RANK = {name: rank for rank, name in enumerate(reversed(SEVERITIES))}
URGENCY_SEVERITY = {
    "unimportant": "informational",
    "low": "low",
    "low*": "low",
    "medium": "medium",
    "medium*": "medium",
    "high": "high",
    "high*": "high",
}
_CVE = re.compile(r"CVE-\d{4}-\d{4,}$")
_EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
_MAX_JSON = 20 * 1024 * 1024  # one OSV record is a few kB; a zip member past this is refused


class SourceError(ValueError):
    """An advisory file that cannot be read; the message names the place."""


@dataclass(frozen=True)
class AffectedRecord:
    ecosystem: str
    package: str
    ranges: tuple[Range, ...]
    versions: tuple[str, ...]


@dataclass(frozen=True)
class AdvisoryRecord:
    """One advisory, whatever its format. ``source`` is the feed (``osv`` or
    ``debian-tracker``), ``origin`` the database that published it (``DSA``, ``ALSA``,
    ``Debian Security Tracker``): kept for attribution."""

    source: str
    advisory_id: str
    origin: str
    modified: dt.datetime | None
    published: dt.datetime | None = None
    withdrawn: bool = False
    summary: str = ""
    aliases: tuple[str, ...] = ()
    cve_ids: tuple[str, ...] = ()
    severity: str = "unknown"
    cvss_score: Decimal | None = None
    cvss_vector: str = ""
    url: str = ""
    affected: tuple[AffectedRecord, ...] = field(default_factory=tuple)


def rating(score: Decimal) -> str:
    """The CVSS qualitative rating of a base score."""
    if score >= 9:
        return "critical"
    if score >= 7:
        return "high"
    if score >= 4:
        return "medium"
    if score > 0:
        return "low"
    return "informational"


def highest(severities: list[str]) -> str:
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, 0), default="unknown")


def cvss_severity(entries: Any) -> tuple[str, Decimal | None, str]:
    """(rating, base score, vector) of the highest-scoring CVSS entry of an OSV
    ``severity`` list; a distribution's own rating counts when no vector does."""
    best: tuple[str, Decimal | None, str] = ("unknown", None, "")
    ratings = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping):
            continue
        kind, score = str(entry.get("type") or ""), str(entry.get("score") or "")
        calculator = {"CVSS_V2": CVSS2, "CVSS_V3": CVSS3, "CVSS_V4": CVSS4}.get(kind)
        if calculator is None:
            if score.lower() in SEVERITY_RANK:
                ratings.append(score.lower())
            continue
        try:
            base = Decimal(str(calculator(score).base_score))
        except (CVSSError, ValueError, KeyError):
            continue  # a vector the library cannot read is no severity, not a failed import
        if best[1] is None or base > best[1]:
            best = (rating(base), base, score)
    if best[1] is None and ratings:
        return highest(ratings), None, ""
    return best


def _time(value: Any, where: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise SourceError(f"{where}: {value!r} is not an RFC 3339 time.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _ranges(affected: Mapping[str, Any], where: str) -> tuple[Range, ...]:
    ranges = []
    for item in affected.get("ranges") or []:
        if not isinstance(item, Mapping) or not isinstance(item.get("events"), list):
            raise SourceError(f"{where}: a range needs a list of events.")
        if item.get("type") != "ECOSYSTEM":
            continue  # GIT ranges name commits; SEMVER is for language packages
        events = []
        for event in item["events"]:
            if not isinstance(event, Mapping) or len(event) != 1:
                raise SourceError(f"{where}: an event is an object with one key.")
            ((kind, version),) = event.items()
            if kind not in _EVENT_KINDS or not isinstance(version, str) or not version:
                raise SourceError(f"{where}: unknown event {kind!r}.")
            events.append((kind, version))
        if not any(kind == "introduced" for kind, _ in events):
            raise SourceError(f"{where}: a range needs an 'introduced' event.")
        ranges.append(tuple(events))
    return tuple(ranges)


def osv_record(data: Any, where: str) -> AdvisoryRecord:
    """One OSV record; :class:`SourceError` naming ``where`` when it is not one."""
    if not isinstance(data, Mapping):
        raise SourceError(f"{where}: an OSV record is a JSON object.")
    advisory_id = data.get("id")
    if not isinstance(advisory_id, str) or not advisory_id.strip():
        raise SourceError(f"{where}: the record has no id.")
    where = f"{where} ({advisory_id})"
    modified = _time(data.get("modified"), where)
    if modified is None:
        raise SourceError(f"{where}: 'modified' is required.")
    aliases = tuple(str(a) for a in data.get("aliases") or [] if isinstance(a, str))
    # The CVEs an advisory fixes: its aliases, and what distributions' records name as
    # ``upstream`` (DEBIAN-CVE-…, UBUNTU-CVE-…) or ``related`` (DSA, ALSA, USN records).
    named = [advisory_id, *aliases]
    for key in ("upstream", "related"):
        named += [str(v) for v in data.get(key) or [] if isinstance(v, str)]
    cves = tuple(sorted({m.group(0) for v in named if (m := _CVE.search(v))}))
    severity = cvss_severity(data.get("severity"))
    affected = []
    for item in data.get("affected") or []:
        package = item.get("package") if isinstance(item, Mapping) else None
        if not isinstance(package, Mapping) or not package.get("ecosystem"):
            raise SourceError(f"{where}: an affected entry needs package.ecosystem and name.")
        if not package.get("name"):
            raise SourceError(f"{where}: an affected entry needs package.ecosystem and name.")
        if item.get("severity") and severity[1] is None:
            severity = cvss_severity(item.get("severity"))
        versions = tuple(str(v) for v in item.get("versions") or [] if isinstance(v, str))
        ranges = _ranges(item, where)
        if ranges or versions:
            affected.append(
                AffectedRecord(str(package["ecosystem"]), str(package["name"]), ranges, versions)
            )
    references = [r for r in data.get("references") or [] if isinstance(r, Mapping)]
    url = next((str(r.get("url")) for r in references if r.get("type") == "ADVISORY"), "")
    return AdvisoryRecord(
        source="osv",
        advisory_id=advisory_id.strip()[:100],
        origin=advisory_id.split("-", 1)[0][:40],
        modified=modified,
        published=_time(data.get("published"), where),
        withdrawn=bool(data.get("withdrawn")),
        summary=str(data.get("summary") or data.get("details") or "")[:500],
        aliases=aliases,
        cve_ids=cves,
        severity=severity[0],
        cvss_score=severity[1],
        cvss_vector=severity[2][:200],
        url=(url or f"https://osv.dev/vulnerability/{advisory_id}")[:500],
        affected=tuple(affected),
    )


def _load(text: bytes, where: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"{where} is not JSON: {exc}") from exc


def read_osv(path: Path) -> Iterator[AdvisoryRecord]:
    """The records of an OSV file, a folder of ``*.json`` files or a zip of them."""
    if path.is_dir():
        files = sorted(path.rglob("*.json"))
        if not files:
            raise SourceError(f"{path}: no *.json records in this folder.")
        for file in files:
            yield osv_record(_load(file.read_bytes(), str(file)), file.name)
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if m.filename.endswith(".json")]
            if not members:
                raise SourceError(f"{path}: no *.json records in this zip.")
            for member in members:
                if member.file_size > _MAX_JSON:
                    raise SourceError(f"{path}:{member.filename} is too large for a record.")
                where = f"{path.name}:{member.filename}"
                yield osv_record(_load(archive.read(member), where), where)
    else:
        data = _load(path.read_bytes(), str(path))
        records = data if isinstance(data, list) else [data]
        for record in records:
            yield osv_record(record, path.name)


def tracker_records(data: Any, release: str) -> list[AdvisoryRecord]:
    """One record per CVE of the tracker's JSON for ``release`` (a codename), its affected
    packages in the release's ecosystem (see the module)."""
    number = DEBIAN_NUMBERS.get(release)
    if number is None and release != "sid":
        raise SourceError(f"unknown Debian release {release!r} (a codename: bookworm, trixie…)")
    ecosystem = f"Debian:{number or 'sid'}"
    try:
        entries = debian_tracker_entries(data, release)
    except AdvisoryError as exc:
        raise SourceError(str(exc)) from exc
    by_cve: dict[str, list[tuple[AffectedRecord, str, str]]] = {}
    for entry in entries:
        if entry.status == "resolved" and entry.fixed_version and entry.fixed_version != "0":
            events: Range = (("introduced", "0"), ("fixed", entry.fixed_version))
        elif entry.status == "open":
            events = (("introduced", "0"),)
        else:
            continue  # never affected, undetermined, or resolved without a version
        severity = URGENCY_SEVERITY.get(entry.urgency, "unknown")
        by_cve.setdefault(entry.cve_id, []).append(
            (AffectedRecord(ecosystem, entry.package, (events,), ()), severity, entry.description)
        )
    return [
        AdvisoryRecord(
            source="debian-tracker",
            advisory_id=cve_id,
            origin="Debian Security Tracker",
            modified=None,
            summary=next((d for _, _, d in rows if d), "")[:500],
            cve_ids=(cve_id,),
            severity=highest([s for _, s, _ in rows]),
            url=f"https://security-tracker.debian.org/tracker/{cve_id}",
            affected=tuple(a for a, _, _ in rows),
        )
        for cve_id, rows in sorted(by_cve.items())
    ]
