"""Coverage API (part of the responsibility matrix): changed and removed. Coverage is added
through ``api.py``.
"""

from django.http import HttpRequest
from ninja import Router

from tandem.core.actions import declare_action
from tandem.core.api import Id, principal_of
from tandem.servicedesk import services_config
from tandem.servicedesk.schemas import CoverageOut, CoveragePatch

router = Router(tags=["desk configuration"])

VIEW = "servicedesk.view_matrix"
CHANGE = "servicedesk.change_matrix"


# --- Coverage ---------------------------------------------------------------------------------


@router.patch("/coverage/{coverage_id}", response=CoverageOut)
@declare_action(CHANGE)
def update_coverage(request: HttpRequest, coverage_id: Id, payload: CoveragePatch):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    coverage = services_config.coverage_for(principal, coverage_id)
    return services_config.update_coverage(
        actor=principal, coverage=coverage, **payload.model_dump(exclude_unset=True)
    )


@router.delete("/coverage/{coverage_id}", response={204: None})
@declare_action(CHANGE)
def remove_coverage(request: HttpRequest, coverage_id: Id):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    services_config.remove_coverage(
        actor=principal, coverage=services_config.coverage_for(principal, coverage_id)
    )
    return 204, None
