"""Audit API: read, export as JSON Lines, and verify the tenant's chain."""

from django.http import StreamingHttpResponse
from ninja import Query, Router
from ninja.pagination import paginate

from tandem.audit import queries
from tandem.audit.schemas import AuditEntryOut, AuditFilter, ChainStateOut
from tandem.audit.services import verify_chains
from tandem.core import policies
from tandem.core.actions import declare_action
from tandem.core.api import Id, Pagination
from tandem.core.request import TandemRequest, tenant_in_reach

router = Router(tags=["audit"])


@router.get("/audit", response=list[AuditEntryOut])
@paginate(Pagination)
@declare_action("audit.view_auditentry")
def list_audit(request: TandemRequest, filters: Query[AuditFilter]):  # type: ignore[no-untyped-def]
    return filters.filter(queries.entries(request.principal))


@router.get("/audit/export")
@declare_action("audit.view_auditentry")
def export_audit(request: TandemRequest, filters: Query[AuditFilter]):  # type: ignore[no-untyped-def]
    """Everything the caller may read, oldest first, as JSON Lines."""
    rows = filters.filter(queries.entries(request.principal)).order_by("chain_key", "seq")
    response = StreamingHttpResponse(
        queries.as_json_lines(rows), content_type="application/x-ndjson"
    )
    response["Content-Disposition"] = 'attachment; filename="tandem-audit.jsonl"'
    return response


@router.get("/tenants/{tenant_id}/audit/verify", response=ChainStateOut)
@declare_action("audit.verify_chain")
def verify_tenant_chain(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id)
    policies.authorize(principal, "audit.verify_chain", tenant)
    reports = verify_chains(tenant_id=tenant.pk)
    if not reports:
        return {
            "tenant_id": tenant.pk,
            "ok": True,
            "entries_checked": 0,
            "first_bad_seq": None,
            "problem": None,
        }
    report = reports[0]
    return {
        "tenant_id": tenant.pk,
        "ok": report.ok,
        "entries_checked": report.entries_checked,
        "first_bad_seq": report.problem.seq if report.problem else None,
        "problem": str(report.problem) if report.problem else None,
    }
