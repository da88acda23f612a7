from ninja import Router

from tandem.core.actions import declare_action
from tandem.core.api import Id
from tandem.core.request import TandemRequest
from tests.registry_app.apps import VIEW_PROBE
from tests.registry_app.queries import probed_tenant

router = Router(tags=["registry probe"])


@router.get("/tenants/{tenant_id}/registry-probe")
@declare_action(VIEW_PROBE)
def get_probe(request: TandemRequest, tenant_id: Id) -> dict[str, str]:
    """The tenant's name, for those who may probe it; another tenant's: 404."""
    return {"tenant": probed_tenant(request.principal, tenant_id).name}
