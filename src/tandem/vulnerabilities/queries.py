"""Reads of vulnerability findings (decision 0038): one finding in reach, a tenant's
findings with filters, its dashboard (counts by severity and status, top packages, the
most exposed devices), a device's findings, and the system's reads for matching.

Every read that starts from a person takes the principal and filters through the app's
policies; the system reads (the periodic task) run in a named system context.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from tandem.agents.models import AgentState, SoftwareChange
from tandem.assets.models import Device
from tandem.core.errors import InvalidInput
from tandem.core.policies import get_visible_or_404, visible
from tandem.core.principal import Principal
from tandem.core.scoping import system_context
from tandem.vulnerabilities.choices import FindingStatus, Severity
from tandem.vulnerabilities.models import AdvisoryImport, DeviceScan, Finding
from tandem.vulnerabilities.permissions import VIEW_VULNERABILITIES

SEVERITY_ORDER = tuple(Severity.values)
#: Rows of "top packages" and "most exposed devices" on the dashboard.
TOP_ROWS = 10
FILTERS = ("status", "severity", "package", "device_id", "cve", "q", "unfixed")
#: A CVE id as the filter takes it (case does not matter).
CVE_ID = re.compile(r"CVE-\d{4}-\d{4,}", re.IGNORECASE)


def findings(principal: Principal, tenant_id: int | None = None) -> QuerySet[Finding]:
    """The findings ``principal`` may read (of one tenant when given), newest first."""
    rows = visible(principal, VIEW_VULNERABILITIES, Finding.objects.all())
    if tenant_id is not None:
        rows = rows.filter(tenant_id=tenant_id)
    return rows.select_related("device", "update", "advisory").order_by("-first_seen", "-id")


def finding_in_reach(principal: Principal, finding_id: int) -> Finding:
    """One finding the principal reads, else 404 (another tenant's, out of scope, none)."""
    return get_visible_or_404(
        principal,
        VIEW_VULNERABILITIES,
        Finding.objects.select_related("device", "advisory", "update"),
        pk=finding_id,
    )


def filtered(rows: QuerySet[Finding], filters: Mapping[str, str]) -> QuerySet[Finding]:
    """``rows`` narrowed by the list's filters: status, severity, package (source or
    binary, exact), device, one CVE id, free text over advisory, CVE and package, unfixed
    only. Bad values raise :class:`InvalidInput` naming the filter."""
    status = (filters.get("status") or "").strip()
    if status and status != "all":
        if status not in FindingStatus.values:
            raise InvalidInput({"status": [f"one of {', '.join(FindingStatus.values)}, or all"]})
        rows = rows.filter(status=status)
    severity = (filters.get("severity") or "").strip()
    if severity:
        if severity not in Severity.values:
            raise InvalidInput({"severity": [f"one of {', '.join(Severity.values)}"]})
        rows = rows.filter(severity=severity)
    package = (filters.get("package") or "").strip()
    if package:
        rows = rows.filter(Q(package=package) | Q(binaries__contains=package))
    device_id = str(filters.get("device_id") or "").strip()
    if device_id:
        if not device_id.isdigit():
            raise InvalidInput({"device_id": ["a device id"]})
        rows = rows.filter(device_id=int(device_id))
    cve = (filters.get("cve") or "").strip()
    if cve:
        if not CVE_ID.fullmatch(cve):
            raise InvalidInput({"cve": ["a CVE id such as CVE-2024-3094"]})
        # The ids are a JSON list: match the quoted id, so CVE-2024-1 is not CVE-2024-10.
        rows = rows.filter(cve_ids__icontains=f'"{cve.upper()}"')
    text = (filters.get("q") or "").strip()
    if text:
        rows = rows.filter(
            Q(advisory_ref__icontains=text)
            | Q(package__icontains=text)
            | Q(cve_ids__icontains=text)
        )
    if str(filters.get("unfixed") or "").lower() in ("1", "true", "yes", "on"):
        rows = rows.filter(fixed_version="")
    return rows


@dataclass
class PackageRow:
    package: str
    findings: int
    devices: int
    worst: str


@dataclass
class DeviceRow:
    device_id: int
    device_name: str
    counts: dict[str, int]
    total: int


@dataclass
class Dashboard:
    by_severity: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    unfixed: int = 0
    packages: list[PackageRow] = field(default_factory=list)
    devices: list[DeviceRow] = field(default_factory=list)
    last_import: AdvisoryImport | None = None


def _rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def dashboard(principal: Principal, tenant_id: int) -> Dashboard:
    """The tenant's findings the reader sees: open ones by severity, all by status, how
    many open ones have no fix, the packages with most open findings, and the devices most
    exposed (most critical, then high, ... open findings). A few aggregate queries."""
    rows = findings(principal, tenant_id).order_by()
    board = Dashboard()
    by_status = dict(rows.values_list("status").annotate(n=Count("id")))
    board.by_status = {s: by_status.get(s, 0) for s in FindingStatus.values}
    open_rows = rows.filter(status=FindingStatus.OPEN)
    by_severity = dict(open_rows.values_list("severity").annotate(n=Count("id")))
    board.by_severity = {s: by_severity.get(s, 0) for s in SEVERITY_ORDER}
    board.unfixed = open_rows.filter(fixed_version="").count()
    packages: dict[str, PackageRow] = {}
    for package, severity, n in (
        open_rows.values_list("package", "severity").annotate(n=Count("id")).order_by()
    ):
        row = packages.setdefault(package, PackageRow(package, 0, 0, "unknown"))
        row.findings += n
        if _rank(severity) < _rank(row.worst):
            row.worst = severity
    top = sorted(packages.values(), key=lambda r: (_rank(r.worst), -r.findings, r.package))
    board.packages = top[:TOP_ROWS]
    for package, devices in (
        open_rows.filter(package__in=[r.package for r in board.packages])
        .values_list("package")
        .annotate(devices=Count("device", distinct=True))
        .order_by()
    ):
        packages[package].devices = devices
    per_device: dict[int, dict[str, int]] = {}
    for device_id, severity, n in (
        open_rows.values_list("device_id", "severity").annotate(n=Count("id")).order_by()
    ):
        per_device.setdefault(device_id, {})[severity] = n
    worst = sorted(
        per_device.items(),
        key=lambda item: tuple(-item[1].get(s, 0) for s in SEVERITY_ORDER) + (item[0],),
    )[:TOP_ROWS]
    with system_context("vulnerabilities: names of devices the reader's findings name"):
        names = dict(Device.objects.filter(pk__in=[d for d, _ in worst]).values_list("id", "name"))
    board.devices = [
        DeviceRow(
            d, names.get(d, str(d)), {s: c.get(s, 0) for s in SEVERITY_ORDER}, sum(c.values())
        )
        for d, c in worst
    ]
    with system_context("vulnerabilities: the last advisory import (instance data)"):
        board.last_import = AdvisoryImport.objects.first()
    return board


def device_findings(principal: Principal, device: Device) -> QuerySet[Finding]:
    """The device's findings the reader sees: open and accepted ones first, worst first."""
    return findings(principal, device.tenant_id).filter(device=device)


def devices_with_software() -> list[int]:
    """Every device whose agent sent an inventory (system read: matching all). Read from
    the agents' state (one row a device), not the software rows (a thousand a device)."""
    with system_context("vulnerabilities: devices to match"):
        return sorted(AgentState.objects.exclude(state_hash="").values_list("device_id", flat=True))


def devices_to_match() -> list[int]:
    """Devices with an inventory never matched, or whose software changed since they were
    last matched: an index probe per device (``agents_change_device``), not a scan of the
    inventory history."""
    with system_context("vulnerabilities: devices whose software changed"):
        scans = DeviceScan.objects.filter(device_id=OuterRef("device_id"))
        never = AgentState.objects.exclude(state_hash="").filter(~Exists(scans))
        changed = DeviceScan.objects.filter(
            Exists(
                SoftwareChange.objects.filter(
                    device_id=OuterRef("device_id"), learned_at__gt=OuterRef("matched_at")
                )
            )
        )
        due = set(never.values_list("device_id", flat=True))
        due |= set(changed.values_list("device_id", flat=True))
    return sorted(due)
