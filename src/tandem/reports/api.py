"""Dashboard API: the figures of the dashboard pages as JSON."""

from ninja import Router

from tandem.core.actions import declare_action
from tandem.core.api import Id
from tandem.core.request import TandemRequest
from tandem.reports import queries
from tandem.reports.schemas import DashboardOut
from tandem.reports.views import dashboard_provider, dashboard_tenant

router = Router(tags=["reports"])


@router.get("/tenants/{tenant_id}/dashboard", response=DashboardOut)
@declare_action("servicedesk.view_ticket")
def get_tenant_dashboard(request: TandemRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """Open work by party, SLA attainment and breaches per party (last 30 days), backlog age
    and handoffs of one tenant, over the tickets the caller may see. Requesters: 404."""
    principal = request.principal
    tenant = dashboard_tenant(principal, tenant_id)
    return queries.as_json(queries.tenant_dashboard(principal, tenant))


@router.get("/providers/{provider_id}/dashboard", response=DashboardOut)
@declare_action("servicedesk.view_ticket")
def get_provider_dashboard(request: TandemRequest, provider_id: Id):  # type: ignore[no-untyped-def]
    """The same figures for a provider, across every tenant that engaged it; for the
    provider's own people only (others: 404)."""
    principal = request.principal
    provider = dashboard_provider(principal, provider_id)
    return queries.as_json(queries.provider_dashboard(principal, provider.pk))
