"""The vulnerabilities API under ``/api/v1/vulnerabilities/``: a tenant's summary and its
findings (filtered, paginated), one finding, a device's findings, accepting a finding's
risk and reopening it.

Thin handlers: the tenant through ``tenant_in_reach``, devices through the assets queries,
findings through ``queries.finding_in_reach`` (404 out of reach), one service or query.
"""

from ninja import Query, Router
from ninja.pagination import paginate

from tandem.assets import queries as device_queries
from tandem.core.actions import declare_action
from tandem.core.api import CappedLimitOffsetPagination, Id
from tandem.core.request import TandemRequest, tenant_in_reach
from tandem.vulnerabilities import exports, queries, services
from tandem.vulnerabilities.permissions import ACCEPT_VULNERABILITY_RISK, VIEW_VULNERABILITIES
from tandem.vulnerabilities.schemas import (
    AcceptRiskIn,
    VulnerabilityFindingOut,
    VulnerabilityFindingQuery,
    VulnerabilitySummaryOut,
)

router = Router(tags=["vulnerabilities"])
#: Findings a device's list answers at most.
DEVICE_ROWS = 2000


@router.get("/vulnerabilities/tenants/{tenant_id}/summary", response=VulnerabilitySummaryOut)
@declare_action(VIEW_VULNERABILITIES)
def summary(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """Open findings by severity, all by status, the open ones without a fix, the packages
    with most open findings and the most exposed devices, of the devices the caller sees."""
    tenant = tenant_in_reach(request.principal, tenant_id, VIEW_VULNERABILITIES)
    board = queries.dashboard(request.principal, tenant.pk)
    return {
        "tenant_id": tenant.pk,
        "open_by_severity": board.by_severity,
        "by_status": board.by_status,
        "unfixed": board.unfixed,
        "top_packages": [vars(p) for p in board.packages],
        "most_exposed_devices": [
            {"device_id": d.device_id, "name": d.device_name, "open": d.counts, "total": d.total}
            for d in board.devices
        ],
    }


@router.get("/vulnerabilities/tenants/{tenant_id}/findings", response=list[VulnerabilityFindingOut])
@paginate(CappedLimitOffsetPagination)
@declare_action(VIEW_VULNERABILITIES)
def tenant_findings(
    request: TandemRequest, tenant_id: Id, filters: Query[VulnerabilityFindingQuery]
):  # type: ignore[no-untyped-def]
    """The tenant's findings the caller sees, newest first; filters by status (default
    all), severity, package, device, text (advisory, CVE, package) and unfixed."""
    tenant = tenant_in_reach(request.principal, tenant_id, VIEW_VULNERABILITIES)
    rows = queries.filtered(
        queries.findings(request.principal, tenant.pk),
        filters.dict(exclude_none=True),
    )
    return rows


@router.get("/vulnerabilities/tenants/{tenant_id}/findings.csv")
@declare_action(VIEW_VULNERABILITIES)
def tenant_findings_csv(
    request: TandemRequest, tenant_id: Id, filters: Query[VulnerabilityFindingQuery]
):  # type: ignore[no-untyped-def]
    """The tenant's findings the caller sees as CSV, newest first, under the same filters
    as the list (default: every status); streamed, however many there are."""
    tenant = tenant_in_reach(request.principal, tenant_id, VIEW_VULNERABILITIES)
    rows = queries.filtered(
        queries.findings(request.principal, tenant.pk), filters.dict(exclude_none=True)
    )
    return exports.csv_response(request.principal, rows, tenant.pk)


@router.get("/vulnerabilities/findings", response=list[VulnerabilityFindingOut])
@paginate(CappedLimitOffsetPagination)
@declare_action(VIEW_VULNERABILITIES)
def all_findings(
    request: TandemRequest, filters: Query[VulnerabilityFindingQuery], tenant_id: Id | None = None
):  # type: ignore[no-untyped-def]
    """The findings the caller sees across its tenants (a provider: on the devices inside
    its engagements' scope), newest first; the same filters, and ``tenant_id``."""
    rows = queries.findings(request.principal, tenant_id)
    return queries.filtered(rows, filters.dict(exclude_none=True))


@router.get("/vulnerabilities/findings/{finding_id}", response=VulnerabilityFindingOut)
@declare_action(VIEW_VULNERABILITIES)
def finding(request: TandemRequest, finding_id: Id):  # type: ignore[no-untyped-def]
    """One finding."""
    return queries.finding_in_reach(request.principal, finding_id)


@router.get("/vulnerabilities/devices/{device_id}/findings", response=list[VulnerabilityFindingOut])
@declare_action(VIEW_VULNERABILITIES)
def device_findings(request: TandemRequest, device_id: Id):  # type: ignore[no-untyped-def]
    """The device's findings (every status), newest first."""
    device = device_queries.device(request.principal, device_id)
    return list(queries.device_findings(request.principal, device)[:DEVICE_ROWS])


@router.post("/vulnerabilities/findings/{finding_id}/accept-risk", response=VulnerabilityFindingOut)
@declare_action(ACCEPT_VULNERABILITY_RISK)
def accept_risk(request: TandemRequest, finding_id: Id, payload: AcceptRiskIn):  # type: ignore[no-untyped-def]
    """Accept the finding's risk for a reason until an expiry (the tenant's own IT)."""
    services.accept_risk(
        actor=request.principal,
        finding_id=finding_id,
        reason=payload.reason,
        expires_at=payload.expires_at,
    )
    return queries.finding_in_reach(request.principal, finding_id)


@router.post("/vulnerabilities/findings/{finding_id}/reopen", response=VulnerabilityFindingOut)
@declare_action(ACCEPT_VULNERABILITY_RISK)
def reopen(request: TandemRequest, finding_id: Id):  # type: ignore[no-untyped-def]
    """Withdraw the finding's risk acceptance: it is open again."""
    services.reopen_finding(actor=request.principal, finding_id=finding_id)
    return queries.finding_in_reach(request.principal, finding_id)
