"""Reads of the service desk: tickets through their policy, notes through their tier."""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone as _timezone

from tandem.accounts.models import User
from tandem.core.policies import get_visible_or_404, visible
from tandem.core.principal import Principal
from tandem.core.scoping import system_context
from tandem.servicedesk import desk_config, routing
from tandem.servicedesk.choices import Visibility
from tandem.servicedesk.models import (
    Attachment,
    Comment,
    Coverage,
    MatrixVersion,
    ResponsibilityRow,
    Ticket,
    TicketEvent,
    TimeEntry,
)
from tandem.tenancy.models import AssetGroup, Party, ServiceArea, Site, Tenant


def tickets(principal: Principal) -> QuerySet[Ticket]:
    """Tickets the principal may see, ready for a queue page (no per-row queries)."""
    return visible(principal, "servicedesk.view_ticket", Ticket.objects.all()).select_related(
        "party", "assignee", "requester", "service_area", "tenant"
    )


def ticket(principal: Principal, ticket_id: int) -> Ticket:
    return get_visible_or_404(
        principal,
        "servicedesk.view_ticket",
        Ticket.objects.select_related("tenant", "party"),
        pk=ticket_id,
    )


def involved_party_ids(ticket: Ticket) -> set[int]:
    """Parties that hold or have held the ticket: "the parties involved in the record"."""
    held = set(TicketEvent.objects.filter(ticket=ticket).values_list("party_id", flat=True))
    return held | {ticket.party_id}


def note_tiers(principal: Principal, ticket: Ticket) -> Q:
    """Which notes of ``ticket`` the principal may read.

    Party-private: the author's party only. IT-shared: the tenant's internal IT and the
    provider parties involved in the ticket. Public: also the requester.
    """
    allowed = Q(visibility=Visibility.PUBLIC)
    involved = involved_party_ids(ticket)
    for access in principal.accesses_with("servicedesk.view_ticket", ticket.tenant_id):
        if access.party_id is None:
            continue  # a requester: public notes only
        allowed |= Q(visibility=Visibility.PRIVATE, party_id=access.party_id)
        if access.provider_id is None or access.party_id in involved:
            allowed |= Q(visibility=Visibility.SHARED)
    return allowed


def comments(principal: Principal, ticket: Ticket) -> QuerySet[Comment]:
    return Comment.objects.filter(ticket=ticket).filter(note_tiers(principal, ticket))


def attachments(principal: Principal, ticket: Ticket) -> QuerySet[Attachment]:
    return Attachment.objects.filter(ticket=ticket).filter(note_tiers(principal, ticket))


def author_for_requester(comment: Comment, reader_id: int | None) -> str:
    """Who wrote a note, as its requester is told (portal and API alike): "You", "IT" for
    anyone who wrote for a party (never their name, address or party), or the name an
    e-mail reply came with."""
    if comment.author_id is not None and comment.author_id == reader_id:
        return "You"
    if comment.party_id is not None:
        return "IT"
    return comment.author_label


# --- Reads of the service-desk pages ----------------------------------------------------------
# (Appended to this module as a block, with its own imports.)


def is_it_in(principal: Principal, tenant_id: int) -> bool:
    """True if the principal works in the tenant for a party (its IT or a provider's);
    False for people who are only requesters there, who get the simplified pages."""
    return principal.is_it_in(tenant_id)


def own_party_ids(principal: Principal) -> set[int]:
    """Every party the principal acts for, across tenants ("my parties' tickets")."""
    return {a.party_id for a in principal.tenant_accesses if a.party_id is not None}


#: tenant id -> (desk configuration token, statuses): see :func:`workflows`.
_workflows: dict[int, tuple[object, list[list[str]]]] = {}


def workflows(tenant_ids: Iterable[int]) -> dict[int, list[list[str]]]:
    """Each tenant's statuses ``[[key, name, kind], ...]``, without creating desk settings
    for tenants that have none yet (they use the default workflow).

    Kept per process against each tenant's desk-configuration token, which changes with
    every change of its settings (``desk_config``): a provider's queue page needs the
    workflows of hundreds of tenants, and decoding them all on every page cost 8 ms.
    Treat the lists returned as read-only.
    """
    from tandem.core.lookups import IdIn
    from tandem.servicedesk.choices import DEFAULT_STATUSES
    from tandem.servicedesk.models import DeskSettings

    wanted = set(tenant_ids)
    tokens = dict(
        DeskSettings.objects.filter(IdIn("tenant_id", wanted)).values_list(
            "tenant_id", "config_token"
        )
    )
    stale = [t for t, token in tokens.items() if _workflows.get(t, (None,))[0] != token]
    if stale:
        for tenant_id, token, statuses in DeskSettings.objects.filter(
            IdIn("tenant_id", stale)
        ).values_list("tenant_id", "config_token", "statuses"):
            _workflows[tenant_id] = (token, statuses)
    default = [list(s) for s in DEFAULT_STATUSES]
    found = {t: _workflows[t][1] for t in tokens if t in _workflows}
    return {tenant_id: found.get(tenant_id, default) for tenant_id in wanted}


def party_names(tenant_id: int) -> dict[int, str]:
    """Names of the tenant's parties, for the parties a ticket names (holder, handoffs, SLA)."""
    return dict(Party.objects.filter(tenant_id=tenant_id).values_list("pk", "name"))


def parties(principal: Principal, tenant_id: int) -> QuerySet[Party]:
    """The tenant's parties the principal may see (a provider: internal IT and its own)."""
    return visible(principal, "tenancy.view_party", Party.objects.filter(tenant_id=tenant_id))


def handoff_targets(principal: Principal, ticket: Ticket) -> QuerySet[Party]:
    """Parties a ticket can be handed to: visible, not the holder, and internal IT or a
    provider whose engagement is active (the service checks the engagement's scope)."""
    return (
        parties(principal, ticket.tenant_id)
        .exclude(pk=ticket.party_id)
        .filter(Q(kind="internal") | Q(engagement__status="active"))
    )


def assignable_people(ticket: Ticket) -> QuerySet[User]:
    """People working for the party that holds ``ticket`` whose role may change tickets: the
    choices of the assign form (``assign_ticket`` checks the chosen person again).

    A provider party's people are the provider's staff, whose memberships belong to no
    tenant, so they are read in a named system context, narrowed to that one provider.
    """
    from tandem.accounts.models import Membership

    party = ticket.party
    with system_context("the people of the party holding a ticket"):
        rows = Membership.objects.filter(is_active=True, user__is_active=True)
        if party.provider_id is not None:
            rows = rows.filter(provider_id=party.provider_id)
        else:
            rows = rows.filter(tenant_id=ticket.tenant_id, party_id=party.pk)
        user_ids = sorted(
            {
                user_id
                for user_id, permissions in rows.values_list("user_id", "role__permissions")
                if "servicedesk.change_ticket" in (permissions or [])
            }
        )
    return User.objects.filter(pk__in=user_ids).order_by("full_name", "email")


def visible_time(principal: Principal) -> Q:
    """Which time entries the principal may read, in every tenant it reaches: the tenant's
    own IT all of them, a provider its own party's, requesters none (the ticket page and
    the dashboards share this rule)."""
    whole: set[int] = set()
    own: set[int] = set()
    for access in principal.tenant_accesses:
        if access.party_id is None:
            continue  # a requester
        if access.is_internal:
            whole.add(access.tenant_id)
        else:
            own.add(access.party_id)
    return Q(tenant_id__in=sorted(whole)) | Q(party_id__in=sorted(own))


def time_entries(principal: Principal, ticket: Ticket) -> QuerySet[TimeEntry]:
    """Time on a ticket, as far as ``visible_time`` allows."""
    return (
        TimeEntry.objects.filter(ticket=ticket)
        .filter(visible_time(principal))
        .select_related("user", "party", "service_area")
    )


def matrix_areas(principal: Principal, tenant_id: int) -> QuerySet[ServiceArea]:
    """The tenant's service areas the principal may see: all for its IT, a provider's own."""
    return visible(
        principal, "tenancy.view_servicearea", ServiceArea.objects.filter(tenant_id=tenant_id)
    )


def matrix_rows(principal: Principal, tenant_id: int) -> QuerySet[ResponsibilityRow]:
    """The RACI rows the principal may read: those of the service areas it sees, narrowed to
    a site or asset group only when it sees that site or group (a provider never learns the
    names of sites outside its engagement), and naming only parties it sees.

    A provider sees the tenant's IT and its own party, never which other providers the
    tenant engages: a row whose responsible or accountable party it cannot see is left out,
    like a row outside its scope, and so are such parties among the consulted and informed.
    """
    sites = visible(principal, "tenancy.view_site", Site.objects.filter(tenant_id=tenant_id))
    groups = visible(
        principal, "tenancy.view_assetgroup", AssetGroup.objects.filter(tenant_id=tenant_id)
    )
    seen = parties(principal, tenant_id)
    return (
        ResponsibilityRow.objects.filter(
            tenant_id=tenant_id,
            service_area__in=matrix_areas(principal, tenant_id).values("pk"),
            responsible__in=seen.values("pk"),
            accountable__in=seen.values("pk"),
        )
        .filter(Q(site__isnull=True) | Q(site__in=sites.values("pk")))
        .filter(Q(asset_group__isnull=True) | Q(asset_group__in=groups.values("pk")))
        .select_related("service_area", "site", "asset_group", "responsible", "accountable")
        .prefetch_related(
            Prefetch("consulted", queryset=seen.order_by("name", "pk")),
            Prefetch("informed", queryset=seen.order_by("name", "pk")),
        )
    )


def coverage(principal: Principal, tenant_id: int) -> QuerySet[Coverage]:
    """Who is on duty when: entries for every area, or for an area the principal sees, of
    parties it sees (a provider never learns another provider's hours, nor that it exists)."""
    return (
        Coverage.objects.filter(tenant_id=tenant_id)
        .filter(
            Q(service_area__isnull=True)
            | Q(service_area__in=matrix_areas(principal, tenant_id).values("pk"))
        )
        .filter(party__in=parties(principal, tenant_id).values("pk"))
        .select_related("party", "calendar", "service_area")
    )


#: How a party the reader may not see is named in a finding (never by its name).
ANOTHER_PARTY = "another provider"


@dataclass(frozen=True)
class MatrixView:
    """The responsibility matrix as one principal may read it: the rows, coverage and gap
    findings of the page and of ``GET /api/v1/tenants/{id}/matrix`` alike."""

    version: int
    rows: list[ResponsibilityRow]
    coverage: list[Coverage]
    findings: list[routing.Finding]


def matrix_view(principal: Principal, tenant: Tenant) -> MatrixView:
    """What the matrix page and the matrix API show ``principal`` (who may read the matrix
    of ``tenant``: the caller checks ``servicedesk.view_matrix``).

    The findings are those of the service areas it sees, worked out from the rows it may
    read (a row at a site outside a provider's engagement says nothing about its sites) and
    from every party's coverage (another party on duty does close a gap), and they name only
    parties it sees.
    """
    area_ids = list(
        matrix_areas(principal, tenant.pk).filter(is_active=True).values_list("pk", flat=True)
    )
    rows = list(matrix_rows(principal, tenant.pk))
    readable = {row.pk for row in rows}
    seen = set(parties(principal, tenant.pk).values_list("pk", flat=True))
    context = desk_config.current(tenant.pk).routing_context(area_ids=area_ids)
    context = dataclasses.replace(
        context,
        rows=[row for row in context.rows if row.id in readable],
        party_names={
            pk: name if pk in seen else ANOTHER_PARTY for pk, name in context.party_names.items()
        },
    )
    findings = routing.analyse(context, area_ids=area_ids, week_start=week_start(tenant.time_zone))
    version = (
        MatrixVersion.objects.filter(tenant_id=tenant.pk)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return MatrixView(
        version=version or 0,
        rows=rows,
        coverage=list(coverage(principal, tenant.pk)),
        findings=findings,
    )


def week_start(time_zone: str) -> _dt.datetime:
    """Monday 00:00 of this week in the tenant's zone: the gap analysis's reference week."""
    zone = ZoneInfo(time_zone)
    today = _timezone.now().astimezone(zone).date()
    return _dt.datetime.combine(today - _dt.timedelta(days=today.weekday()), _dt.time(0), zone)


# --- Queues: text search, SLA state and the queue's filters -----------------------------------
# (Appended as a block, with its own imports.)

from dataclasses import dataclass as _dataclass  # noqa: E402
from typing import Any as _Any  # noqa: E402

from django.db import connection as _connection  # noqa: E402

#: How close a due date must be for a ticket to count as "due soon".
DUE_SOON = _dt.timedelta(hours=1)
SLA_STATES = {"breached": "Breached", "due_soon": "Due soon", "on_time": "On time"}
#: Status filters over each tenant's own workflow, whatever its statuses are called: every
#: status not of kind resolved or closed, or every one that is. Status keys are lower-case
#: letters, digits and hyphens, so these values can never be a tenant's status.
OPEN_STATUSES = "is:open"
DONE_STATUSES = "is:done"
STATUS_GROUPS = {OPEN_STATUSES: "Any open status", DONE_STATUSES: "Resolved or closed"}
_DUE_FIELDS = ("first_response_due", "next_update_due", "resolution_due")


@_dataclass
class QueueRow:
    """One row of a queue page, read as plain values (no model instances: building fifty
    tickets with their tenant, party and assignee cost more than the query). The views fill
    in the links, display times and labels (``views_queues.prepare_rows``)."""

    pk: int
    tenant_id: int
    number: int
    subject: str
    status: str
    priority: int
    party_id: int
    assignee_id: int | None
    created_at: _dt.datetime
    first_response_due: _dt.datetime | None
    next_update_due: _dt.datetime | None
    resolution_due: _dt.datetime | None
    tenant_name: str
    tenant_time_zone: str
    party_name: str
    assignee_full_name: str | None
    assignee_email: str | None
    requester_full_name: str
    requester_email: str
    source: str
    # Filled in for display by the views.
    url: str = ""
    tenant_url: str = ""
    created_iso: str = ""
    created_label: str = ""
    due_iso: str = ""
    due_label: str = ""
    overdue: bool = False
    assignee_name: str = ""
    requester_name: str = ""
    source_label: str = ""
    status_name: str = ""
    status_tone: str = ""
    it: bool = False
    sla_label: str = ""


#: ``QueueRow``'s columns, in its field order.
_QUEUE_ROW_COLUMNS = (
    "pk",
    "tenant_id",
    "number",
    "subject",
    "status",
    "priority",
    "party_id",
    "assignee_id",
    "created_at",
    *_DUE_FIELDS,
    "tenant__name",
    "tenant__time_zone",
    "party__name",
    "assignee__full_name",
    "assignee__email",
    "requester__full_name",
    "requester__email",
    "source",
)


def queue_rows(keys: list[int]) -> list[QueueRow]:
    """The queue rows of ``keys``, in that order. The keys come from a queue read through
    the principal's policy and scope, so the rows are read by key alone."""
    from tandem.core.lookups import IdIn

    if not keys:
        return []
    with system_context("load the rows of a page whose keys were read in scope"):
        found = {
            values[0]: values
            for values in Ticket._base_manager.filter(IdIn("pk", keys))
            .order_by()
            .values_list(*_QUEUE_ROW_COLUMNS)
        }
    return [QueueRow(*found[key]) for key in keys if key in found]


def queue_rows_of(rows: QuerySet[Ticket], chunk_size: int = 500) -> Iterator[QueueRow]:
    """Every row of ``rows`` as a :class:`QueueRow`, streamed in chunks (the CSV export)."""
    for values in rows.values_list(*_QUEUE_ROW_COLUMNS).iterator(chunk_size=chunk_size):
        yield QueueRow(*values)


def search_tickets(rows: QuerySet[Ticket], text: str) -> QuerySet[Ticket]:
    """Tickets whose subject or description match ``text``, or whose number it is.

    PostgreSQL: full-text search in web-search syntax ("printer -jam", quoted phrases).
    Elsewhere (SQLite in development and tests): a case-insensitive substring match.
    """
    text = text.strip()
    if not text:
        return rows
    number = text.lstrip("#")
    by_number = Q(number=int(number)) if number.isdigit() and len(number) < 10 else Q(pk__in=[])
    if _connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        # The same configuration on both sides: with the server's default (often "english")
        # for the text, "Acme" became "acm" and never matched the query's "acme". The
        # expression is exactly the one of the GIN index (migration 0008), so it is used.
        vector = SearchVector("subject", "description", config="simple")
        query = SearchQuery(text, search_type="websearch", config="simple")
        return rows.annotate(search=vector).filter(Q(search=query) | by_number)
    return rows.filter(Q(subject__icontains=text) | Q(description__icontains=text) | by_number)


def sla_condition(state: str, now: _dt.datetime | None = None) -> Q:
    """Tickets in an SLA state: ``breached`` (a running clock's due date has passed),
    ``due_soon`` (none passed, one due within the hour) or ``on_time`` (the rest, including
    tickets whose clocks are met or paused: their due dates are cleared)."""
    now = now or _timezone.now()
    breached = Q(pk__in=[])
    soon = Q(pk__in=[])
    for field in _DUE_FIELDS:
        breached |= Q(**{f"{field}__lt": now})
        soon |= Q(**{f"{field}__gte": now, f"{field}__lt": now + DUE_SOON})
    if state == "breached":
        return breached
    if state == "due_soon":
        return soon & ~breached
    return ~breached & ~soon


def sla_state_of(ticket: Ticket | QueueRow, now: _dt.datetime) -> str:
    """The same classification as :func:`sla_condition`, for one loaded ticket."""
    dues = [d for d in (getattr(ticket, f) for f in _DUE_FIELDS) if d is not None]
    if any(d < now for d in dues):
        return "breached"
    if any(d < now + DUE_SOON for d in dues):
        return "due_soon"
    return "on_time"


def queue(principal: Principal, filters: dict[str, _Any]) -> QuerySet[Ticket]:
    """The tickets of a queue: those the principal sees, narrowed by ``filters``.

    Keys (all optional): ``scope`` (``mine``: assigned to me; ``my_parties``: held by a
    party I act for), ``tenant_id``, ``status``, ``priority``, ``party_id``,
    ``assignee_id``, ``service_area_id``, ``sla`` (see :func:`sla_condition`), ``q`` (text).
    Unknown keys are ignored, so a saved view written by an older version still opens.
    """
    rows = tickets(principal)
    if filters.get("scope") in ("mine", "my_parties") or uses_it_only(filters):
        rows = only_where_it(principal, rows)
    scope = filters.get("scope")
    if scope == "mine":
        rows = rows.filter(assignee_id=principal.user_id)
    elif scope == "my_parties":
        rows = rows.filter(party_id__in=sorted(own_party_ids(principal)))
    for key in ("tenant_id", "status", "priority", "party_id", "assignee_id", "service_area_id"):
        if filters.get(key) not in (None, ""):
            if key == "status" and filters[key] in STATUS_GROUPS:
                rows = rows.filter(status_group_condition(filters[key]))
                continue
            rows = rows.filter(**{key: filters[key]})
    if filters.get("sla") in SLA_STATES:
        rows = rows.filter(sla_condition(filters["sla"]))
    if filters.get("q"):
        rows = search_tickets(rows, str(filters["q"]))
    return rows


#: Filters over what requesters are never shown of a ticket (who holds it, whom it is
#: assigned to, its service area, its clocks). Filtering by a hidden field would tell it
#: anyway ("which of my tickets does party 7 hold?"), so these reach only the tickets of
#: tenants where the caller works in IT: :func:`only_where_it`.
IT_ONLY_FILTERS = ("party_id", "assignee_id", "service_area_id", "sla")
#: Orderings by such fields (the API's ``ordering``), treated the same way.
IT_ONLY_ORDERINGS = ("resolution_due",)


def uses_it_only(filters: dict[str, _Any], ordering: str | None = None) -> bool:
    """Whether ``filters`` (or ``ordering``) ask about something requesters are not shown."""
    if (ordering or "").lstrip("-") in IT_ONLY_ORDERINGS:
        return True
    return any(filters.get(key) not in (None, "") for key in IT_ONLY_FILTERS)


def only_where_it(principal: Principal, rows: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """``rows`` narrowed to the tenants where the principal works for a party: a requester
    learns nothing from a filter over what it is not shown (it finds nothing)."""
    return rows.filter(tenant_id__in=sorted(it_tenant_ids(principal)))


def status_group_condition(group: str) -> Q:
    """Tickets that are open (``is:open``: not resolved or closed, whatever each tenant
    calls its statuses) or resolved or closed (``is:done``).

    Read from ``resolved_at``, which the status services keep in step with the kind of a
    ticket's status: set when it is resolved or closed (or merged), cleared when it is
    reopened; a status's kind cannot change while tickets hold it. So no workflow is
    consulted, and the database walks the small newest-first index of open tickets
    (``ticket_open_created``) instead of every ticket.
    """
    return Q(resolved_at__isnull=group == OPEN_STATUSES)


def it_tenant_ids(principal: Principal) -> set[int]:
    """Tenants where the principal works for a party (its IT or a provider's)."""
    return {t for t in principal.tenant_ids if is_it_in(principal, t)}


def saved_views(principal: Principal) -> QuerySet[_Any]:
    """The principal's own saved views: they are personal, nobody else sees them."""
    from tandem.servicedesk.models import SavedView

    return SavedView.objects.filter(owner_id=principal.user_id or 0).order_by("name")


def saved_view(principal: Principal, saved_view_id: int) -> _Any:
    """One of the principal's saved views; anyone else's is not found."""
    from django.http import Http404

    found = saved_views(principal).filter(pk=saved_view_id).first()
    if found is None:
        raise Http404("no such saved view")
    return found


def own_parties(principal: Principal) -> list[tuple[int, int, int | None]]:
    """``(party id, tenant id, provider id)`` of every party the principal acts for, from
    its accesses alone (no query)."""
    return sorted(
        {
            (a.party_id, a.tenant_id, a.provider_id)
            for a in principal.tenant_accesses
            if a.party_id is not None
        }
    )


def people_of_parties(
    party_rows: QuerySet[Party] | Iterable[tuple[int, int, int | None]],
) -> QuerySet[User]:
    """People who may work tickets for any of ``party_rows``: the choices of a queue's
    assignee filter (pass only parties the principal sees: ``parties`` above, or
    :func:`own_parties` as ``(party id, tenant id, provider id)``).

    An internal party's people are the tenant's members of that party; a provider party's
    are the provider's staff, whose memberships belong to no tenant, so they are read in a
    named system context narrowed to those providers (as :func:`assignable_people` does).
    """
    from tandem.accounts.models import Membership, Role

    internal = Q(pk__in=[])
    providers: set[int] = set()
    found = (
        party_rows.values_list("pk", "tenant_id", "provider_id")
        if isinstance(party_rows, QuerySet)
        else party_rows
    )
    for party_id, tenant_id, provider_id in found:
        if provider_id is not None:
            providers.add(provider_id)
        else:
            internal |= Q(tenant_id=tenant_id, party_id=party_id)
    with system_context("the people of the parties a queue filters by"):
        rows = list(
            Membership.objects.filter(is_active=True, user__is_active=True)
            .filter(internal | Q(provider_id__in=sorted(providers)))
            .values_list("user_id", "role_id")
        )
        # Each role's permissions once, not once per membership (hundreds of them).
        working_roles = {
            pk
            for pk, permissions in Role.objects.filter(
                pk__in=sorted({role_id for _user_id, role_id in rows})
            ).values_list("pk", "permissions")
            if "servicedesk.change_ticket" in (permissions or [])
        }
        user_ids = sorted({user_id for user_id, role_id in rows if role_id in working_roles})
    return User.objects.filter(pk__in=user_ids).order_by("full_name", "email")


# --- Logging a ticket for a caller, canned replies ---------------------------------------------
# (Appended as a block.)

#: Most people one caller search lists: enough to pick from, too few to page through a company.
MAX_CALLERS = 20


def callers(tenant_id: int, text: str, *, include: int | None = None) -> list[User]:
    """The tenant's people (active members of any tenant role) whose name or e-mail contains
    ``text`` (at least two characters), by name; ``include`` adds one chosen person back if
    they are one of them. For the caller picker of a technician who may log tickets in the
    tenant (the caller checks that): a provider's technician sees no people list otherwise.
    """
    from tandem.accounts.models import Membership

    text = (text or "").strip()[:100]
    wanted = Q(pk__in=[])
    if len(text) >= 2:
        wanted |= Q(email__icontains=text) | Q(full_name__icontains=text)
    if include is not None:
        wanted |= Q(pk=include)
    with system_context("the people of the tenant a technician logs a call in"):
        members = Membership.objects.filter(tenant_id=tenant_id, is_active=True).values("user_id")
        return list(
            User.objects.filter(wanted, pk__in=members, is_active=True).order_by(
                "full_name", "email"
            )[:MAX_CALLERS]
        )


def ticket_takers(
    principal: Principal, tenant_id: int, *, own_only: bool
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Who a technician logging a call may give the ticket to: ``(parties, people)``.

    The tenant's IT: every party that can hold tickets (internal IT, providers with a live
    engagement); a provider (``own_only``): its own party. People are those who may take a
    ticket of one of these parties (``services.may_take``: the party's people whose role
    changes tickets), labelled with their party. The service checks the area and site.
    """
    rows = parties(principal, tenant_id).filter(Q(kind="internal") | Q(engagement__status="active"))
    if own_only:
        rows = rows.filter(pk__in=sorted(own_party_ids(principal)))
    found = list(rows.order_by("name").values_list("pk", "tenant_id", "provider_id", "name"))
    people: list[tuple[int, str]] = []
    for pk, tenant, provider, name in found:
        for user in people_of_parties([(pk, tenant, provider)]):
            people.append((user.pk, f"{user.full_name or user.email} ({name})"))
    return [(pk, name) for pk, _t, _p, name in found], people


def canned_replies(principal: Principal, tenant_id: int) -> QuerySet[_Any]:
    """The canned replies of a tenant the principal may read: the tenant-wide ones and its
    own party's (``servicedesk.view_cannedreply``)."""
    from tandem.servicedesk.models import CannedReply

    return visible(
        principal,
        "servicedesk.view_cannedreply",
        CannedReply.objects.filter(tenant_id=tenant_id).select_related("party"),
    )


def takers_by_party(
    party_ids: Iterable[int],
) -> list[tuple[int, str, int, list[tuple[int, str]]]]:
    """For each party: ``(party id, party name, tenant id, [(user id, name), ...])`` of the
    people who may take its tickets (``services.may_take``: its people whose role changes
    tickets), by party name. The ids must come from tickets the caller may change (a
    queue page's changeable rows); the people are read in one named system context, as
    :func:`people_of_parties` reads them."""
    from tandem.accounts.models import Membership

    wanted = sorted(set(party_ids))
    if not wanted:
        return []
    with system_context("who may take the tickets of a queue page's parties"):
        columns = ("pk", "name", "tenant_id", "provider_id")
        found = list(Party.objects.filter(pk__in=wanted).values_list(*columns))
        internal = Q(pk__in=[])
        providers: set[int] = set()
        for pk, _name, tenant_id, provider_id in found:
            if provider_id is None:
                internal |= Q(tenant_id=tenant_id, party_id=pk)
            else:
                providers.add(provider_id)
        # One query: the memberships with their person's name and their role's permissions.
        memberships = (
            Membership.objects.filter(is_active=True, user__is_active=True)
            .filter(internal | Q(provider_id__in=sorted(providers)))
            .values_list(
                "party_id",
                "provider_id",
                "user_id",
                "user__full_name",
                "user__email",
                "role__permissions",
            )
        )
        rows = [
            (party_id, staff_of, user_id, full_name or email)
            for party_id, staff_of, user_id, full_name, email, permissions in memberships
            if "servicedesk.change_ticket" in (permissions or [])
        ]
    groups = []
    for pk, name, tenant_id, provider_id in sorted(found, key=lambda row: row[1]):
        people = sorted(
            {
                (user_id, name)
                for party_id, staff_of, user_id, name in rows
                if (party_id == pk if provider_id is None else staff_of == provider_id)
            },
            key=lambda person: person[1].lower(),
        )
        groups.append((pk, name, tenant_id, people))
    return groups


def canned_reply(principal: Principal, canned_reply_id: int, action: str) -> _Any:
    """One canned reply the principal may ``action`` (view or change); else not found."""
    from tandem.servicedesk.models import CannedReply

    return get_visible_or_404(
        principal, action, CannedReply.objects.select_related("party"), pk=canned_reply_id
    )
