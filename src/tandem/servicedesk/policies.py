"""Who sees and works which tickets, notes, SLA policies and matrix rows.

- The tenant's IT (owner, internal technicians, auditors) sees every ticket of the tenant.
- A provider sees the tickets its party holds or has held, the tickets inside its
  engagement's scope (service areas, and sites when the engagement names sites), and the
  tickets its people requested. It works
  (status, priority, notes, time, handoffs) only tickets its party holds, and only when the
  engagement allows ``tickets.work``.
- A requester sees only the tickets they requested, and only public notes.
- Notes and files carry one of three tiers (:func:`note_tiers`); SLA and OLA terms are the
  tenant's IT's to read, a provider's own party's terms its own (:func:`sla_policy_rule`).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from tandem.core.lookups import IdIn
from tandem.core.policies import ScopedPermission, policy
from tandem.core.principal import Principal, TenantAccess
from tandem.servicedesk.choices import Visibility
from tandem.servicedesk.tickets.models import Ticket, TicketEvent

WORK = "tickets.work"

#: Reviewing the tenant's mail that did not become a ticket or a note, and the notifications
#: that could not be sent (and sending one again). Held by those who set up the desk
#: (``servicedesk.change_matrix``: the matrix, calendars, SLAs and mail templates), that is
#: the tenant's owners; never by a provider. The name is older than the desk's mail aggregate
#: (the review pages are the notifications app's) and is kept: roles and tests name it.
REVIEW_MAIL = "notifications.review_mail"

policy(REVIEW_MAIL)(ScopedPermission("servicedesk.change_matrix", internal_only=True))


def _held_or_held_before(access: TenantAccess) -> Q:
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
    # The rule for one access, as the permission table documents it; lists and objects use
    # TicketVisibility.q below, which states the same for all accesses at once.
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


class _ProbedExists(Exists):
    """``EXISTS (... OFFSET 0)``: probed row by row through the events' ticket index.

    Without the ``OFFSET 0``, PostgreSQL turns an ``EXISTS`` under ``OR`` into a hashed
    subplan: it first reads every event of every party of the provider (half a million rows
    for a large MSP) to answer a queue page that needs fifty tickets. A subquery with an
    offset is never flattened that way, so the planner probes the few rows that reach it.
    SQLite accepts the same SQL.
    """

    template = "EXISTS(%(subquery)s OFFSET 0)"


def _internal_clause(
    principal: Principal, accesses: list[TenantAccess]
) -> tuple[Q, list[TenantAccess]]:
    """The tickets a principal's internal accesses reach, as one clause (every ticket of
    the tenants where it sees all of them, its own requests in the others), and its
    provider accesses, left to the caller's rule. Shared by the merged view and work
    predicates; ``IdIn`` sends each list as one array parameter (core.lookups)."""
    everything: set[int] = set()
    own_requests: set[int] = set()
    provider: list[TenantAccess] = []
    for access in accesses:
        if access.provider_id is not None:
            provider.append(access)
        elif "servicedesk.view_all_ticket" in access.permissions:
            everything.add(access.tenant_id)
        else:
            own_requests.add(access.tenant_id)
    allowed = Q(pk__in=[])
    if everything:
        allowed |= Q(IdIn("tenant_id", everything))
    if own_requests:
        allowed |= Q(IdIn("tenant_id", own_requests), requester_id=principal.user_id)
    return allowed, provider


class TicketVisibility(ScopedPermission):
    """``servicedesk.view_ticket`` as one predicate for all of a principal's accesses.

    The generic form ORs one clause per access, and a provider technician has one access
    per client tenant: fifty tenants meant fifty copies of the "held before" subquery, which
    the database materialised in full before returning the first row of a queue. This form
    says the same thing once: the tenants reached through the provider, and then any of the
    provider's parties holding or having held the ticket (a correlated ``EXISTS``, probed
    per row), the engagements' service areas (sites where an engagement names sites), or
    the technician's own requests.

    Merging is exact because parties, service areas and sites each belong to one tenant and
    a ticket only ever references those of its own tenant (the services refuse anything
    else), so "area A of tenant T" needs no separate ``tenant = T`` beside it.
    """

    def q(self, principal: Principal) -> Q:
        allowed, provider = _internal_clause(principal, self._tenant_accesses(principal))
        if provider:
            parties = {a.party_id or 0 for a in provider}
            areas: set[int] = set()
            reach = Q(IdIn("party_id", parties)) | Q(requester_id=principal.user_id)
            for access in provider:
                if access.site_ids is None:
                    areas |= set(access.service_area_ids or ())
                else:
                    reach |= Q(
                        IdIn("service_area_id", access.service_area_ids or ()),
                        IdIn("site_id", access.site_ids),
                    )
            if areas:
                reach |= Q(IdIn("service_area_id", areas))
            reach |= Q(
                _ProbedExists(
                    TicketEvent.objects.filter(ticket_id=OuterRef("pk")).filter(
                        IdIn("party_id", parties)
                    )
                )
            )
            allowed |= Q(IdIn("tenant_id", {a.tenant_id for a in provider})) & reach
        return allowed


class TicketWork(ScopedPermission):
    """Working a ticket (change, hand off, comment, log time) as one predicate for all of a
    principal's accesses: :func:`_ticket_work_rule`, merged as :class:`TicketVisibility`
    merges the view rule.

    The generic form ORs ``tenant = T AND party = P`` once per access, because each
    provider access names its own party: 160 clauses for a large MSP, 11 ms to compile on
    every queue page that asks which of its rows may be changed. Parties belong to one
    tenant, so "held by one of these parties" says the same without the tenants.
    """

    def q(self, principal: Principal) -> Q:
        allowed, provider = _internal_clause(principal, self._tenant_accesses(principal))
        parties = {a.party_id or 0 for a in provider if WORK in a.engagement_actions}
        if parties:
            allowed |= Q(IdIn("party_id", parties))
        return allowed


policy("servicedesk.view_ticket")(
    TicketVisibility("servicedesk.view_ticket", rule=_ticket_view_rule)
)
for _verb in ("change", "handoff", "comment", "log_time_on"):
    policy(f"servicedesk.{_verb}_ticket")(
        TicketWork(f"servicedesk.{_verb}_ticket", rule=_ticket_work_rule)
    )
policy("servicedesk.add_ticket")(ScopedPermission("servicedesk.add_ticket", tenant_field="id"))

# The matrix and desk settings: readable by the tenant's IT and its providers; changed by the
# tenant's owners only.
policy("servicedesk.view_matrix")(ScopedPermission("servicedesk.view_matrix", tenant_field="id"))
policy("servicedesk.change_matrix")(
    ScopedPermission("servicedesk.change_matrix", tenant_field="id", internal_only=True)
)


# --- Notes, files and SLA terms -------------------------------------------------------------


def note_tiers(principal: Principal, ticket: Ticket) -> Q:
    """Which notes (and files) of ``ticket`` the principal may read: the one place that
    decides it.

    Party-private: the author's party only. IT-shared: the tenant's internal IT and the
    provider parties involved in the ticket (holding it or having held it). Public: also
    the requester.
    """
    allowed = Q(visibility=Visibility.PUBLIC)
    held = set(TicketEvent.objects.filter(ticket=ticket).values_list("party_id", flat=True))
    involved = held | {ticket.party_id}
    for access in principal.accesses_with("servicedesk.view_ticket", ticket.tenant_id):
        if access.party_id is None:
            continue  # a requester: public notes only
        allowed |= Q(visibility=Visibility.PRIVATE, party_id=access.party_id)
        if access.provider_id is None or access.party_id in involved:
            allowed |= Q(visibility=Visibility.SHARED)
    return allowed


def sla_policy_rule(principal: Principal, tenant_id: int) -> Q:
    """Which of a tenant's SLA policies the principal may read (given that it reads the
    tenant's configuration): the tenant's IT every SLA and OLA, a provider only its own
    party's terms (another party's are none of its business)."""
    if principal.is_internal_in(tenant_id):
        return Q()
    return Q(party_id__in=sorted(principal.party_ids_in(tenant_id)))


def may_write_internal_notes(principal: Principal, tenant_id: int) -> bool:
    """Requesters write public replies only; IT people write any tier, and so does the
    system's own work on no one's behalf (an offline alert's note, decision 0032): it is
    no requester. A system principal that carries a person (a mail correspondent's reply)
    writes as that person would: public."""
    if principal.is_system and principal.user_id is None:
        return True
    return any(
        a.party_id is not None
        for a in principal.accesses_with("servicedesk.comment_ticket", tenant_id)
    )


# --- Logging a ticket for a caller ------------------------------------------------------------


def _log_ticket_rule(access: TenantAccess) -> Q:
    # The tenant's IT logs calls for the whole tenant; a provider only while its engagement
    # lets it work tickets (the service keeps the ticket inside the engagement's scope).
    if access.provider_id is not None and WORK not in access.engagement_actions:
        return Q(pk__in=[])
    return Q()


policy("servicedesk.log_ticket")(
    ScopedPermission("servicedesk.log_ticket", tenant_field="id", rule=_log_ticket_rule)
)


def may_log_for_callers(principal: Principal, tenant_id: int) -> list[TenantAccess]:
    """The principal's accesses in the tenant that may log a ticket for a caller (IT people
    only: a requester holds no party); empty when it may not. No query."""
    return [
        a
        for a in principal.accesses_with("servicedesk.log_ticket", tenant_id)
        if a.party_id is not None and (a.provider_id is None or WORK in a.engagement_actions)
    ]


# --- Canned replies ---------------------------------------------------------------------------


def _canned_reply_view_rule(access: TenantAccess) -> Q:
    # Tenant-wide replies for the tenant's IT and every engaged provider; a party's own
    # replies for that party alone. A requester (no party) reads none.
    if access.party_id is None:
        return Q(pk__in=[])
    return Q(party__isnull=True) | Q(party_id=access.party_id)


def _canned_reply_change_rule(access: TenantAccess) -> Q:
    # The tenant's IT keeps the tenant-wide replies and its own party's; a provider its own.
    if access.party_id is None:
        return Q(pk__in=[])
    if access.provider_id is None:
        return Q(party__isnull=True) | Q(party_id=access.party_id)
    return Q(party_id=access.party_id)


policy("servicedesk.view_cannedreply")(
    ScopedPermission("servicedesk.view_cannedreply", rule=_canned_reply_view_rule)
)
policy("servicedesk.change_cannedreply")(
    ScopedPermission("servicedesk.change_cannedreply", rule=_canned_reply_change_rule)
)
