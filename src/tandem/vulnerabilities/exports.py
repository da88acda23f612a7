"""A tenant's findings as CSV (decision 0038): the rows the reader sees under the list's
filters, streamed in chunks, each line in the list's words (severity and status names, the
fixing update, times in UTC)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from tandem.core.csv_export import csv_lines
from tandem.core.principal import Principal
from tandem.core.scoping import principal_scope
from tandem.vulnerabilities.choices import FindingStatus, Severity
from tandem.vulnerabilities.models import Finding

HEADER = (
    "finding id",
    "device id",
    "device",
    "severity",
    "status",
    "advisory",
    "source",
    "CVEs",
    "package",
    "installed binaries",
    "installed version",
    "fixed version",
    "fixing update",
    "first seen",
    "last seen",
    "fixed at",
    "risk accepted until",
    "risk reason",
)
_FIELDS = (
    "id",
    "device_id",
    "device__name",
    "severity",
    "status",
    "advisory_ref",
    "source",
    "cve_ids",
    "package",
    "binaries",
    "installed_version",
    "fixed_version",
    "update__package",
    "update__version",
    "first_seen",
    "last_seen",
    "fixed_at",
    "risk_expires_at",
    "risk_reason",
)
#: Rows fetched per round trip while streaming (a server-side cursor on PostgreSQL).
CHUNK = 2000


def _utc(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _line(row: tuple[Any, ...]) -> list[Any]:
    (pk, device_id, device, severity, status, ref, source, cves, package, binaries,
     installed, fixed, update_package, update_version, first, last, fixed_at, until,
     reason) = row  # fmt: skip
    return [
        pk,
        device_id,
        device,
        Severity(severity).label if severity in Severity.values else severity,
        FindingStatus(status).label if status in FindingStatus.values else status,
        ref,
        source,
        " ".join(cves or ()),
        package,
        binaries,
        installed,
        fixed or "unfixed",
        f"{update_package} {update_version}" if update_package else "",
        _utc(first),
        _utc(last),
        _utc(fixed_at),
        _utc(until),
        reason,
    ]


def findings_csv(principal: Principal, rows: QuerySet[Finding]) -> Iterator[str]:
    """Stream ``rows`` (already scoped to ``principal`` and filtered) as CSV lines."""
    # The response streams after the view has returned: enter the caller's scope again.
    with principal_scope(principal):
        values = rows.values_list(*_FIELDS).iterator(chunk_size=CHUNK)
        yield from csv_lines(HEADER, (_line(row) for row in values))


def csv_response(
    principal: Principal, rows: QuerySet[Finding], tenant_id: int
) -> StreamingHttpResponse:
    """The streamed download of the page and the API alike."""
    response = StreamingHttpResponse(
        findings_csv(principal, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="vulnerability-findings-tenant-{tenant_id}.csv"'
    )
    return response
