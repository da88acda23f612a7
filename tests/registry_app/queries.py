from tandem.core.principal import Principal
from tandem.tenancy import queries as tenancy_queries
from tandem.tenancy.models import Tenant
from tests.registry_app.apps import VIEW_PROBE


def probed_tenant(principal: Principal, tenant_id: int) -> Tenant:
    """The tenant, if the principal may probe it; else not found."""
    return tenancy_queries.tenant(principal, tenant_id, VIEW_PROBE)
