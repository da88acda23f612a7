"""Who sees and works which tickets, notes and matrix rows.

- The tenant's IT (owner, internal technicians, auditors) sees every ticket of the tenant.
- A provider sees the tickets its party holds or has held, the tickets inside its
  engagement's scope (service areas, and sites when the engagement names sites), and the
  tickets its people requested. It works
  (status, priority, notes, time, handoffs) only tickets its party holds, and only when the
  engagement allows ``tickets.work``.
- A requester sees only the tickets they requested, and only public notes.
"""

from __future__ import annotations

from django.db.models import Q

from tandem.core.policies import ScopedPermission, policy
from tandem.core.principal import Principal, TenantAccess

WORK = "tickets.work"


def _held_or_held_before(access: TenantAccess) -> Q:
    from tandem.servicedesk.models import TicketEvent

    party_id = access.party_id or 0
    return Q(party_id=party_id) | Q(
        pk__in=TicketEvent.objects.filter(tenant_id=access.tenant_id, party_id=party_id).values(
            "ticket_id"
        )
    )


def _in_engagement_scope(access: TenantAccess) -> Q:
    rows = Q(service_area_id__in=sorted(access.service_area_ids or ()))
    if access.site_ids is not None:
        rows &= Q(site_id__in=sorted(access.site_ids))
    return rows


def _ticket_view_rule(access: TenantAccess) -> Q:
    if access.provider_id is not None:
        # Plus what its people requested themselves (an MSP opening a ticket for a client).
        return (
            _held_or_held_before(access)
            | _in_engagement_scope(access)
            | Q(requester_id=access.user_id)
        )
    if "servicedesk.view_all_ticket" in access.permissions:
        return Q()
    return Q(requester_id=access.user_id)


def _ticket_work_rule(access: TenantAccess) -> Q:
    if access.provider_id is not None:
        if WORK not in access.engagement_actions:
            return Q(pk__in=[])
        return Q(party_id=access.party_id)
    if "servicedesk.view_all_ticket" in access.permissions:
        return Q()
    return Q(requester_id=access.user_id)


policy("servicedesk.view_ticket")(
    ScopedPermission("servicedesk.view_ticket", rule=_ticket_view_rule)
)
for _verb in ("change", "handoff", "comment", "log_time_on"):
    policy(f"servicedesk.{_verb}_ticket")(
        ScopedPermission(f"servicedesk.{_verb}_ticket", rule=_ticket_work_rule)
    )
policy("servicedesk.add_ticket")(ScopedPermission("servicedesk.add_ticket", tenant_field="id"))

# The matrix and desk settings: readable by the tenant's IT and its providers; changed by the
# tenant's owners only.
policy("servicedesk.view_matrix")(ScopedPermission("servicedesk.view_matrix", tenant_field="id"))
policy("servicedesk.change_matrix")(
    ScopedPermission("servicedesk.change_matrix", tenant_field="id", internal_only=True)
)


def may_write_internal_notes(principal: Principal, tenant_id: int) -> bool:
    """Requesters write public replies only; IT people write any tier."""
    return any(
        a.party_id is not None
        for a in principal.accesses_with("servicedesk.comment_ticket", tenant_id)
    )
