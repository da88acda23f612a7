"""Writes of a ticket's life: opening (by the requester or logged for a caller), status,
priority, handoff and assignment. Keyword-only, actor first, one transaction, audited.

Each change of a ticket's holder, status or priority appends a :class:`TicketEvent` and
recomputes its SLA clocks from the whole history (``sla_bridge.recompute_sla``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from tandem.accounts import services as accounts
from tandem.accounts.models import Membership, Role, User
from tandem.accounts.principals import resolve_principal
from tandem.audit.services import diff, record_audit
from tandem.core.errors import Conflict, InvalidInput, require
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.scoping import system_context, within_tenant
from tandem.core.validation import clean_name, clean_text
from tandem.responsibility import routing
from tandem.responsibility.queries import who_handles
from tandem.servicedesk import desk_config
from tandem.servicedesk import events as desk_events
from tandem.servicedesk.choices import (
    DONE_KINDS,
    EventKind,
    StatusKind,
    TicketSource,
    Via,
)
from tandem.servicedesk.config.models import Category, DeskSettings
from tandem.servicedesk.config.queries import priority_in
from tandem.servicedesk.policies import may_log_for_callers
from tandem.servicedesk.sla_bridge import recompute_sla
from tandem.servicedesk.tickets import device_services
from tandem.servicedesk.tickets.models import (
    Handoff,
    Ticket,
    TicketEvent,
)
from tandem.tenancy.models import Party, Tenant

MAX_DESCRIPTION = 50_000
MAX_COMMENT = 50_000
MAX_TAGS = 20


def internal_party(tenant_id: int) -> Party:
    return Party.objects.get(tenant_id=tenant_id, kind="internal")


# --- Routing ----------------------------------------------------------------------------------


def eligible_parties(
    tenant_id: int, area_ids: Iterable[int | None], site_ids: Iterable[int | None]
) -> dict[tuple[int | None, int | None], frozenset[int]]:
    """For each (area, site): the parties that may hold such a ticket right now.

    Internal IT always; a provider party while its engagement is live and covers the area
    (and the site, when the engagement names sites).
    """
    return desk_config.current(tenant_id).eligible(area_ids, site_ids)


def routing_context(
    tenant_id: int, *, area_ids: Iterable[int | None] = (), site_ids: Iterable[int | None] = ()
) -> routing.RoutingContext:
    """The tenant's matrix, coverage and eligibility as plain data for the routing core."""
    context: routing.RoutingContext = desk_config.current(tenant_id).routing_context(
        area_ids=area_ids, site_ids=site_ids
    )
    return context


def _route(ticket: Ticket, at: dt.datetime, config: desk_config.DeskConfig) -> routing.Decision:
    """Who takes ``ticket`` (the responsibility app's question), from the configuration the
    caller loaded once for the whole write."""
    return who_handles(
        tenant=ticket.tenant_id,
        area=ticket.service_area_id,
        site=ticket.site_id,
        asset_group=ticket.asset_group_id,
        priority=ticket.priority,
        at=at,
        context=config.routing_context(
            area_ids=[ticket.service_area_id], site_ids=[ticket.site_id]
        ),
    )


# --- Tickets ----------------------------------------------------------------------------------


def _event_row(
    ticket: Ticket, kind: str, actor: Principal, at: dt.datetime, **detail: Any
) -> TicketEvent:
    """A history entry for ``ticket`` as it is now (not yet saved)."""
    return TicketEvent(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        at=at,
        kind=kind,
        status=ticket.status,
        party_id=ticket.party_id,
        priority=ticket.priority,
        actor_label=actor.label[:200],
        detail=detail,
    )


def _event(ticket: Ticket, kind: str, actor: Principal, at: dt.datetime, **detail: Any) -> None:
    _event_row(ticket, kind, actor, at, **detail).save()


def _hold_workflow(tenant_id: int) -> None:
    """Keep the tenant's status workflow as it is until this transaction ends.

    A status change sets ``resolved_at`` by the kind of the new status, and the queues'
    "open" filter trusts it; an edit of the workflow (``set_statuses``, which locks the
    settings row for update) refuses to change the kind of a status that tickets hold. A
    key-share lock on PostgreSQL makes the two wait for each other, so neither decides on
    what the other is changing; it does not wait for new tickets, which update the row
    without touching its key. SQLite runs one writing transaction at a time anyway.
    """
    if connection.vendor != "postgresql":
        return
    table = DeskSettings._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE tenant_id = %s FOR KEY SHARE",  # noqa: S608 - our table
            [tenant_id],
        )


def _take_number(tenant_id: int) -> tuple[int, uuid.UUID]:
    """The tenant's next ticket number and its desk-configuration token.

    One statement that also locks the tenant's desk-settings row until the transaction ends,
    so two tickets can never get the same number and a rolled-back one gives its number
    back. ``UPDATE ... RETURNING`` works on PostgreSQL and SQLite (3.35+) alike.
    """
    table = DeskSettings._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET next_number = next_number + 1 "  # noqa: S608 - our table name
            "WHERE tenant_id = %s RETURNING next_number - 1, config_token",
            [tenant_id],
        )
        row = cursor.fetchone()
    if row is None:  # every tenant has its row from its creation (config.services.set_up_desk)
        raise DeskSettings.DoesNotExist(f"Tenant {tenant_id} has no desk settings.")
    number, token = row
    return int(number), token if isinstance(token, uuid.UUID) else uuid.UUID(str(token))


def _in_tenant(model: Any, tenant_id: int, pk: int | None, field: str) -> Any:
    if pk is None:
        return None
    found = model.objects.filter(tenant_id=tenant_id, pk=pk).first()
    require(found is not None, field, "Not found in this tenant.")
    return found


def create_ticket(
    *,
    actor: Principal,
    tenant: Tenant,
    requester: User,
    subject: str,
    description: str = "",
    category_id: int | None = None,
    service_area_id: int | None = None,
    impact: int = 3,
    urgency: int = 3,
    site_id: int | None = None,
    asset_group_id: int | None = None,
    tags: Iterable[str] = (),
    via: str = Via.WEB,
    source: str = TicketSource.PORTAL,
    holder_id: int | None = None,
    assignee: User | None = None,
    follow_up_of: Ticket | None = None,
    device_ids: Iterable[int] = (),
    now: dt.datetime | None = None,
) -> Ticket:
    """Open a ticket, route it through the matrix, start its SLA clocks, audit it.

    ``holder_id`` and ``assignee`` are the choices of a technician logging a call
    (:func:`log_ticket_for_caller`, which checks that the actor may make them): the ticket
    goes to that party, or to a party the assignee works for, instead of the matrix's
    choice, and the routing reason says who chose and what the matrix would have done.
    ``follow_up_of`` names the done ticket of the same tenant this one continues;
    ``device_ids`` the tenant's devices it is about, each one the actor sees.
    """
    authorize(actor, "servicedesk.add_ticket", tenant)
    devices = device_services.devices_to_link(actor, tenant.pk, device_ids)
    require(source in TicketSource.values, "source", "Use phone, walk-in, chat, email or portal.")
    now = now or timezone.now()
    subject = clean_name(subject, field="subject", max_length=200)
    description = clean_text(description, field="description", max_length=MAX_DESCRIPTION)
    tag_list = sorted({clean_name(t, field="tags", max_length=40).lower() for t in tags})
    require(len(tag_list) <= MAX_TAGS, "tags", f"At most {MAX_TAGS} tags.")
    require(via in Via.values, "via", "Unknown channel.")
    require(
        follow_up_of is None or follow_up_of.tenant_id == tenant.pk,
        "follow_up_of",
        "Not a ticket of this tenant.",
    )
    with transaction.atomic(), within_tenant(tenant.pk):
        # Numbers are per tenant and never reused: the row stays locked until commit.
        number, token = _take_number(tenant.pk)
        config = desk_config.load(tenant.pk, token)
        if category_id is not None:
            found = config.categories.get(category_id)
            require(found is not None, "category_id", "Not found in this tenant.")
            require(found is not None and found[1], "category_id", "This category is retired.")
            service_area_id = found[0] if found else None
        for field, pk, known in (
            ("service_area_id", service_area_id, config.area_names),
            ("site_id", site_id, config.site_ids),
            ("asset_group_id", asset_group_id, config.asset_group_ids),
        ):
            require(pk is None or pk in known, field, "Not found in this tenant.")
        priority = priority_in(config.priority_matrix, impact, urgency)
        ticket = Ticket(
            tenant=tenant,
            created_at=now,
            number=number,
            requester=requester,
            subject=subject,
            description=description,
            category_id=category_id,
            service_area_id=service_area_id,
            impact=impact,
            urgency=urgency,
            priority=priority,
            status=config.statuses[0][0],
            site_id=site_id,
            asset_group_id=asset_group_id,
            tags=tag_list,
            via=via,
            source=source,
            follow_up_of=follow_up_of,
        )
        decision = _route(ticket, now, config)
        ticket.party_id, reason = decision.party_id, decision.reason
        if holder_id is not None or assignee is not None:
            ticket.party_id, reason = _chosen_holder(
                actor, ticket, config, decision, holder_id=holder_id, assignee=assignee
            )
            ticket.assignee = assignee
        ticket.routing_reason = reason[:500]
        # The matrix row stays the one the matrix chose: its Accountable party is told of
        # breaches whoever holds the ticket.
        ticket.routing_row_id = decision.row_id
        created = _event_row(ticket, EventKind.CREATED, actor, now, routing=reason)
        # The clocks start from the creation event alone: computed before the INSERT, so the
        # ticket is written once.
        recompute_sla(ticket, now=now, config=config, events=[created], save=False)
        ticket.save()
        # A new ticket has no watchers yet: one INSERT, without the SELECT that add() makes
        # to skip existing ones.
        Ticket.watchers.through.objects.create(ticket=ticket, user=requester)
        device_services.link_new_ticket(ticket, devices)
        created.ticket = ticket
        created.save()
        desk_events.ticket_opened(ticket)
        record_audit(
            actor=actor,
            action="servicedesk.create_ticket",
            target=ticket,
            tenant_id=tenant.pk,
            changes=diff(
                {},
                {
                    "number": number,
                    "subject": subject,
                    "priority": priority,
                    "party_id": ticket.party_id,
                    "routing": ticket.routing_reason,
                    "source": source,
                    "assignee_id": ticket.assignee_id,
                    "device_ids": devices or None,
                },
            ),
        )
        if ticket.assignee_id is not None:
            desk_events.emit_assigned(actor=actor, ticket=ticket)
    return ticket


def may_take(user: User, tenant_id: int, party_id: int) -> bool:
    """Whether ``user`` may be given a ticket that ``party_id`` holds: they work for that
    party in the tenant (for a provider, through a live engagement) with a role that may
    change tickets. The one rule of assignment, at creation and afterwards."""
    holder = resolve_principal(user)
    return any(
        a.party_id == party_id for a in holder.accesses_with("servicedesk.change_ticket", tenant_id)
    )


def _person(user: User) -> str:
    return user.full_name or user.email


def _chosen_holder(
    actor: Principal,
    ticket: Ticket,
    config: desk_config.DeskConfig,
    decision: routing.Decision,
    *,
    holder_id: int | None,
    assignee: User | None,
) -> tuple[int, str]:
    """The party a technician's choice gives a new ticket to, and the routing reason that
    says so. The party must take tickets of this area and site (as for a handoff) and be
    one the actor works tickets for: the tenant's IT gives tickets to any such party, a
    provider only to its own. An assignee must be someone who may take the ticket
    (:func:`may_take`); without a chosen party the ticket goes to the assignee's party,
    preferring the matrix's choice when the assignee works for it."""
    eligible = config.eligible([ticket.service_area_id], [ticket.site_id])[
        (ticket.service_area_id, ticket.site_id)
    ]
    accesses = may_log_for_callers(actor, ticket.tenant_id)
    if any(a.provider_id is None for a in accesses) or actor.is_system:
        allowed = set(eligible)
    else:
        allowed = {a.party_id for a in accesses if a.party_id in eligible}
    names = config.party_names
    if holder_id is not None:
        require(holder_id in names, "party_id", "Not a party of this tenant.")
        require(
            holder_id in eligible,
            "party_id",
            f"{names[holder_id]} does not take tickets of this service area or site.",
        )
        require(holder_id in allowed, "party_id", f"You cannot give tickets to {names[holder_id]}.")
        candidates = {holder_id}
    else:
        candidates = allowed
    if assignee is not None:
        takes = {p for p in candidates if may_take(assignee, ticket.tenant_id, p)}
        require(
            bool(takes),
            "assignee_id",
            f"{_person(assignee)} cannot take this ticket: they do not work for "
            + (names[holder_id] if holder_id is not None else "a party that takes it")
            + ".",
        )
        candidates = takes
    party_id = decision.party_id if decision.party_id in candidates else min(candidates)
    chosen = names[party_id] + (f", assigned to {_person(assignee)}" if assignee else "")
    if party_id == decision.party_id:
        return party_id, f"{decision.reason}; {chosen} (chosen by {actor.label})"
    return party_id, f"{chosen}: chosen by {actor.label} (the matrix said: {decision.reason})"


def log_ticket_for_caller(
    *,
    actor: Principal,
    tenant: Tenant,
    subject: str,
    source: str,
    requester_id: int | None = None,
    new_requester_name: str = "",
    new_requester_email: str = "",
    description: str = "",
    category_id: int | None = None,
    service_area_id: int | None = None,
    impact: int = 3,
    urgency: int = 3,
    site_id: int | None = None,
    asset_group_id: int | None = None,
    holder_id: int | None = None,
    assignee_id: int | None = None,
    tags: Iterable[str] = (),
    via: str = Via.WEB,
    device_ids: Iterable[int] = (),
    now: dt.datetime | None = None,
) -> Ticket:
    """A technician logs a ticket for someone who phoned, walked in, chatted or wrote.

    The requester is one of the tenant's people (``requester_id``) or someone new, added on
    the spot as a Requester of the tenant (``new_requester_name``/``_email``, through
    ``accounts.invite_member``; an address that already has an account keeps its person).
    The tenant's IT logs for the whole tenant; a provider's technician only while its
    engagement lets it work tickets, and only inside the engagement's service areas (and
    sites, when it names sites). The source, holder and assignee are recorded with the
    ticket; all of it in one transaction, audited.
    """
    authorize(actor, "servicedesk.log_ticket", tenant)
    accesses = may_log_for_callers(actor, tenant.pk)
    if not accesses and not actor.is_system:
        raise PermissionDenied("Only IT people log tickets for callers.")
    require(bool(source), "source", "Say how the caller reached you.")
    require(source in TicketSource.values, "source", "Use phone, walk-in, chat, email or portal.")
    new_requester_name = (new_requester_name or "").strip()
    new_requester_email = (new_requester_email or "").strip()
    if requester_id is None and not new_requester_email:
        raise InvalidInput({"requester_id": ["Pick the caller, or enter their name and e-mail."]})
    require(
        requester_id is None or not new_requester_email,
        "requester_id",
        "Pick the caller or enter a new one, not both.",
    )
    assignee = None
    if assignee_id is not None:
        assignee = User.objects.filter(pk=assignee_id, is_active=True).first()
        require(assignee is not None, "assignee_id", "No such person.")
    with transaction.atomic(), within_tenant(tenant.pk):
        if requester_id is not None:
            with system_context("is the caller one of the tenant's people"):
                member = Membership.objects.filter(
                    tenant_id=tenant.pk, user_id=requester_id, is_active=True
                ).exists()
            require(member, "requester_id", "Not one of this tenant's people.")
            requester = User.objects.get(pk=requester_id)
        else:
            requester = _add_caller(actor, tenant, new_requester_name, new_requester_email)
        if not any(a.provider_id is None for a in accesses) and not actor.is_system:
            _require_in_engagement(accesses, tenant.pk, category_id, service_area_id, site_id)
        ticket = create_ticket(
            actor=actor,
            tenant=tenant,
            requester=requester,
            subject=subject,
            description=description,
            category_id=category_id,
            service_area_id=service_area_id,
            impact=impact,
            urgency=urgency,
            site_id=site_id,
            asset_group_id=asset_group_id,
            tags=tags,
            via=via,
            source=source,
            holder_id=holder_id,
            assignee=assignee,
            device_ids=device_ids,
            now=now,
        )
    return ticket


def _add_caller(actor: Principal, tenant: Tenant, name: str, email: str) -> User:
    """The caller as one of the tenant's people: the person with that address if they are
    one already, else a new Requester membership (and a new person if the address is new).

    Technicians may not add people to a tenant otherwise; this adds a Requester and
    nothing more, on the technician's behalf, with the technician named in the audit."""
    email = accounts.clean_email(email)
    require(bool(name), "new_requester_name", "Enter the caller's name.")
    existing = User.objects.filter(email__iexact=email).first()
    if existing is not None:
        with system_context("is the caller one of the tenant's people"):
            member = Membership.objects.filter(
                tenant_id=tenant.pk, user=existing, is_active=True
            ).exists()
        if member:
            return existing
    on_behalf = Principal(
        user_id=actor.user_id,
        label=f"{actor.label} (logging a call)",
        system_reason="add a caller as a requester of the tenant",
    )
    with system_context("the requester role"):
        role = Role.objects.get(key="requester")
    membership = accounts.invite_member(
        actor=on_behalf, email=email, full_name=name, role=role, tenant=tenant
    )
    return membership.user


def _require_in_engagement(
    accesses: list[Any],
    tenant_id: int,
    category_id: int | None,
    service_area_id: int | None,
    site_id: int | None,
) -> None:
    """A provider logs tickets inside its engagement's scope only: a service area it
    covers (from the category, if one is given) and, when the engagement names sites, one
    of those sites."""
    if category_id is not None:
        found = desk_config.current(tenant_id).categories.get(category_id)
        service_area_id = found[0] if found else service_area_id
    require(
        service_area_id is not None,
        "category_id",
        "Choose a category or service area your engagement covers.",
    )
    fits = [
        a
        for a in accesses
        if service_area_id in (a.service_area_ids or ())
        and (a.site_ids is None or site_id in a.site_ids)
    ]
    require(
        bool(fits),
        "site_id"
        if any(service_area_id in (a.service_area_ids or ()) for a in accesses)
        else "category_id",
        "Outside your engagement: choose a service area (and site) it covers.",
    )


def change_status(
    *, actor: Principal, ticket: Ticket, status: str, now: dt.datetime | None = None
) -> Ticket:
    """Move a ticket through the tenant's workflow; resolving and reopening drive the clocks."""
    authorize(actor, "servicedesk.change_ticket", ticket)
    now = now or timezone.now()
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        _hold_workflow(ticket.tenant_id)
        config = desk_config.current(ticket.tenant_id)
        kinds = config.status_kinds
        require(status in kinds, "status", f"Use one of: {', '.join(kinds)}.")
        if status == ticket.status:
            raise Conflict(f"The ticket is already {status}.")
        _apply_status(ticket, status, actor=actor, now=now, config=config)
    return ticket


def _apply_status(
    ticket: Ticket,
    status: str,
    *,
    actor: Principal,
    now: dt.datetime,
    config: desk_config.DeskConfig,
) -> None:
    """Write a status change the caller has authorized, inside its transaction, holding the
    workflow: the resolution and closing times, the event, the clocks, the audit entry."""
    kinds = config.status_kinds
    before_kind, after_kind = kinds.get(ticket.status), kinds[status]
    before = ticket.status
    ticket.status = status
    kind: str = EventKind.STATUS
    if after_kind in DONE_KINDS and before_kind not in DONE_KINDS:
        kind = EventKind.RESOLVED
        ticket.resolved_at = now
    elif before_kind in DONE_KINDS and after_kind not in DONE_KINDS:
        kind = EventKind.REOPENED
        ticket.resolved_at = None
    if after_kind == StatusKind.CLOSED:
        if before_kind != StatusKind.CLOSED:
            ticket.closed_at = now
    else:
        # Reopened (or only resolved again): no longer closed, so the clock jobs that
        # skip closed tickets see it again.
        ticket.closed_at = None
    ticket.save()
    _event(ticket, kind, actor, now)
    recompute_sla(ticket, now=now, config=config)
    record_audit(
        actor=actor,
        action="servicedesk.change_status",
        target=ticket,
        tenant_id=ticket.tenant_id,
        changes={"status": [before, status]},
    )
    if kind == EventKind.RESOLVED:
        desk_events.ticket_resolved(ticket)


def _reopened_status(config: desk_config.DeskConfig) -> str:
    """Where a requester's reply puts a done ticket: the workflow's "reopened" status if it
    has one, else its first open status, else its first (new) status."""
    keys = [key for key, _name, kind in config.statuses if kind == StatusKind.OPEN]
    if "reopened" in keys:
        return "reopened"
    return keys[0] if keys else config.statuses[0][0]


def reply_reopens(ticket: Ticket, *, reopen_days: int, now: dt.datetime) -> bool:
    """Whether a requester's answer to the done ``ticket`` reopens it: within
    ``reopen_days`` of its resolution, and not merged away. Otherwise a follow-up opens."""
    return (
        ticket.merged_into_id is None
        and ticket.resolved_at is not None
        and now - ticket.resolved_at <= dt.timedelta(days=reopen_days)
    )


def _answer_done_ticket(
    actor: Principal, ticket: Ticket, now: dt.datetime
) -> tuple[Ticket, Ticket | None]:
    """A requester answered a resolved or closed ticket: within the desk's reopen window the
    ticket is reopened, later a follow-up ticket linked to it is opened. Returns the ticket
    the answer belongs on and, when one was opened, the follow-up (else ``None``).

    Called inside the caller's transaction and tenant scope; the requester may not change a
    status, so this is the one path by which their reply reopens a ticket.
    """
    _hold_workflow(ticket.tenant_id)
    config = desk_config.current(ticket.tenant_id)
    if reply_reopens(ticket, reopen_days=config.reopen_days, now=now):
        _apply_status(ticket, _reopened_status(config), actor=actor, now=now, config=config)
        desk_events.emit_reopened(actor=actor, ticket=ticket, follow_up=None)
        return ticket, None
    follow_up = create_ticket(
        actor=actor,
        tenant=ticket.tenant,
        requester=ticket.requester,
        subject=f"Follow-up to #{ticket.number}: {ticket.subject}"[:200],
        category_id=ticket.category_id
        if ticket.category_id in config.categories and config.categories[ticket.category_id][1]
        else None,
        service_area_id=None if ticket.category_id else ticket.service_area_id,
        impact=ticket.impact,
        urgency=ticket.urgency,
        site_id=ticket.site_id,
        asset_group_id=ticket.asset_group_id,
        follow_up_of=ticket,
        now=now,
    )
    desk_events.emit_reopened(actor=actor, ticket=ticket, follow_up=follow_up)
    return follow_up, follow_up


def reprioritise_ticket(
    *,
    actor: Principal,
    ticket: Ticket,
    impact: int | None = None,
    urgency: int | None = None,
    category_id: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Change impact, urgency or category; the priority follows the matrix and the ticket is
    routed again. The SLA is recomputed from the start with the new target."""
    authorize(actor, "servicedesk.change_ticket", ticket)
    now = now or timezone.now()
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        config = desk_config.current(ticket.tenant_id)
        before = {
            "impact": ticket.impact,
            "urgency": ticket.urgency,
            "priority": ticket.priority,
            "category_id": ticket.category_id,
            "party_id": ticket.party_id,
        }
        if category_id is not None:
            category = _in_tenant(Category, ticket.tenant_id, category_id, "category_id")
            ticket.category = category
            ticket.service_area_id = category.service_area_id
        ticket.impact = impact if impact is not None else ticket.impact
        ticket.urgency = urgency if urgency is not None else ticket.urgency
        ticket.priority = priority_in(config.priority_matrix, ticket.impact, ticket.urgency)
        decision = _route(ticket, now, config)
        moved = decision.party_id != ticket.party_id
        if moved:
            ticket.party_id = decision.party_id
            ticket.assignee = None
        ticket.routing_reason = decision.reason[:500]
        ticket.routing_row_id = decision.row_id
        ticket.save()
        if before["priority"] != ticket.priority:
            _event(ticket, EventKind.PRIORITY, actor, now)
        if moved:
            _event(ticket, EventKind.ASSIGNED, actor, now, routing=decision.reason)
        recompute_sla(ticket, now=now, config=config)
        after = {
            "impact": ticket.impact,
            "urgency": ticket.urgency,
            "priority": ticket.priority,
            "category_id": ticket.category_id,
            "party_id": ticket.party_id,
        }
        record_audit(
            actor=actor,
            action="servicedesk.reprioritise_ticket",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes=diff(before, after),
        )
    return ticket


def handoff_ticket(
    *,
    actor: Principal,
    ticket: Ticket,
    to_party: Party,
    reason: str,
    now: dt.datetime | None = None,
) -> Handoff:
    """Escalate or transfer a ticket to another party, with a reason. SLA time is charged to
    whoever holds it; a return to the previous holder within the tenant's ping-pong window is
    recorded as ping-pong."""
    authorize(actor, "servicedesk.handoff_ticket", ticket)
    now = now or timezone.now()
    reason = clean_name(reason, field="reason", max_length=500)
    require(to_party.tenant_id == ticket.tenant_id, "to_party_id", "Not a party of this tenant.")
    if to_party.pk == ticket.party_id:
        raise Conflict(f"{to_party.name} already holds this ticket.")
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        config = desk_config.current(ticket.tenant_id)
        allowed = config.eligible([ticket.service_area_id], [ticket.site_id])
        require(
            to_party.pk in allowed[(ticket.service_area_id, ticket.site_id)],
            "to_party_id",
            f"{to_party.name} is not engaged for this service area or site.",
        )
        window = now - dt.timedelta(minutes=config.ping_pong_minutes)
        ping_pong = Handoff.objects.filter(
            ticket=ticket, to_party_id=ticket.party_id, from_party=to_party, at__gte=window
        ).exists()
        handoff = Handoff.objects.create(
            tenant_id=ticket.tenant_id,
            ticket=ticket,
            from_party_id=ticket.party_id,
            to_party=to_party,
            reason=reason,
            at=now,
            actor_id=actor.user_id,
            is_ping_pong=ping_pong,
        )
        before = ticket.party_id
        ticket.party = to_party
        ticket.assignee = None
        ticket.routing_reason = f"Handed off by {actor.label}: {reason}"[:500]
        ticket.save()
        _event(ticket, EventKind.HANDOFF, actor, now, reason=reason, ping_pong=ping_pong)
        recompute_sla(ticket, now=now, config=config)
        record_audit(
            actor=actor,
            action="servicedesk.handoff_ticket",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes={"party_id": [before, to_party.pk], "reason": [None, reason]},
        )
        desk_events.emit_handoff(actor=actor, handoff=handoff)
    return handoff


#: The one answer for an assignee who may not take the ticket, whether the person exists
#: elsewhere or not at all (a different message told real people's ids from unknown ones).
NOT_ASSIGNABLE = "The assignee must work for the party that holds the ticket."


def assign_ticket(*, actor: Principal, ticket: Ticket, assignee: User | None) -> Ticket:
    """Give the ticket to one person of the party that holds it (or to nobody)."""
    authorize(actor, "servicedesk.change_ticket", ticket)
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        if assignee is not None:
            require(
                may_take(assignee, ticket.tenant_id, ticket.party_id),
                "assignee_id",
                NOT_ASSIGNABLE,
            )
        before = ticket.assignee_id
        ticket.assignee = assignee
        ticket.save(update_fields=["assignee", "updated_at"])
        record_audit(
            actor=actor,
            action="servicedesk.assign_ticket",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes={"assignee_id": [before, assignee.pk if assignee else None]},
        )
        desk_events.emit_assigned(actor=actor, ticket=ticket)
    return ticket


def writing_party(actor: Principal, ticket: Ticket) -> int | None:
    """The party an IT author writes or works for on ``ticket``: the holder when the author
    belongs to it, else the author's own party in the tenant; None for a requester."""
    parties = {a.party_id for a in actor.accesses_in(ticket.tenant_id) if a.party_id}
    if not parties:
        return None
    return ticket.party_id if ticket.party_id in parties else min(parties)
