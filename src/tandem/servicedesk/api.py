"""The desk's API, one router for ``config/api.py``: the matrix endpoints below, then each
aggregate's router (tickets, queue, desk configuration) and the coverage endpoints.
Thin handlers: find through the policy (404 out of reach), call one service."""

from django.http import Http404, HttpRequest
from ninja import Router

from tandem.core import policies
from tandem.core.actions import declare_action
from tandem.core.api import Id, principal_of
from tandem.core.errors import InvalidInput
from tandem.servicedesk import api_config, queries, services
from tandem.servicedesk.config import api as config_api
from tandem.servicedesk.config.api import _matrix_tenant
from tandem.servicedesk.models import ResponsibilityRow
from tandem.servicedesk.queues import api as queue_api
from tandem.servicedesk.schemas import CoverageIn, CoverageOut, MatrixOut, MatrixRowIn, MatrixRowOut
from tandem.servicedesk.tickets import api as ticket_api
from tandem.servicedesk.tickets import queries as ticket_queries
from tandem.servicedesk.tickets.api import NO_SUCH_PARTY, _tenant_for_write

matrix_router = Router(tags=["service desk"])


@matrix_router.get("/tenants/{tenant_id}/matrix", response=MatrixOut)
@declare_action("servicedesk.view_matrix")
def get_matrix(request: HttpRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The responsibility matrix, the coverage, and what it leaves uncovered this week: what
    the matrix page shows the caller (a provider: its engagement's areas and sites, and no
    other provider's parties)."""
    principal = principal_of(request)
    view = queries.matrix_view(principal, _matrix_tenant(request, tenant_id))
    return {
        "tenant_id": tenant_id,
        "version": view.version,
        "rows": view.rows,
        "coverage": view.coverage,
        "findings": [
            {
                "kind": f.kind,
                "message": f.message,
                "service_area_id": f.service_area_id,
                "priority": f.priority,
                "windows": [[a.isoformat(), b.isoformat()] for a, b in f.windows],
            }
            for f in view.findings
        ],
    }


@matrix_router.post("/matrix-rows", response={201: MatrixRowOut})
@declare_action("servicedesk.change_matrix")
def add_matrix_row(request: HttpRequest, payload: MatrixRowIn):  # type: ignore[no-untyped-def]
    tenant = _tenant_for_write(request, payload.tenant_id)
    row = services.add_matrix_row(
        actor=principal_of(request), tenant=tenant, **payload.model_dump(exclude={"tenant_id"})
    )
    return 201, row


@matrix_router.delete("/matrix-rows/{matrix_row_id}", response={204: None})
@declare_action("servicedesk.change_matrix")
def remove_matrix_row(request: HttpRequest, matrix_row_id: Id):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    row = ResponsibilityRow.objects.filter(pk=matrix_row_id).select_related("tenant").first()
    if row is None or not policies.allowed(principal, "servicedesk.view_matrix", row.tenant):
        raise Http404("not found")
    services.remove_matrix_row(actor=principal, row=row)
    return 204, None


@matrix_router.post("/coverage", response={201: CoverageOut})
@declare_action("servicedesk.change_matrix")
def add_coverage(request: HttpRequest, payload: CoverageIn):  # type: ignore[no-untyped-def]
    tenant = _tenant_for_write(request, payload.tenant_id)
    party = (
        ticket_queries.parties(principal_of(request), tenant.pk).filter(pk=payload.party_id).first()
    )
    if party is None:
        raise InvalidInput({"party_id": [NO_SUCH_PARTY]})
    data = payload.model_dump(exclude={"tenant_id", "party_id"})
    return 201, services.add_coverage(
        actor=principal_of(request), tenant=tenant, party=party, **data
    )


#: What ``config/api.py`` mounts: each aggregate's router, in the order their paths were
#: first published (the routers carry their own tags).
router = Router()
for part in (
    ticket_api.router,
    matrix_router,
    queue_api.router,
    config_api.router,
    api_config.router,
):
    router.add_router("", part)
