"""Who may open a dashboard.

The pages and API operations declare ``servicedesk.view_ticket``; a dashboard is for people
who work tickets for a party, so requesters (who hold that permission for their own tickets
only) never see one:

- a tenant's dashboard: anyone holding ``servicedesk.view_ticket`` in the tenant through an
  access with a party (its IT, or a provider through an active engagement);
- a provider's dashboard: anyone holding ``servicedesk.view_ticket`` at that provider.
"""

from __future__ import annotations

from typing import Any

from tandem.core.policies import policy
from tandem.core.principal import Principal

VIEW_TICKET = "servicedesk.view_ticket"


def may_view_tenant_dashboard(principal: Principal, tenant_id: int) -> bool:
    return any(a.party_id is not None for a in principal.accesses_with(VIEW_TICKET, tenant_id))


def may_view_provider_dashboard(principal: Principal, provider_id: int) -> bool:
    return bool(principal.provider_accesses_with(VIEW_TICKET, provider_id))


@policy("reports.view_dashboard")
def view_dashboard(principal: Principal, obj: Any) -> bool:
    """A tenant's or a provider's dashboard (``obj`` is the Tenant or the Provider)."""
    if obj is None:
        return any(a.party_id is not None for a in principal.accesses_with(VIEW_TICKET)) or bool(
            principal.provider_accesses_with(VIEW_TICKET)
        )
    label = obj._meta.label
    if label == "tenancy.Tenant":
        return may_view_tenant_dashboard(principal, obj.pk)
    if label == "tenancy.Provider":
        return may_view_provider_dashboard(principal, obj.pk)
    return False
