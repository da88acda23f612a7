"""Every write of the vulnerabilities app (decision 0038): advisory imports, matching a
device's inventory into findings, accepting a finding's risk and reopening it, and the
expiry of accepted risks.

Keyword-only, actor first, one transaction, audited inside it, except matching: findings
are derived from what a device reported and the advisories (like patching's state sync,
decision 0031); their history is in their own times (first seen, last seen, fixed at).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from tandem.agents import queries as agent_queries
from tandem.assets.models import Device
from tandem.audit.services import record_audit
from tandem.core.errors import InvalidInput, Refused
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.scoping import system_context, within_tenant
from tandem.patching.models import UpdateCatalogueEntry
from tandem.vulnerabilities import matching, queries
from tandem.vulnerabilities.choices import AdvisorySource, FindingStatus
from tandem.vulnerabilities.models import (
    Advisory,
    AdvisoryImport,
    AffectedPackage,
    DeviceScan,
    Finding,
)
from tandem.vulnerabilities.permissions import ACCEPT_VULNERABILITY_RISK
from tandem.vulnerabilities.sources import AdvisoryRecord

#: The longest a risk may be accepted for before a person looks at it again.
MAX_RISK_DAYS = 366
_BATCH = 500
_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


# --- Advisory imports -------------------------------------------------------------------------


@dataclass
class ImportSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    import_id: int | None = None


ADVISORY_FIELDS = [
    "origin",
    "imported_from",
    "url",
    "summary",
    "aliases",
    "cve_ids",
    "severity",
    "cvss_score",
    "cvss_vector",
    "modified",
    "published",
]


def _advisory_fields(record: AdvisoryRecord, imported_from: str) -> dict[str, object]:
    return {
        "origin": record.origin,
        "imported_from": imported_from[:255],
        "url": record.url,
        "summary": record.summary,
        "aliases": list(record.aliases),
        "cve_ids": list(record.cve_ids),
        "severity": record.severity,
        "cvss_score": record.cvss_score,
        "cvss_vector": record.cvss_vector,
        "modified": record.modified,
        "published": record.published,
    }


def _affected_rows(advisory_id: int, record: AdvisoryRecord) -> list[AffectedPackage]:
    return [
        AffectedPackage(
            advisory_id=advisory_id,
            ecosystem=a.ecosystem[:100],
            package=a.package[:500],
            ranges=[[list(event) for event in events] for events in a.ranges],
            versions=list(a.versions),
        )
        for a in record.affected
    ]


def _require_operator(actor: Principal) -> None:
    if not actor.is_system:
        raise Refused("Advisories are instance data: only the operator imports them.")


def import_advisories(
    *,
    actor: Principal,
    records: Sequence[AdvisoryRecord],
    source: str,
    imported_from: str,
    ecosystem: str = "",
) -> ImportSummary:
    """Store advisory records of one feed, in one transaction (a failure changes nothing).

    - **OSV**: a record newer (``modified``) than the stored one replaces it with its
      affected rows; one not newer is left alone (a re-import changes nothing); a
      withdrawn record is removed.
    - **Debian tracker** (``ecosystem`` = the release's, ``Debian:12``): the file is the
      whole truth for that release. Affected rows of the release that the file no longer
      names are removed, changed ones replaced; advisories left with no row are removed.

    Audited once in the instance chain, with the counts.
    """
    _require_operator(actor)
    if source not in AdvisorySource.values:
        raise InvalidInput({"source": [f"unknown advisory source {source!r}"]})
    if source == AdvisorySource.DEBIAN_TRACKER and not ecosystem:
        raise InvalidInput({"ecosystem": ["a Debian tracker import names its release"]})
    summary = ImportSummary()
    with transaction.atomic(), system_context("vulnerabilities: import advisories"):
        if source == AdvisorySource.OSV:
            _import_osv(records, imported_from, summary)
        else:
            _import_tracker(records, imported_from, ecosystem, summary)
        log = AdvisoryImport.objects.create(
            source=source,
            imported_from=imported_from[:255],
            scope=ecosystem,
            actor_label=actor.label[:200],
            added=summary.added,
            updated=summary.updated,
            unchanged=summary.unchanged,
            removed=summary.removed,
        )
        summary.import_id = log.pk
        record_audit(
            actor=actor,
            action="vulnerabilities.advisories_imported",
            target=log,
            tenant_id=None,
            changes={
                "source": [None, source],
                "file": [None, imported_from],
                "added": [None, summary.added],
                "updated": [None, summary.updated],
                "removed": [None, summary.removed],
            },
        )
    return summary


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def _import_osv(
    records: Sequence[AdvisoryRecord], imported_from: str, summary: ImportSummary
) -> None:
    latest: dict[str, AdvisoryRecord] = {}
    for record in records:  # a dump naming one id twice: the newest wins
        seen = latest.get(record.advisory_id)
        if seen is None or (record.modified or _NEVER) > (seen.modified or _NEVER):
            latest[record.advisory_id] = record
    ids = sorted(latest)
    stored: dict[str, tuple[int, dt.datetime | None]] = {}
    for chunk in _chunks(ids):
        for pk, advisory_id, modified in Advisory.objects.filter(
            source=AdvisorySource.OSV, advisory_id__in=chunk
        ).values_list("id", "advisory_id", "modified"):
            stored[advisory_id] = (pk, modified)
    withdrawn = [stored[i][0] for i in ids if latest[i].withdrawn and i in stored]
    replaced: list[int] = []
    updates: list[Advisory] = []
    creates: list[Advisory] = []
    for advisory_id in ids:
        record = latest[advisory_id]
        if record.withdrawn:
            continue
        held = stored.get(advisory_id)
        if held is None:
            creates.append(
                Advisory(
                    source=AdvisorySource.OSV,
                    advisory_id=advisory_id,
                    **_advisory_fields(record, imported_from),  # type: ignore[arg-type]
                )
            )
        elif held[1] is not None and record.modified is not None and record.modified <= held[1]:
            summary.unchanged += 1
        else:
            replaced.append(held[0])
            updates.append(
                Advisory(pk=held[0], **_advisory_fields(record, imported_from))  # type: ignore[arg-type]
            )
    if withdrawn:
        Advisory.objects.filter(pk__in=withdrawn).delete()
    if replaced:
        AffectedPackage.objects.filter(advisory_id__in=replaced).delete()
        Advisory.objects.bulk_update(updates, ADVISORY_FIELDS, batch_size=_BATCH)
    Advisory.objects.bulk_create(creates, batch_size=_BATCH)
    created = {
        advisory_id: pk
        for chunk in _chunks([a.advisory_id for a in creates])
        for pk, advisory_id in Advisory.objects.filter(
            source=AdvisorySource.OSV, advisory_id__in=chunk
        ).values_list("id", "advisory_id")
    }
    by_id = {**{i: stored[i][0] for i in ids if i in stored}, **created}
    renewed = set(created.values()) | set(replaced)
    rows = [
        row
        for advisory_id in ids
        if by_id.get(advisory_id) in renewed
        for row in _affected_rows(by_id[advisory_id], latest[advisory_id])
    ]
    AffectedPackage.objects.bulk_create(rows, batch_size=_BATCH)
    summary.added += len(creates)
    summary.updated += len(updates)
    summary.removed += len(withdrawn)


def _import_tracker(
    records: Sequence[AdvisoryRecord], imported_from: str, ecosystem: str, summary: ImportSummary
) -> None:
    stored = dict(
        Advisory.objects.filter(source=AdvisorySource.DEBIAN_TRACKER).values_list(
            "advisory_id", "id"
        )
    )
    wanted = {r.advisory_id: r for r in records}
    creates = [
        Advisory(
            source=AdvisorySource.DEBIAN_TRACKER,
            advisory_id=advisory_id,
            **_advisory_fields(record, imported_from),  # type: ignore[arg-type]
        )
        for advisory_id, record in sorted(wanted.items())
        if advisory_id not in stored
    ]
    Advisory.objects.bulk_create(creates, batch_size=_BATCH)
    if creates:
        stored = dict(
            Advisory.objects.filter(source=AdvisorySource.DEBIAN_TRACKER).values_list(
                "advisory_id", "id"
            )
        )
    summary.added += len(creates)
    new_ids = {a.advisory_id for a in creates}
    # The release's rows as they are and as the file says they should be.
    held: dict[tuple[int, str], tuple[int, list[object]]] = {
        (advisory_id, package): (pk, ranges)
        for pk, advisory_id, package, ranges in AffectedPackage.objects.filter(
            advisory__source=AdvisorySource.DEBIAN_TRACKER, ecosystem=ecosystem
        ).values_list("id", "advisory_id", "package", "ranges")
    }
    want: dict[tuple[int, str], AffectedPackage] = {
        (row.advisory_id, row.package): row
        for advisory_id, record in wanted.items()
        for row in _affected_rows(stored[advisory_id], record)
    }
    stale = {
        pk for key, (pk, ranges) in held.items() if key not in want or want[key].ranges != ranges
    }
    fresh = [row for key, row in want.items() if key not in held or held[key][0] in stale]
    touched = {key[0] for key, (pk, _) in held.items() if pk in stale}
    touched |= {row.advisory_id for row in fresh}
    AffectedPackage.objects.filter(pk__in=sorted(stale)).delete()
    AffectedPackage.objects.bulk_create(fresh, batch_size=_BATCH)
    # Severity and summary follow the file too (the urgency may be raised).
    updates = []
    for advisory in Advisory.objects.filter(
        source=AdvisorySource.DEBIAN_TRACKER, advisory_id__in=sorted(wanted)
    ).only("id", "advisory_id", "severity", "summary"):
        record = wanted[advisory.advisory_id]
        if advisory.severity != record.severity or advisory.summary != record.summary:
            advisory.severity, advisory.summary = record.severity, record.summary
            updates.append(advisory)
            touched.add(advisory.pk)
    Advisory.objects.bulk_update(updates, ["severity", "summary"], batch_size=_BATCH)
    orphans = set(
        Advisory.objects.filter(
            source=AdvisorySource.DEBIAN_TRACKER, affected__isnull=True
        ).values_list("id", flat=True)
    )
    Advisory.objects.filter(pk__in=sorted(orphans)).delete()
    new_pks = {stored[i] for i in new_ids}
    updated = len(touched - new_pks - orphans)
    summary.removed += len(orphans)
    summary.updated += updated
    summary.unchanged += len(wanted) - len(new_ids) - updated


# --- Matching ---------------------------------------------------------------------------------


@dataclass
class MatchSummary:
    devices: int = 0
    opened: int = 0
    fixed: int = 0
    seen: int = 0
    devices_without_platform: list[int] = field(default_factory=list)


def match_device(
    *, actor: Principal, device_id: int, now: dt.datetime | None = None
) -> MatchSummary:
    """Match one device's installed software against the stored advisories and bring its
    findings in step, set-based: a handful of queries whatever the counts (the advisories'
    rows are read for the device's package names and platform ecosystems at once).

    New hits open findings; hits already held are seen again (installed and fixed version,
    severity, the update that fixes them refreshed); a fixed finding hit again opens again;
    held ones no longer hit are fixed (``fixed_at``). A risk acceptance past its expiry is
    open again. Derived data, not audited (see the module)."""
    now = now or timezone.now()
    summary = MatchSummary()
    with system_context("vulnerabilities: match a device"):
        device = Device.objects.filter(pk=device_id).first()
    if device is None:
        return summary
    platform = matching.platform_of(device.os_name, device.os_version)
    with transaction.atomic(), within_tenant(device.tenant_id):
        packages = [
            matching.Package(*row)
            for row in agent_queries.software(device).values_list(
                "title__name", "title__version", "title__source_package", "title__source_version"
            )
        ]
        hits = _merged(_hits(packages, platform), platform.compare) if platform is not None else {}
        if platform is None:
            summary.devices_without_platform.append(device.pk)
        _apply_hits(device, hits, platform, now, summary)
        DeviceScan.objects.update_or_create(
            device=device,
            defaults={"tenant_id": device.tenant_id, "matched_at": now, "packages": len(packages)},
        )
    summary.devices = 1
    return summary


@dataclass(frozen=True)
class _Found:
    advisory_id: int
    source: str
    advisory_ref: str
    cve_ids: tuple[str, ...]
    severity: str
    hit: matching.Hit
    #: Every advisory merged into this finding (itself first): (source, ref, advisory id).
    members: tuple[tuple[str, str, int], ...] = ()


#: Which advisory names a merged finding when it is new: the most severe, then one with a
#: fix, then OSV before the tracker, then by reference (stable from one match to the next).
_SOURCE_ORDER = (AdvisorySource.OSV, AdvisorySource.DEBIAN_TRACKER)


def _merged(
    found: dict[tuple[str, str, str], _Found], compare: matching.Compare
) -> dict[tuple[str, str, str], _Found]:
    """One finding per CVE and package across sources (decision 0038, amended): hits of one
    package that name a common CVE (the OSV import's DSA and the tracker's record of the
    same CVE) become one, keyed by its leading advisory, with the CVE ids and installed
    binaries of all, the most severe known rating and the highest fixed version any of
    them names (``matching.best_severity``, ``matching.best_fix``)."""
    items = sorted(found.values(), key=lambda f: (f.hit.package, f.source, f.advisory_ref))
    merged: dict[tuple[str, str, str], _Found] = {}
    groups = matching.group_by_shared_cve([(f.hit.package, f.cve_ids) for f in items])
    for group in groups:
        members = [items[i] for i in group]
        lead = min(
            members,
            key=lambda f: (
                matching.SEVERITY_RANK.index(matching.best_severity([f.severity])),
                not f.hit.fixed_version,
                _SOURCE_ORDER.index(f.source) if f.source in _SOURCE_ORDER else len(_SOURCE_ORDER),
                f.advisory_ref,
            ),
        )
        ordered = [lead, *(m for m in members if m is not lead)]
        hit = matching.Hit(
            key=lead.hit.key,
            package=lead.hit.package,
            binaries=tuple(sorted({b for m in members for b in m.hit.binaries})),
            installed_version=lead.hit.installed_version,
            fixed_version=matching.best_fix((m.hit.fixed_version for m in members), compare),
        )
        merged[(lead.source, lead.advisory_ref, hit.package)] = _Found(
            advisory_id=lead.advisory_id,
            source=lead.source,
            advisory_ref=lead.advisory_ref,
            cve_ids=tuple(sorted({c for m in members for c in m.cve_ids})),
            severity=matching.best_severity(m.severity for m in members),
            hit=hit,
            members=tuple((m.source, m.advisory_ref, m.advisory_id) for m in ordered),
        )
    return merged


def _hits(
    packages: list[matching.Package], platform: matching.Platform
) -> dict[tuple[str, str, str], _Found]:
    names = sorted({p.match_name for p in packages})
    rows: dict[str, list[matching.Affected]] = {}
    advisory_of: dict[int, int] = {}
    for chunk in _chunks(names):
        for pk, advisory_id, package, ranges, versions in AffectedPackage.objects.filter(
            ecosystem__in=platform.ecosystems, package__in=chunk
        ).values_list("id", "advisory_id", "package", "ranges", "versions"):
            advisory_of[pk] = advisory_id
            rows.setdefault(package, []).append(
                matching.Affected(
                    key=pk,
                    package=package,
                    ranges=tuple(tuple((k, v) for k, v in events) for events in ranges),
                    versions=tuple(versions),
                )
            )
    hits = matching.match(packages, rows, platform.compare)
    advisories = {
        pk: (source, ref, tuple(cves), severity)
        for pk, source, ref, cves, severity in Advisory.objects.filter(
            pk__in=sorted({advisory_of[h.key] for h in hits})
        ).values_list("id", "source", "advisory_id", "cve_ids", "severity")
    }
    found: dict[tuple[str, str, str], _Found] = {}
    for hit in hits:
        advisory_id = advisory_of[hit.key]
        source, ref, cves, severity = advisories[advisory_id]
        # One advisory may name the package in two ecosystems of the platform
        # (``AlmaLinux:9`` and ``AlmaLinux``): one finding.
        found.setdefault(
            (source, ref, hit.package), _Found(advisory_id, source, ref, cves, severity, hit)
        )
    return found


def _updates_for(
    device: Device, found: dict[tuple[str, str, str], _Found], platform: matching.Platform | None
) -> dict[tuple[str, str, str], int]:
    """The catalogue entry (patching) that fixes each finding with a fix: the lowest
    version at or past the fix of the package (source or binary name)."""
    fixable = {key: f for key, f in found.items() if f.hit.fixed_version}
    if not fixable or platform is None:
        return {}
    names = sorted({n for f in fixable.values() for n in (f.hit.package, *f.hit.binaries)})
    entries: dict[str, list[tuple[str, int]]] = {}
    for chunk in _chunks(names):
        for pk, package, source, version in UpdateCatalogueEntry.objects.filter(
            tenant_id=device.tenant_id, package__in=chunk
        ).values_list("id", "package", "source_package", "version"):
            entries.setdefault(source or package, []).append((version, pk))
            if source and source != package:
                entries.setdefault(package, []).append((version, pk))
    answer = {}
    for key, f in fixable.items():
        candidates = [
            (version, pk)
            for name in (f.hit.package, *f.hit.binaries)
            for version, pk in entries.get(name, [])
            # A binary's version is its source's in practice (one upload builds both).
            if platform.compare(version, f.hit.fixed_version) >= 0
        ]
        if candidates:
            order = functools.cmp_to_key(platform.compare)
            answer[key] = min(candidates, key=lambda c: order(c[0]))[1]
    return answer


def _apply_hits(
    device: Device,
    found: dict[tuple[str, str, str], _Found],
    platform: matching.Platform | None,
    now: dt.datetime,
    summary: MatchSummary,
) -> None:
    held = {(f.source, f.advisory_ref, f.package): f for f in Finding.objects.filter(device=device)}
    updates = _updates_for(device, found, platform)
    creates, changed, absorbed = [], [], []
    taken: set[tuple[str, str, str]] = set()
    for key, f in found.items():
        finding, duplicates = _held_for(f, held)
        taken.update((d.source, d.advisory_ref, d.package) for d in (finding, *duplicates) if d)
        absorbed.extend(duplicates)
        if finding is None:
            creates.append(
                Finding(
                    tenant_id=device.tenant_id,
                    device=device,
                    advisory_id=f.advisory_id,
                    advisory_ref=f.advisory_ref,
                    source=f.source,
                    cve_ids=list(f.cve_ids),
                    package=f.hit.package,
                    binaries=", ".join(f.hit.binaries)[:2000],
                    installed_version=f.hit.installed_version,
                    fixed_version=f.hit.fixed_version,
                    severity=f.severity,
                    first_seen=now,
                    last_seen=now,
                    update_id=updates.get(key),
                    sources=_sources(f),
                )
            )
            continue
        if finding.status == FindingStatus.FIXED:
            finding.status, finding.fixed_at = FindingStatus.OPEN, None
            summary.opened += 1
        elif _risk_expired(finding, now):
            finding.status = FindingStatus.OPEN
        if duplicates:
            # The same vulnerability was held twice (before the merge, or from two sources
            # matched apart): one finding stays, seen since the earliest.
            finding.first_seen = min(d.first_seen for d in (finding, *duplicates))
        own = {(source, ref): pk for source, ref, pk in f.members}
        finding.advisory_id = own.get((finding.source, finding.advisory_ref), f.advisory_id)
        finding.sources = _sources(f)
        finding.cve_ids = list(f.cve_ids)
        finding.binaries = ", ".join(f.hit.binaries)[:2000]
        finding.installed_version = f.hit.installed_version
        finding.fixed_version = f.hit.fixed_version
        finding.severity = f.severity
        finding.update_id = updates.get(key)
        finding.last_seen = now
        changed.append(finding)
        summary.seen += 1
    for key, finding in held.items():
        if key not in taken and finding.status != FindingStatus.FIXED:
            finding.status, finding.fixed_at = FindingStatus.FIXED, now
            changed.append(finding)
            summary.fixed += 1
    if absorbed:
        Finding.objects.filter(pk__in=[d.pk for d in absorbed]).delete()
    Finding.objects.bulk_create(creates, batch_size=_BATCH)
    Finding.objects.bulk_update(
        changed,
        [
            "status",
            "fixed_at",
            "first_seen",
            "sources",
            "advisory",
            "cve_ids",
            "binaries",
            "installed_version",
            "fixed_version",
            "severity",
            "update",
            "last_seen",
        ],
        batch_size=_BATCH,
    )
    summary.opened += len(creates)


def _sources(f: _Found) -> list[dict[str, str]]:
    return [{"source": source, "advisory": ref} for source, ref, _ in f.members] or [
        {"source": f.source, "advisory": f.advisory_ref}
    ]


def _held_for(
    f: _Found, held: dict[tuple[str, str, str], Finding]
) -> tuple[Finding | None, list[Finding]]:
    """The held finding that a merged hit continues, and the other held ones it absorbs:
    a finding whose risk a person accepted stays (its decision is kept), else an open one,
    else the oldest."""
    members = f.members or ((f.source, f.advisory_ref, f.advisory_id),)
    mine = [held[key] for s, r, _ in members if (key := (s, r, f.hit.package)) in held]
    if not mine:
        return None, []
    keep = min(
        mine,
        key=lambda d: (
            d.status != FindingStatus.RISK_ACCEPTED,
            d.status == FindingStatus.FIXED,
            d.first_seen,
            d.pk,
        ),
    )
    return keep, [d for d in mine if d is not keep]


def _risk_expired(finding: Finding, now: dt.datetime) -> bool:
    return (
        finding.status == FindingStatus.RISK_ACCEPTED
        and finding.risk_expires_at is not None
        and finding.risk_expires_at <= now
    )


def match_devices(
    *, actor: Principal, device_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> MatchSummary:
    """Match the given devices (every device with installed software when None); one
    transaction per device, so a long run holds no lock for long."""
    total = MatchSummary()
    ids = list(device_ids) if device_ids is not None else queries.devices_with_software()
    for device_id in ids:
        one = match_device(actor=actor, device_id=device_id, now=now)
        total.devices += one.devices
        total.opened += one.opened
        total.fixed += one.fixed
        total.seen += one.seen
        total.devices_without_platform += one.devices_without_platform
    return total


# --- Decisions on findings --------------------------------------------------------------------


def accept_risk(
    *,
    actor: Principal,
    finding_id: int,
    reason: str,
    expires_at: dt.datetime | None,
    now: dt.datetime | None = None,
) -> Finding:
    """Accept an open finding's risk until ``expires_at`` for a stated reason: the
    tenant's own IT (``policies``). Both are required; the expiry lies in the future and
    at most :data:`MAX_RISK_DAYS` ahead. At the expiry the finding is open again."""
    now = now or timezone.now()
    finding = queries.finding_in_reach(actor, finding_id)
    authorize(actor, ACCEPT_VULNERABILITY_RISK, finding)
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = ["Say why the risk is accepted."]
    if expires_at is None:
        errors["expires_at"] = ["An accepted risk needs an expiry."]
    elif expires_at <= now:
        errors["expires_at"] = ["The expiry must lie in the future."]
    elif expires_at > now + dt.timedelta(days=MAX_RISK_DAYS):
        errors["expires_at"] = [f"At most {MAX_RISK_DAYS} days ahead."]
    if finding.status == FindingStatus.FIXED:
        errors["status"] = ["The finding is fixed: there is no risk to accept."]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic(), within_tenant(finding.tenant_id):
        before = {"status": finding.status, "risk_expires_at": finding.risk_expires_at}
        finding.status = FindingStatus.RISK_ACCEPTED
        finding.risk_reason = reason[:1000]
        finding.risk_expires_at = expires_at
        finding.risk_accepted_by_id = actor.user_id
        finding.risk_accepted_at = now
        finding.save(
            update_fields=[
                "status",
                "risk_reason",
                "risk_expires_at",
                "risk_accepted_by",
                "risk_accepted_at",
                "updated_at",
            ]
        )
        record_audit(
            actor=actor,
            action="vulnerabilities.risk_accepted",
            target=finding,
            tenant_id=finding.tenant_id,
            changes={
                "status": [before["status"], finding.status],
                "risk_expires_at": [before["risk_expires_at"], expires_at],
                "risk_reason": ["", finding.risk_reason],
            },
        )
    return finding


def reopen_finding(*, actor: Principal, finding_id: int) -> Finding:
    """Withdraw a risk acceptance: the finding is open again (the reason stays on the
    audit log). Only a finding whose risk was accepted reopens."""
    finding = queries.finding_in_reach(actor, finding_id)
    authorize(actor, ACCEPT_VULNERABILITY_RISK, finding)
    if finding.status != FindingStatus.RISK_ACCEPTED:
        raise InvalidInput({"status": ["Only a finding whose risk was accepted reopens."]})
    with transaction.atomic(), within_tenant(finding.tenant_id):
        finding.status = FindingStatus.OPEN
        finding.save(update_fields=["status", "updated_at"])
        record_audit(
            actor=actor,
            action="vulnerabilities.finding_reopened",
            target=finding,
            tenant_id=finding.tenant_id,
            changes={"status": [FindingStatus.RISK_ACCEPTED, FindingStatus.OPEN]},
        )
    return finding


def expire_risk_acceptances(*, actor: Principal, now: dt.datetime | None = None) -> int:
    """Open again every finding whose accepted risk expired (the periodic task), each
    audited in its tenant's chain as the system's doing; returns how many."""
    now = now or timezone.now()
    with system_context("vulnerabilities: expire risk acceptances"):
        expired = list(
            Finding.objects.filter(
                status=FindingStatus.RISK_ACCEPTED, risk_expires_at__lte=now
            ).order_by("tenant_id", "id")[:_BATCH]
        )
    for finding in expired:
        with transaction.atomic(), within_tenant(finding.tenant_id):
            Finding.objects.filter(pk=finding.pk).update(status=FindingStatus.OPEN, updated_at=now)
            record_audit(
                actor=actor,
                action="vulnerabilities.risk_expired",
                target=finding,
                tenant_id=finding.tenant_id,
                changes={"status": [FindingStatus.RISK_ACCEPTED, FindingStatus.OPEN]},
            )
    return len(expired)
