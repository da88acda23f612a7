"""The responsibility matrix API, one router the registry mounts at ``/api/v1/``: the
matrix as the caller may read it, rows added and removed, coverage added, changed and
removed. The paths, statuses and messages are those they had as desk endpoints; the tags
too, so the published documentation groups them as before.

Thin handlers: the tenant through ``tenant_in_reach`` or ``tenant_in_body`` (404, or 422
for a body's ``tenant_id``), the object through the queries (404 out of reach), one service.
"""

from ninja import Router

from tandem.core.actions import declare_action
from tandem.core.api import Id
from tandem.core.errors import InvalidInput
from tandem.core.policies import authorize
from tandem.core.request import TandemRequest, tenant_in_body, tenant_in_reach
from tandem.responsibility import queries, services
from tandem.responsibility.apps import CHANGE_MATRIX, VIEW_MATRIX
from tandem.responsibility.schemas import (
    CoverageIn,
    CoverageOut,
    CoveragePatch,
    MatrixOut,
    MatrixRowIn,
    MatrixRowOut,
)

#: A party the caller cannot see, named in a body.
NO_SUCH_PARTY = "No such party in this tenant."

matrix_router = Router(tags=["service desk"])
coverage_router = Router(tags=["desk configuration"])


@matrix_router.get("/tenants/{tenant_id}/matrix", response=MatrixOut)
@declare_action(VIEW_MATRIX)
def get_matrix(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The responsibility matrix, the coverage, and what it leaves uncovered this week: what
    the matrix page shows the caller (a provider: its engagement's areas and sites, and no
    other provider's parties)."""
    principal = request.principal
    tenant = tenant_in_reach(principal, tenant_id)
    # Seen but not readable: 403, as before (the tenant exists for this caller).
    authorize(principal, VIEW_MATRIX, tenant)
    view = queries.matrix_view(principal, tenant)
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
@declare_action(CHANGE_MATRIX)
def add_matrix_row(request: TandemRequest, payload: MatrixRowIn):  # type: ignore[no-untyped-def]
    tenant = tenant_in_body(request.principal, payload.tenant_id)
    row = services.add_matrix_row(
        actor=request.principal, tenant=tenant, **payload.model_dump(exclude={"tenant_id"})
    )
    return 201, row


@matrix_router.delete("/matrix-rows/{matrix_row_id}", response={204: None})
@declare_action(CHANGE_MATRIX)
def remove_matrix_row(request: TandemRequest, matrix_row_id: Id):  # type: ignore[no-untyped-def]
    principal = request.principal
    services.remove_matrix_row(
        actor=principal, row=queries.row_for_removal(principal, matrix_row_id)
    )
    return 204, None


@matrix_router.post("/coverage", response={201: CoverageOut})
@declare_action(CHANGE_MATRIX)
def add_coverage(request: TandemRequest, payload: CoverageIn):  # type: ignore[no-untyped-def]
    principal = request.principal
    tenant = tenant_in_body(principal, payload.tenant_id)
    party = queries.parties(principal, tenant.pk).filter(pk=payload.party_id).first()
    if party is None:
        raise InvalidInput({"party_id": [NO_SUCH_PARTY]})
    data = payload.model_dump(exclude={"tenant_id", "party_id"})
    return 201, services.add_coverage(actor=principal, tenant=tenant, party=party, **data)


@coverage_router.patch("/coverage/{coverage_id}", response=CoverageOut)
@declare_action(CHANGE_MATRIX)
def update_coverage(request: TandemRequest, coverage_id: Id, payload: CoveragePatch):  # type: ignore[no-untyped-def]
    principal = request.principal
    coverage = queries.coverage_for(principal, coverage_id)
    return services.update_coverage(
        actor=principal, coverage=coverage, **payload.model_dump(exclude_unset=True)
    )


@coverage_router.delete("/coverage/{coverage_id}", response={204: None})
@declare_action(CHANGE_MATRIX)
def remove_coverage(request: TandemRequest, coverage_id: Id):  # type: ignore[no-untyped-def]
    principal = request.principal
    services.remove_coverage(actor=principal, coverage=queries.coverage_for(principal, coverage_id))
    return 204, None


#: What the app registry mounts (``ResponsibilityConfig.api_routers``).
router = Router()
router.add_router("", matrix_router)
router.add_router("", coverage_router)
