"""Every write of the service desk. Keyword-only, actor first, one transaction, audited.

Each change of a ticket's holder, status or priority appends a :class:`TicketEvent` and
recomputes its SLA clocks from the whole history (``sla_bridge.recompute_sla``).
"""

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
from tandem.servicedesk import desk_config, notifications, routing
from tandem.servicedesk import notifications as notify
from tandem.servicedesk.choices import (
    DONE_KINDS,
    EventKind,
    MailKind,
    StatusKind,
    TicketSource,
    Via,
    Visibility,
)
from tandem.servicedesk.models import (
    Attachment,
    Category,
    Comment,
    Coverage,
    DeskSettings,
    Handoff,
    MailTemplate,
    ResponsibilityRow,
    Ticket,
    TicketEvent,
    TimeEntry,
)
from tandem.servicedesk.policies import may_log_for_callers, may_write_internal_notes
from tandem.servicedesk.sla_bridge import desk_settings, recompute_sla, to_business_calendar
from tandem.sla.priority import PriorityMatrix
from tandem.tenancy.choices import EngagementStatus
from tandem.tenancy.models import AssetGroup, Party, ServiceArea, Site, Tenant

MAX_DESCRIPTION = 50_000
MAX_COMMENT = 50_000
MAX_TAGS = 20


# --- Settings and reference data --------------------------------------------------------------


def priority_matrix(settings: DeskSettings) -> PriorityMatrix:
    data = settings.priority_matrix
    return PriorityMatrix(
        impacts=tuple(data["impacts"]),
        urgencies=tuple(data["urgencies"]),
        priorities=tuple(data["priorities"]),
        grid=tuple(tuple(row) for row in data["grid"]),
    )


def priority_of(settings: DeskSettings, impact: int, urgency: int) -> int:
    """Priority number (1 = P1) for 1-based impact and urgency levels, through the matrix."""
    return priority_in(priority_matrix(settings), impact, urgency)


def priority_in(matrix: PriorityMatrix, impact: int, urgency: int) -> int:
    """Priority number (1 = P1) for 1-based impact and urgency levels in ``matrix``."""
    require(1 <= impact <= len(matrix.impacts), "impact", f"Use 1 to {len(matrix.impacts)}.")
    require(1 <= urgency <= len(matrix.urgencies), "urgency", f"Use 1 to {len(matrix.urgencies)}.")
    label = matrix.priority_for(matrix.impacts[impact - 1], matrix.urgencies[urgency - 1])
    return matrix.priorities.index(label) + 1


def status_kinds(settings: DeskSettings) -> dict[str, str]:
    return {key: kind for key, _name, kind in settings.statuses}


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
    context = config.routing_context(area_ids=[ticket.service_area_id], site_ids=[ticket.site_id])
    facts = routing.TicketFacts(
        service_area_id=ticket.service_area_id,
        priority=ticket.priority,
        at=at,
        site_id=ticket.site_id,
        asset_group_id=ticket.asset_group_id,
    )
    return routing.route(facts, context)


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
    if row is None:  # the tenant's first ticket: create its settings with the defaults
        desk_settings(tenant_id)
        return _take_number(tenant_id)
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
    now: dt.datetime | None = None,
) -> Ticket:
    """Open a ticket, route it through the matrix, start its SLA clocks, audit it.

    ``holder_id`` and ``assignee`` are the choices of a technician logging a call
    (:func:`log_ticket_for_caller`, which checks that the actor may make them): the ticket
    goes to that party, or to a party the assignee works for, instead of the matrix's
    choice, and the routing reason says who chose and what the matrix would have done.
    ``follow_up_of`` names the done ticket of the same tenant this one continues.
    """
    authorize(actor, "servicedesk.add_ticket", tenant)
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
        created.ticket = ticket
        created.save()
        notifications.ticket_opened(ticket)
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
                },
            ),
        )
        if ticket.assignee_id is not None:
            notify.emit_assigned(actor=actor, ticket=ticket)
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
        notifications.ticket_resolved(ticket)


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
        notify.emit_reopened(actor=actor, ticket=ticket, follow_up=None)
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
    notify.emit_reopened(actor=actor, ticket=ticket, follow_up=follow_up)
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
        notify.emit_handoff(actor=actor, handoff=handoff)
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
        notify.emit_assigned(actor=actor, ticket=ticket)
    return ticket


def writing_party(actor: Principal, ticket: Ticket) -> int | None:
    """The party an IT author writes or works for on ``ticket``: the holder when the author
    belongs to it, else the author's own party in the tenant; None for a requester."""
    parties = {a.party_id for a in actor.accesses_in(ticket.tenant_id) if a.party_id}
    if not parties:
        return None
    return ticket.party_id if ticket.party_id in parties else min(parties)


def add_comment(
    *,
    actor: Principal,
    ticket: Ticket,
    body: str,
    visibility: str = Visibility.SHARED,
    via: str = Via.WEB,
    message_id: str = "",
    now: dt.datetime | None = None,
) -> Comment:
    """Add a note in one of the three tiers. A public note from IT is a response to the
    requester (it stops the first-response clock); requesters write public notes only."""
    authorize(actor, "servicedesk.comment_ticket", ticket)
    now = now or timezone.now()
    body = clean_text(body, field="body", max_length=MAX_COMMENT)
    require(bool(body), "body", "Write something.")
    require(visibility in Visibility.values, "visibility", "Use private, shared or public.")
    it_author = may_write_internal_notes(actor, ticket.tenant_id)
    if not it_author:
        require(visibility == Visibility.PUBLIC, "visibility", "Requesters write public replies.")
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        if not it_author and ticket.resolved_at is not None:
            # An answer to a done ticket is not lost in a closed thread: the ticket opens
            # again, or a follow-up does, and the comment lands there.
            ticket, _follow_up = _answer_done_ticket(actor, ticket, now)
        party_id = writing_party(actor, ticket)
        comment = Comment.objects.create(
            tenant_id=ticket.tenant_id,
            created_at=now,
            ticket=ticket,
            author_id=actor.user_id,
            author_label=actor.label[:200],
            party_id=party_id,
            visibility=visibility,
            body=body,
            via=via,
            message_id=message_id[:250],
        )
        if visibility == Visibility.PUBLIC and it_author:
            if ticket.first_responded_at is None:
                ticket.first_responded_at = now
                ticket.save(update_fields=["first_responded_at", "updated_at"])
            # A response counts on the clocks of the party that holds the ticket, and only
            # when that party answers: another party's reply does not meet its targets.
            if party_id == ticket.party_id:
                _event(ticket, EventKind.RESPONDED, actor, now)
                recompute_sla(ticket, now=now)
        notifications.note_added(
            comment, public_reply=visibility == Visibility.PUBLIC and it_author
        )
        record_audit(
            actor=actor,
            action="servicedesk.add_comment",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes={"comment_id": [None, comment.pk], "visibility": [None, visibility]},
        )
    return comment


def log_time(
    *,
    actor: Principal,
    ticket: Ticket,
    minutes: int,
    work_date: dt.date | None = None,
    service_area_id: int | None = None,
    billable: bool = True,
    note: str = "",
) -> TimeEntry:
    """Record time spent on a ticket, for the author's party in this tenant."""
    authorize(actor, "servicedesk.log_time_on_ticket", ticket)
    require(0 < minutes <= 24 * 60, "minutes", "Between 1 and 1440 minutes.")
    work_date = work_date or timezone.localdate()
    require(work_date <= timezone.localdate(), "work_date", "Time cannot be logged in the future.")
    party_id = writing_party(actor, ticket)
    if party_id is None:
        raise InvalidInput({"ticket": ["Only IT people log time."]})
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        area_id = service_area_id or ticket.service_area_id
        require(area_id is not None, "service_area_id", "Name the service area.")
        area = _in_tenant(ServiceArea, ticket.tenant_id, area_id, "service_area_id")
        entry = TimeEntry.objects.create(
            tenant_id=ticket.tenant_id,
            ticket=ticket,
            user_id=actor.user_id or 0,
            party_id=party_id,
            service_area=area,
            work_date=work_date,
            minutes=minutes,
            billable=billable,
            note=clean_text(note, field="note", max_length=500),
        )
        record_audit(
            actor=actor,
            action="servicedesk.log_time",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes=diff({}, {"minutes": minutes, "billable": billable, "work_date": work_date}),
        )
    return entry


# --- Categories, calendars, SLA policies, coverage ------------------------------------------


def create_category(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    service_area_id: int,
    description: str = "",
    form_fields: list[dict[str, Any]] | None = None,
) -> Category:
    """A category requesters pick in the portal, mapped to a service area."""
    authorize(actor, "servicedesk.change_matrix", tenant)
    name = clean_name(name)
    with transaction.atomic(), within_tenant(tenant.pk):
        area = _in_tenant(ServiceArea, tenant.pk, service_area_id, "service_area_id")
        if Category.objects.filter(tenant=tenant, name__iexact=name).exists():
            raise Conflict(f"A category named {name!r} already exists.")
        category = Category.objects.create(
            tenant=tenant,
            name=name,
            service_area=area,
            description=clean_text(description, field="description", max_length=2000),
            form_fields=_clean_form_fields(form_fields or []),
        )
        record_audit(
            actor=actor,
            action="servicedesk.create_category",
            target=category,
            tenant_id=tenant.pk,
            changes=diff({}, {"name": name, "service_area_id": area.pk}),
        )
    return category


def _clean_form_fields(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    require(len(fields) <= 20, "form_fields", "At most 20 extra questions.")
    cleaned = []
    for index, field_spec in enumerate(fields):
        where = f"form_fields[{index}]"
        require(isinstance(field_spec, dict), where, "Each question is an object.")
        kind = field_spec.get("type", "text")
        require(kind in ("text", "textarea", "choice"), where, "type is text, textarea or choice.")
        choices = [
            clean_name(str(c), field=where, max_length=100) for c in field_spec.get("choices", [])
        ]
        require(kind != "choice" or bool(choices), where, "A choice question needs choices.")
        cleaned.append(
            {
                "name": clean_name(str(field_spec.get("name", "")), field=where, max_length=40),
                "label": clean_name(str(field_spec.get("label", "")), field=where, max_length=120),
                "type": kind,
                "choices": choices,
            }
        )
    return cleaned


def create_calendar(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    time_zone: str,
    weekly: dict[str, list[list[str]]],
    holiday_country: str = "",
    holiday_subdivision: str = "",
    custom_holidays: list[str] | None = None,
    special_days: dict[str, list[list[str]]] | None = None,
) -> Any:
    """Service hours for SLAs and coverage. Validated by building the pure calendar."""
    from tandem.sla.models import Calendar

    authorize(actor, "servicedesk.change_matrix", tenant)
    row = Calendar(
        tenant=tenant,
        name=clean_name(name),
        time_zone=time_zone,
        weekly=weekly,
        holiday_country=(holiday_country or "").upper(),
        holiday_subdivision=holiday_subdivision or "",
        custom_holidays=list(custom_holidays or []),
        special_days=dict(special_days or {}),
    )
    try:
        to_business_calendar(row)
    except (ValueError, TypeError, KeyError, NotImplementedError, AttributeError) as exc:
        raise InvalidInput({"weekly": [str(exc)]}) from exc
    with transaction.atomic(), within_tenant(tenant.pk):
        if Calendar.objects.filter(tenant=tenant, name__iexact=row.name).exists():
            raise Conflict(f"A calendar named {row.name!r} already exists.")
        row.save()
        record_audit(
            actor=actor,
            action="sla.create_calendar",
            target=row,
            tenant_id=tenant.pk,
            changes=diff({}, {"name": row.name, "time_zone": time_zone, "weekly": weekly}),
        )
    return row


METRICS = ("first_response", "next_update", "resolution")


def create_sla_policy(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    party: Party,
    calendar_id: int,
    targets: dict[str, dict[str, int]],
    pause_statuses: dict[str, list[str]] | None = None,
    warn_at_percent: int = 80,
) -> Any:
    """An SLA for a provider party (its engagement's terms) or an OLA for internal IT:
    minutes of business time per priority and metric, and the statuses that pause each."""
    from tandem.sla.models import Calendar, SlaPolicy

    authorize(actor, "servicedesk.change_matrix", tenant)
    require(party.tenant_id == tenant.pk, "party_id", "Not a party of this tenant.")
    require(0 < warn_at_percent < 100, "warn_at_percent", "Between 1 and 99.")
    with transaction.atomic(), within_tenant(tenant.pk):
        calendar = _in_tenant(Calendar, tenant.pk, calendar_id, "calendar_id")
        kinds = status_kinds(desk_settings(tenant.pk))
        for priority, metrics in targets.items():
            require(priority.isdigit() and 1 <= int(priority) <= 9, "targets", "Keys are 1..9.")
            for metric, minutes in metrics.items():
                require(metric in METRICS, "targets", f"Metrics are {', '.join(METRICS)}.")
                require(
                    isinstance(minutes, int) and 0 < minutes <= 366 * 24 * 60,
                    "targets",
                    "Targets are whole minutes, at most a year.",
                )
        for metric, statuses in (pause_statuses or {}).items():
            require(metric in METRICS, "pause_statuses", f"Metrics are {', '.join(METRICS)}.")
            unknown = sorted(set(statuses) - set(kinds))
            require(not unknown, "pause_statuses", f"Unknown statuses: {unknown}.")
        if SlaPolicy.objects.filter(party=party, is_active=True).exists():
            raise Conflict(f"{party.name} already has an active SLA policy.")
        policy = SlaPolicy.objects.create(
            tenant=tenant,
            name=clean_name(name),
            party=party,
            calendar=calendar,
            targets=targets,
            pause_statuses=pause_statuses or {},
            warn_at_percent=warn_at_percent,
        )
        record_audit(
            actor=actor,
            action="sla.create_policy",
            target=policy,
            tenant_id=tenant.pk,
            changes=diff({}, {"party_id": party.pk, "targets": targets}),
        )
        _recompute_open_tickets_after_commit(tenant.pk)
    return policy


def add_coverage(
    *,
    actor: Principal,
    tenant: Tenant,
    party: Party,
    calendar_id: int,
    service_area_id: int | None = None,
    max_priority: int = 5,
) -> Coverage:
    """Say when a party is on duty: a calendar, for an area or all, up to a priority."""
    from tandem.sla.models import Calendar

    authorize(actor, "servicedesk.change_matrix", tenant)
    require(party.tenant_id == tenant.pk, "party_id", "Not a party of this tenant.")
    require(1 <= max_priority <= 9, "max_priority", "Between 1 and 9.")
    with transaction.atomic(), within_tenant(tenant.pk):
        calendar = _in_tenant(Calendar, tenant.pk, calendar_id, "calendar_id")
        area = _in_tenant(ServiceArea, tenant.pk, service_area_id, "service_area_id")
        coverage = Coverage.objects.create(
            tenant=tenant,
            party=party,
            calendar=calendar,
            service_area=area,
            max_priority=max_priority,
        )
        _snapshot_matrix(actor, tenant, f"Coverage for {party.name} on {calendar.name}")
        record_audit(
            actor=actor,
            action="servicedesk.add_coverage",
            target=coverage,
            tenant_id=tenant.pk,
            changes=diff(
                {},
                {
                    "party_id": party.pk,
                    "calendar_id": calendar.pk,
                    "service_area_id": service_area_id,
                    "max_priority": max_priority,
                },
            ),
        )
        _recompute_open_tickets_after_commit(tenant.pk)
    return coverage


def _recompute_open_tickets_after_commit(tenant_id: int) -> None:
    """A new SLA policy or coverage changes due dates: recompute the tenant's open tickets in
    the worker once this change has committed."""
    from tandem.servicedesk.tasks import recompute_tenant_sla_task

    transaction.on_commit(lambda: recompute_tenant_sla_task.enqueue(tenant_id))


# --- The responsibility matrix ---------------------------------------------------------------


def _snapshot_matrix(actor: Principal, tenant: Tenant, summary: str) -> None:
    """Store the whole matrix (rows and coverage) as a new numbered version."""
    from tandem.servicedesk.models import MatrixVersion

    rows = [
        {
            "id": r.pk,
            "service_area_id": r.service_area_id,
            "site_id": r.site_id,
            "asset_group_id": r.asset_group_id,
            "responsible_id": r.responsible_id,
            "accountable_id": r.accountable_id,
            "consulted_ids": sorted(p.pk for p in r.consulted.all()),
            "informed_ids": sorted(p.pk for p in r.informed.all()),
        }
        for r in ResponsibilityRow.objects.filter(tenant=tenant)
        .prefetch_related("consulted", "informed")
        .order_by("pk")
    ]
    coverage = list(
        Coverage.objects.filter(tenant=tenant)
        .order_by("pk")
        .values("id", "party_id", "calendar_id", "service_area_id", "max_priority")
    )
    last = MatrixVersion.objects.filter(tenant=tenant).order_by("-number").first()
    MatrixVersion.objects.create(
        tenant=tenant,
        number=(last.number + 1) if last else 1,
        snapshot={"rows": rows, "coverage": coverage},
        changed_by=actor.label[:200],
        summary=summary[:500],
    )


def _row_parties(tenant: Tenant, ids: Iterable[int], field: str) -> list[Party]:
    """The tenant's parties named on a matrix row. A provider's party whose engagement has
    ended cannot be named: the row would route nothing to it (a pending or suspended one
    can, as the matrix is planned ahead; the gap analysis flags it while it is not live)."""
    wanted = sorted(set(ids))
    found = list(Party.objects.filter(tenant=tenant, pk__in=wanted).select_related("engagement"))
    require(len(found) == len(wanted), field, "Not all of these are parties of this tenant.")
    today = timezone.localdate()
    for party in found:
        engagement = party.engagement
        if engagement is None:
            continue
        ended = engagement.status == EngagementStatus.ENDED or (
            engagement.ends_on is not None and engagement.ends_on < today
        )
        require(
            not ended,
            field,
            f"{party.name}'s engagement has ended: name a party with a live engagement.",
        )
    return found


def add_matrix_row(
    *,
    actor: Principal,
    tenant: Tenant,
    service_area_id: int,
    responsible_id: int,
    accountable_id: int,
    site_id: int | None = None,
    asset_group_id: int | None = None,
    consulted_ids: Iterable[int] = (),
    informed_ids: Iterable[int] = (),
    note: str = "",
) -> ResponsibilityRow:
    """Add a RACI row. A provider can be Responsible only for what its engagement covers."""
    authorize(actor, "servicedesk.change_matrix", tenant)
    require(
        site_id is None or asset_group_id is None,
        "asset_group_id",
        "Narrow a row to a site or to an asset group, not both.",
    )
    with transaction.atomic(), within_tenant(tenant.pk):
        area = _in_tenant(ServiceArea, tenant.pk, service_area_id, "service_area_id")
        site = _in_tenant(Site, tenant.pk, site_id, "site_id")
        group = _in_tenant(AssetGroup, tenant.pk, asset_group_id, "asset_group_id")
        responsible = _row_parties(tenant, [responsible_id], "responsible_id")[0]
        accountable = _row_parties(tenant, [accountable_id], "accountable_id")[0]
        consulted = _row_parties(tenant, consulted_ids, "consulted_ids")
        informed = _row_parties(tenant, informed_ids, "informed_ids")
        if responsible.engagement_id is not None:
            engagement = responsible.engagement
            assert engagement is not None
            require(
                engagement.service_areas.filter(pk=area.pk).exists(),
                "responsible_id",
                f"{responsible.name}'s engagement does not cover {area.name}.",
            )
        row = ResponsibilityRow.objects.create(
            tenant=tenant,
            service_area=area,
            site=site,
            asset_group=group,
            responsible=responsible,
            accountable=accountable,
            note=clean_text(note, field="note", max_length=500),
        )
        row.consulted.set(consulted)
        row.informed.set(informed)
        _snapshot_matrix(actor, tenant, f"{area.name}: {responsible.name} responsible")
        record_audit(
            actor=actor,
            action="servicedesk.add_matrix_row",
            target=row,
            tenant_id=tenant.pk,
            changes=diff(
                {},
                {
                    "service_area_id": area.pk,
                    "site_id": site_id,
                    "asset_group_id": asset_group_id,
                    "responsible_id": responsible.pk,
                    "accountable_id": accountable.pk,
                    "consulted_ids": [p.pk for p in consulted],
                    "informed_ids": [p.pk for p in informed],
                },
            ),
        )
    return row


def remove_matrix_row(*, actor: Principal, row: ResponsibilityRow) -> None:
    """Delete a RACI row; the matrix version history keeps what it was."""
    tenant = row.tenant
    authorize(actor, "servicedesk.change_matrix", tenant)
    with transaction.atomic(), within_tenant(tenant.pk):
        before = {"service_area_id": row.service_area_id, "responsible_id": row.responsible_id}
        record_audit(
            actor=actor,
            action="servicedesk.remove_matrix_row",
            target=row,
            tenant_id=tenant.pk,
            changes=diff(before, {}),
        )
        row.delete()
        _snapshot_matrix(actor, tenant, "Row removed")


# --- Files and e-mail --------------------------------------------------------------------------


def attach_file(
    *,
    actor: Principal,
    ticket: Ticket,
    filename: str,
    content_type: str,
    content: bytes,
    visibility: str = Visibility.SHARED,
    comment: Comment | None = None,
) -> Attachment:
    """Keep a file on a ticket in one tier (optionally on one of its notes). Programs and
    scripts, empty files and files over the size limit are refused; requesters attach
    public files only."""
    from django.conf import settings as django_settings
    from django.core.files.base import ContentFile

    from tandem.servicedesk import mail

    authorize(actor, "servicedesk.comment_ticket", ticket)
    filename = mail.safe_filename(filename, content_type, 1)
    content_type = (content_type or "application/octet-stream").strip().lower()[:100]
    refusal = mail.attachment_refusal(
        filename, content_type, content, max_bytes=django_settings.MAIL_MAX_ATTACHMENT_BYTES
    )
    require(refusal is None, "file", f"{filename}: {refusal}.")
    require(visibility in Visibility.values, "visibility", "Use private, shared or public.")
    require(comment is None or comment.ticket_id == ticket.pk, "comment_id", "Not on this ticket.")
    it_author = may_write_internal_notes(actor, ticket.tenant_id)
    if not it_author:
        require(visibility == Visibility.PUBLIC, "visibility", "Requesters attach public files.")
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        party_id = writing_party(actor, ticket)
        attachment = Attachment(
            tenant_id=ticket.tenant_id,
            ticket=ticket,
            comment=comment,
            filename=filename,
            content_type=content_type,
            size=len(content),
            visibility=visibility,
            party_id=party_id,
            uploaded_by_id=actor.user_id,
        )
        attachment.file.save(filename, ContentFile(content), save=False)
        attachment.save()
        record_audit(
            actor=actor,
            action="servicedesk.attach_file",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes=diff(
                {},
                {
                    "attachment_id": attachment.pk,
                    "filename": filename,
                    "size": len(content),
                    "visibility": visibility,
                },
            ),
        )
    return attachment


def set_mail_template(
    *, actor: Principal, tenant: Tenant, kind: str, subject: str, body: str
) -> MailTemplate | None:
    """Set the tenant's wording for one kind of notification. An empty subject and body go
    back to the built-in wording. Templates are compiled and rendered with sample values
    before they are kept, and may use a limited set of tags."""
    from tandem.servicedesk import notifications

    authorize(actor, "servicedesk.change_matrix", tenant)
    require(kind in MailKind.values, "kind", f"Use one of: {', '.join(MailKind.values)}.")
    subject = (subject or "").strip()
    body = clean_text(body, field="body", max_length=10_000)
    reset = not subject and not body
    if not reset:
        require(bool(subject), "subject", "Write the subject.")
        require("\n" not in subject, "subject", "The subject is one line.")
        require(len(subject) <= 300, "subject", "At most 300 characters.")
        require(bool(body), "body", "Write the body.")
        notifications.validate_template(subject, field="subject")
        notifications.validate_template(body, field="body")
    with transaction.atomic(), within_tenant(tenant.pk):
        template = MailTemplate.objects.filter(tenant=tenant, kind=kind).first()
        before = {"subject": template.subject, "body": template.body} if template else {}
        if reset:
            if template is not None:
                record_audit(
                    actor=actor,
                    action="servicedesk.set_mail_template",
                    target=template,
                    tenant_id=tenant.pk,
                    changes=diff(before, {}),
                )
                template.delete()
            return None
        if template is None:
            template = MailTemplate(tenant=tenant, kind=kind)
        template.subject, template.body = subject, body
        template.save()
        record_audit(
            actor=actor,
            action="servicedesk.set_mail_template",
            target=template,
            tenant_id=tenant.pk,
            changes=diff(before, {"subject": subject, "body": body}),
        )
    return template


# --- The requester portal ---------------------------------------------------------------------

MAX_RATING_COMMENT = 2_000


def _require_requester(actor: Principal, ticket: Ticket, what: str) -> None:
    """The actor sees the ticket and is the person who opened it (else 403)."""
    from django.core.exceptions import PermissionDenied

    authorize(actor, "servicedesk.view_ticket", ticket)
    if actor.user_id is None or actor.user_id != ticket.requester_id:
        raise PermissionDenied(f"Only the person who opened the ticket can {what}.")


def close_ticket_by_requester(
    *, actor: Principal, ticket: Ticket, now: dt.datetime | None = None
) -> Ticket:
    """The requester closes their own ticket (open or resolved): it moves to the tenant's
    closed status. Requesters may not change tickets otherwise, so this is its own
    transition (not ``change_status``), with its own event and audit entry."""
    _require_requester(actor, ticket, "close it")
    now = now or timezone.now()
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        statuses = desk_settings(ticket.tenant_id).statuses
        kinds = {key: kind for key, _name, kind in statuses}
        closed = next((key for key, _name, kind in statuses if kind == StatusKind.CLOSED), None)
        if closed is None:
            raise Conflict("This desk has no closed status; ask IT to close the ticket.")
        if kinds.get(ticket.status) == StatusKind.CLOSED:
            raise Conflict("The ticket is closed already.")
        before = ticket.status
        kind: str = EventKind.STATUS
        if kinds.get(before) != StatusKind.RESOLVED:
            # Closed without a resolution by IT: the resolution clock stops here.
            kind = EventKind.RESOLVED
            ticket.resolved_at = now
        ticket.status = closed
        ticket.closed_at = now
        ticket.save(update_fields=["status", "resolved_at", "closed_at", "updated_at"])
        _event(ticket, kind, actor, now, reason="Closed by the requester")
        recompute_sla(ticket, now=now)
        record_audit(
            actor=actor,
            action="servicedesk.close_ticket_by_requester",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes={"status": [before, closed]},
        )
    return ticket


def rate_ticket(*, actor: Principal, ticket: Ticket, score: int, comment: str = "") -> Ticket:
    """The requester rates the resolution of their own ticket, 1 to 5 stars with an optional
    comment: once, and only after the ticket is resolved or closed."""
    _require_requester(actor, ticket, "rate it")
    require(isinstance(score, int) and 1 <= score <= 5, "score", "Choose 1 to 5 stars.")
    comment = clean_text(comment, field="comment", max_length=MAX_RATING_COMMENT)
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        kinds = status_kinds(desk_settings(ticket.tenant_id))
        if kinds.get(ticket.status) not in (StatusKind.RESOLVED, StatusKind.CLOSED):
            raise Conflict("You can rate the ticket once it is resolved.")
        if ticket.satisfaction is not None:
            raise Conflict("You have rated this ticket already; a rating cannot be changed.")
        ticket.satisfaction = score
        ticket.satisfaction_comment = comment
        ticket.save(update_fields=["satisfaction", "satisfaction_comment", "updated_at"])
        record_audit(
            actor=actor,
            action="servicedesk.rate_ticket",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes=diff({}, {"satisfaction": score, "satisfaction_comment": comment}),
        )
    return ticket


# --- Ticket extras: merge, parent and child, tags, watchers -----------------------------------
# (Appended as a block.) Links and tags change what the ticket is, so they are written to its
# history with the existing event kinds where one fits ("merged"), otherwise as a plain
# change event whose detail says what happened (the SLA clock reads those as no-ops).

LINKED = "linked"
TAGGED = "tagged"


def _closed_status(tenant_id: int) -> str:
    for key, _name, kind in desk_settings(tenant_id).statuses:
        if kind == StatusKind.CLOSED:
            return str(key)
    raise Conflict("The workflow has no closed status to close a merged ticket with.")


def check_merge(*, actor: Principal, ticket: Ticket, into: Ticket) -> None:
    """Refuse what :func:`merge_ticket` would refuse, writing nothing: the ticket page asks
    this before its confirmation step, so nobody confirms a merge that cannot happen."""
    authorize(actor, "servicedesk.change_ticket", ticket)
    require(into.tenant_id == ticket.tenant_id, "into_id", "Not a ticket of this tenant.")
    authorize(actor, "servicedesk.change_ticket", into)
    require(into.pk != ticket.pk, "into_id", "A ticket cannot be merged into itself.")
    if ticket.merged_into_id is not None:
        raise Conflict(f"#{ticket.number} is already merged.")
    if into.merged_into_id is not None:
        raise Conflict(f"#{into.number} is itself merged into another ticket.")


def merge_ticket(
    *, actor: Principal, ticket: Ticket, into: Ticket, now: dt.datetime | None = None
) -> Ticket:
    """Merge ``ticket`` into ``into``: it keeps its notes and files, points at ``into``, is
    closed, and both tickets' histories say so. Both must be workable by the actor and in
    the same tenant; a ticket is never merged into itself or into a merged ticket."""
    check_merge(actor=actor, ticket=ticket, into=into)
    now = now or timezone.now()
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        before = {"status": ticket.status, "merged_into_id": None}
        closed = _closed_status(ticket.tenant_id)
        ticket.merged_into = into
        ticket.status = closed
        ticket.resolved_at = ticket.resolved_at or now
        ticket.closed_at = now
        ticket.save()
        reason = f"Merged into #{into.number}."
        _event(ticket, EventKind.MERGED, actor, now, reason=reason, into_id=into.pk)
        _event(
            into,
            EventKind.MERGED,
            actor,
            now,
            reason=f"#{ticket.number} was merged into this ticket.",
            merged_id=ticket.pk,
        )
        recompute_sla(ticket, now=now)
        recompute_sla(into, now=now)
        record_audit(
            actor=actor,
            action="servicedesk.merge_ticket",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes=diff(before, {"status": closed, "merged_into_id": into.pk}),
        )
    return ticket


def link_parent(
    *, actor: Principal, ticket: Ticket, parent: Ticket | None, now: dt.datetime | None = None
) -> Ticket:
    """Make ``ticket`` a child of ``parent`` (or of nothing). Same tenant, no cycles."""
    authorize(actor, "servicedesk.change_ticket", ticket)
    if parent is not None:
        require(parent.tenant_id == ticket.tenant_id, "parent_id", "Not a ticket of this tenant.")
        require(parent.pk != ticket.pk, "parent_id", "A ticket cannot be its own parent.")
    if (parent.pk if parent else None) == ticket.parent_id:
        raise Conflict("The ticket already has this parent.")
    now = now or timezone.now()
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        # Walk up from the new parent: meeting the ticket itself means a cycle.
        seen: set[int] = set()
        cursor = parent.pk if parent else None
        while cursor is not None and cursor not in seen:
            require(cursor != ticket.pk, "parent_id", "That would make a cycle of tickets.")
            seen.add(cursor)
            cursor = (
                Ticket.objects.filter(tenant_id=ticket.tenant_id, pk=cursor)
                .values_list("parent_id", flat=True)
                .first()
            )
        before = ticket.parent_id
        ticket.parent = parent
        ticket.save(update_fields=["parent", "updated_at"])
        reason = f"Now a child of #{parent.number}." if parent else "No longer a child ticket."
        _event(ticket, LINKED, actor, now, reason=reason, parent_id=ticket.parent_id)
        record_audit(
            actor=actor,
            action="servicedesk.link_parent",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes={"parent_id": [before, ticket.parent_id]},
        )
    return ticket


def set_tags(
    *, actor: Principal, ticket: Ticket, tags: Iterable[str], now: dt.datetime | None = None
) -> Ticket:
    """Replace the ticket's tags: trimmed, lower-cased, de-duplicated, at most 20."""
    authorize(actor, "servicedesk.change_ticket", ticket)
    tag_list = sorted({clean_name(t, field="tags", max_length=40).lower() for t in tags})
    require(len(tag_list) <= MAX_TAGS, "tags", f"At most {MAX_TAGS} tags.")
    if tag_list == list(ticket.tags or []):
        raise Conflict("The ticket already has these tags.")
    now = now or timezone.now()
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        before = list(ticket.tags or [])
        ticket.tags = tag_list
        ticket.save(update_fields=["tags", "updated_at"])
        shown = ", ".join(tag_list) or "none"
        _event(ticket, TAGGED, actor, now, reason=f"Tags: {shown}.", tags=tag_list)
        record_audit(
            actor=actor,
            action="servicedesk.set_tags",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes={"tags": [before, tag_list]},
        )
    return ticket


def _watch(actor: Principal, ticket: Ticket, *, on: bool) -> Ticket:
    # Watching is reading: whoever sees the ticket may follow it, for themselves only.
    authorize(actor, "servicedesk.view_ticket", ticket)
    user_id = actor.user_id
    require(user_id is not None, "user", "Only people watch tickets.")
    assert user_id is not None  # for the type checker: require raised otherwise
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        watching = ticket.watchers.filter(pk=user_id).exists()
        # A no-op is refused as input (422), like any request that would write nothing.
        require(
            watching != on,
            "ticket_id",
            "You already watch this ticket." if on else "You do not watch this ticket.",
        )
        if on:
            ticket.watchers.add(user_id)
        else:
            ticket.watchers.remove(user_id)
        record_audit(
            actor=actor,
            action="servicedesk.watch_ticket" if on else "servicedesk.unwatch_ticket",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes={"watcher_id": [None, actor.user_id] if on else [actor.user_id, None]},
        )
    return ticket


def watch_ticket(*, actor: Principal, ticket: Ticket) -> Ticket:
    """Follow a ticket (the actor themselves): its notifications go to them too."""
    return _watch(actor, ticket, on=True)


def unwatch_ticket(*, actor: Principal, ticket: Ticket) -> Ticket:
    """Stop following a ticket."""
    return _watch(actor, ticket, on=False)


def add_comment_with_file(
    *,
    actor: Principal,
    ticket: Ticket,
    body: str,
    filename: str,
    content_type: str,
    content: bytes,
    visibility: str = Visibility.SHARED,
    via: str = Via.WEB,
) -> Comment:
    """A note with one file on it (the portal's reply with an attachment): both or neither.
    A refused file (its type, its size) leaves no note behind, so the author can fix it and
    send the same text again; each part is authorised and audited by its own service."""
    with transaction.atomic():
        comment = add_comment(actor=actor, ticket=ticket, body=body, visibility=visibility, via=via)
        attach_file(
            actor=actor,
            ticket=ticket,
            filename=filename,
            content_type=content_type,
            content=content,
            visibility=visibility,
            comment=comment,
        )
    return comment


# --- Queues: saved views and bulk changes ------------------------------------------------------
# (Appended as a block, with its own imports.)

from tandem.servicedesk.models import SavedView  # noqa: E402

#: Most tickets one bulk change may touch: enough for a queue page, small enough to keep the
#: all-or-nothing transaction (and its row locks) short.
MAX_BULK_TICKETS = 200
BULK_ACTIONS = ("assign", "status", "priority")
#: The filters a saved view may hold, and their types (anything else is dropped).
SAVED_VIEW_FILTERS: dict[str, type] = {
    "scope": str,
    "tenant_id": int,
    "status": str,
    "priority": int,
    "party_id": int,
    "assignee_id": int,
    "service_area_id": int,
    "sla": str,
    "q": str,
}
MAX_SAVED_VIEWS = 50


def _clean_view_filters(filters: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, kind in SAVED_VIEW_FILTERS.items():
        value = filters.get(key)
        if value in (None, ""):
            continue
        try:
            cleaned[key] = kind(value)
        except (TypeError, ValueError):
            raise InvalidInput({key: ["Not a valid value."]}) from None
        if kind is str:
            cleaned[key] = clean_text(cleaned[key], field=key, max_length=100)
    return cleaned


def create_saved_view(*, actor: Principal, name: str, filters: dict[str, Any]) -> SavedView:
    """Save the actor's current queue filters under a name, for the actor alone.

    Only the filters are stored, never tickets: opening the view runs them again through
    the actor's access of that moment."""
    owner_id = actor.user_id
    if owner_id is None:
        raise InvalidInput({"name": ["Sign in to save a view."]})
    name = clean_name(name, field="name", max_length=100)
    cleaned = _clean_view_filters(filters)
    with transaction.atomic():
        mine = SavedView.objects.select_for_update().filter(owner_id=owner_id)
        if mine.filter(name=name).exists():
            raise Conflict(f"You already have a view named {name!r}.")
        require(
            mine.count() < MAX_SAVED_VIEWS,
            "name",
            f"You have {MAX_SAVED_VIEWS} saved views; delete one first.",
        )
        view = SavedView.objects.create(owner_id=owner_id, name=name, filters=cleaned)
        record_audit(
            actor=actor,
            action="servicedesk.create_saved_view",
            target=view,
            tenant_id=None,
            changes=diff({}, {"name": name, "filters": cleaned}),
        )
    return view


def delete_saved_view(*, actor: Principal, view: SavedView) -> None:
    """Delete one of the actor's own saved views."""
    from django.http import Http404

    if view.owner_id != actor.user_id:
        raise Http404("no such saved view")  # personal: someone else's does not exist
    with transaction.atomic():
        record_audit(
            actor=actor,
            action="servicedesk.delete_saved_view",
            target=view,
            tenant_id=None,
            changes={"name": [view.name, None]},
        )
        view.delete()


def bulk_update_tickets(
    *,
    actor: Principal,
    tickets: list[Ticket],
    action: str,
    assignee: User | None = None,
    status: str | None = None,
    impact: int | None = None,
    urgency: int | None = None,
) -> list[Ticket]:
    """Assign, move or reprioritise many tickets at once: all of them, or none.

    Each ticket goes through the same service as a single change (``assign_ticket``,
    ``change_status``, ``reprioritise_ticket``), so each is authorised, audited and has its
    SLA recomputed. Every ticket is authorised before anything is written, and the whole
    batch runs in one transaction: one refusal or invalid value rolls back every ticket.
    A ticket already in the requested status is left alone rather than failing the batch.
    """
    require(action in BULK_ACTIONS, "action", f"Use one of: {', '.join(BULK_ACTIONS)}.")
    require(bool(tickets), "ticket_ids", "Choose at least one ticket.")
    require(
        len(tickets) <= MAX_BULK_TICKETS,
        "ticket_ids",
        f"Choose at most {MAX_BULK_TICKETS} tickets.",
    )
    if action == "status":
        require(bool(status), "status", "Choose a status.")
    if action == "priority":
        require(impact is not None or urgency is not None, "impact", "Choose impact or urgency.")
    for ticket in tickets:
        authorize(actor, "servicedesk.change_ticket", ticket)
    with transaction.atomic():
        for ticket in tickets:
            if action == "assign":
                assign_ticket(actor=actor, ticket=ticket, assignee=assignee)
            elif action == "status":
                if ticket.status != status:
                    change_status(actor=actor, ticket=ticket, status=str(status))
            else:
                reprioritise_ticket(actor=actor, ticket=ticket, impact=impact, urgency=urgency)
    return tickets


# --- Canned replies ---------------------------------------------------------------------------
# (Appended as a block, with its own import.)

from django.db.models import Q  # noqa: E402

from tandem.servicedesk.models import CannedReply  # noqa: E402

MAX_CANNED_REPLY = 10_000


def _of_party(party_id: int | None) -> Q:
    """A party's own canned replies, or the tenant's (no party)."""
    return Q(party__isnull=True) if party_id is None else Q(party_id=party_id)


def create_canned_reply(
    *, actor: Principal, tenant: Tenant, name: str, body: str, shared: bool = False
) -> CannedReply:
    """Keep a named reply text: the actor's own party's (read by that party alone), or,
    ``shared``, the tenant's (read by its IT and every engaged provider; kept by the
    tenant's IT only)."""
    accesses = [
        a
        for a in actor.accesses_with("servicedesk.change_cannedreply", tenant.pk)
        if a.party_id is not None
    ]
    if not accesses:
        raise PermissionDenied("Only IT people keep canned replies.")
    if shared and not any(a.provider_id is None for a in accesses):
        raise PermissionDenied("Only the tenant's IT keeps the tenant's canned replies.")
    party_id = None if shared else min(a.party_id or 0 for a in accesses)
    name = clean_name(name, field="name", max_length=100)
    body = clean_text(body, field="body", max_length=MAX_CANNED_REPLY)
    require(bool(body), "body", "Write the reply.")
    with transaction.atomic(), within_tenant(tenant.pk):
        if CannedReply.objects.filter(
            _of_party(party_id), tenant=tenant, name__iexact=name
        ).exists():
            raise Conflict(f"A canned reply named {name!r} exists already.")
        reply = CannedReply.objects.create(tenant=tenant, party_id=party_id, name=name, body=body)
        record_audit(
            actor=actor,
            action="servicedesk.create_canned_reply",
            target=reply,
            tenant_id=tenant.pk,
            changes=diff({}, {"name": name, "party_id": party_id}),
        )
    return reply


def update_canned_reply(
    *, actor: Principal, reply: CannedReply, name: str | None = None, body: str | None = None
) -> CannedReply:
    """Rename a canned reply or change its text."""
    authorize(actor, "servicedesk.change_cannedreply", reply)
    before = {"name": reply.name, "body": reply.body}
    if name is not None:
        reply.name = clean_name(name, field="name", max_length=100)
    if body is not None:
        reply.body = clean_text(body, field="body", max_length=MAX_CANNED_REPLY)
        require(bool(reply.body), "body", "Write the reply.")
    with transaction.atomic(), within_tenant(reply.tenant_id):
        clash = CannedReply.objects.filter(
            _of_party(reply.party_id), tenant_id=reply.tenant_id, name__iexact=reply.name
        ).exclude(pk=reply.pk)
        if clash.exists():
            raise Conflict(f"A canned reply named {reply.name!r} exists already.")
        reply.save()
        record_audit(
            actor=actor,
            action="servicedesk.update_canned_reply",
            target=reply,
            tenant_id=reply.tenant_id,
            changes=diff(before, {"name": reply.name, "body": reply.body}),
        )
    return reply


def delete_canned_reply(*, actor: Principal, reply: CannedReply) -> None:
    """Remove a canned reply (notes written with it keep their text)."""
    authorize(actor, "servicedesk.change_cannedreply", reply)
    with transaction.atomic(), within_tenant(reply.tenant_id):
        record_audit(
            actor=actor,
            action="servicedesk.delete_canned_reply",
            target=reply,
            tenant_id=reply.tenant_id,
            changes={"name": [reply.name, None]},
        )
        reply.delete()
