"""Reads of the dashboards: the rows a principal may see, loaded in a handful of queries
(``values_list``, never one query per ticket), turned into figures by ``metrics``."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from tandem.core.principal import Principal
from tandem.reports import metrics
from tandem.servicedesk.config import queries as config_queries
from tandem.servicedesk.tickets import queries as ticket_queries
from tandem.servicedesk.tickets.models import Handoff, Ticket, TimeEntry
from tandem.tenancy.models import Party, Tenant

#: The window of attainment, breaches and handoffs.
WINDOW_DAYS = 30


@dataclass(frozen=True)
class PartyLine:
    """One party's figures."""

    party_id: int
    name: str
    tenant_id: int
    tenant_name: str
    open: int
    attainment: dict[str, metrics.Attainment]
    breaches: dict[str, int]
    is_own: bool = False


@dataclass(frozen=True)
class HandoffLine:
    from_party_id: int
    from_name: str
    to_party_id: int
    to_name: str
    tenant_name: str
    handoffs: int
    ping_pong: int


@dataclass(frozen=True)
class TimeLine:
    """Time one party logged in the window (work dates), on the tickets in view."""

    party_id: int
    name: str
    tenant_name: str
    minutes: int
    billable_minutes: int
    entries: int


@dataclass(frozen=True)
class Dashboard:
    """Everything a dashboard shows, for the page and the API alike."""

    since: dt.datetime
    until: dt.datetime
    #: Tickets the figures are drawn from: open now, or resolved (or closed) in the window.
    tickets: int
    open: int
    parties: list[PartyLine]
    backlog: list[tuple[str, int]]
    handoffs: list[HandoffLine]
    time: list[TimeLine] = dataclasses.field(default_factory=list)

    @property
    def time_minutes(self) -> int:
        return sum(t.minutes for t in self.time)

    @property
    def ping_pong(self) -> int:
        return sum(h.ping_pong for h in self.handoffs)

    @property
    def handoff_total(self) -> int:
        return sum(h.handoffs for h in self.handoffs)


def tenant_dashboard(
    principal: Principal, tenant: Tenant, *, now: dt.datetime | None = None
) -> Dashboard:
    """The tenant's figures over the tickets the principal may see there."""
    tickets = ticket_queries.tickets(principal).filter(tenant_id=tenant.pk)
    own = {a.party_id for a in principal.accesses_in(tenant.pk) if a.party_id is not None}
    return _dashboard(
        tickets, own_parties=own, time_rule=ticket_queries.visible_time(principal), now=now
    )


def provider_view(principal: Principal, provider_id: int) -> Principal:
    """The principal narrowed to its accesses through ``provider_id``'s engagements, so a
    person who also works elsewhere sees the provider's figures only."""
    accesses = tuple(a for a in principal.tenant_accesses if a.provider_id == provider_id)
    return dataclasses.replace(principal, tenant_accesses=accesses)


def provider_dashboard(
    principal: Principal, provider_id: int, *, now: dt.datetime | None = None
) -> Dashboard:
    """A provider's figures across every tenant that engaged it (active engagements only),
    over the tickets the provider may see in each."""
    narrowed = provider_view(principal, provider_id)
    tenant_ids = sorted(narrowed.tenant_ids)
    tickets = ticket_queries.tickets(narrowed).filter(tenant_id__in=tenant_ids)
    own = {a.party_id for a in narrowed.tenant_accesses if a.party_id is not None}
    return _dashboard(
        tickets, own_parties=own, time_rule=ticket_queries.visible_time(narrowed), now=now
    )


def _dashboard(
    tickets: QuerySet[Ticket], *, own_parties: set[int], time_rule: Q, now: dt.datetime | None
) -> Dashboard:
    until = now or timezone.now()
    since = until - dt.timedelta(days=WINDOW_DAYS)
    # Only tickets open now or resolved in the window can add to any figure: the SLA core
    # ends every clock of a ticket (met or breached) by the time it is resolved, so a ticket
    # resolved before the window has no clock that ended in it, and it is not open work.
    # At a million tickets this reads a busy tenant's 12,000 tickets instead of 61,000.
    in_play = Q(resolved_at__isnull=True) | Q(resolved_at__gte=since)
    raw = list(
        tickets.filter(in_play)
        .order_by()
        .values_list("pk", "tenant_id", "party_id", "status", "created_at", "sla_state")
    )
    tenant_ids = {r[1] for r in raw}
    kinds = {
        tenant_id: {key: kind for key, _name, kind in statuses}
        for tenant_id, statuses in config_queries.workflows(tenant_ids).items()
    }
    rows = [
        metrics.TicketRow(
            ticket_id=pk,
            tenant_id=tenant_id,
            party_id=party_id,
            status_kind=kinds[tenant_id].get(status, "open"),
            created_at=created_at,
            sla_state=sla_state or {},
        )
        for pk, tenant_id, party_id, status, created_at, sla_state in raw
    ]
    handoff_rows = [
        metrics.HandoffRow(from_party_id=f, to_party_id=t, at=at, is_ping_pong=pp)
        for f, t, at, pp in Handoff.objects.filter(
            ticket_id__in=tickets.order_by().values("pk"), at__gte=since, at__lte=until
        ).values_list("from_party_id", "to_party_id", "at", "is_ping_pong")
    ]
    # Time by work date (a day, not a moment), in the window's days; only the entries the
    # principal may read (a provider its own party's), on the tickets in view.
    logged = {
        party_id: (minutes or 0, billable or 0, entries)
        for party_id, minutes, billable, entries in TimeEntry.objects.filter(
            time_rule,
            ticket_id__in=tickets.order_by().values("pk"),
            work_date__gte=since.date(),
            work_date__lte=until.date(),
        )
        .order_by()
        .values("party_id")
        .annotate(
            logged=Sum("minutes"),
            logged_billable=Sum("minutes", filter=Q(billable=True)),
            logged_entries=Count("pk"),
        )
        .values_list("party_id", "logged", "logged_billable", "logged_entries")
    }
    attained = metrics.attainment(rows, since=since, until=until)
    breached = metrics.breaches(rows, since=since, until=until)
    open_work = metrics.open_by_party(rows)
    handoffs = metrics.handoff_stats(handoff_rows, since=since, until=until)

    party_ids = set(attained) | set(breached) | set(open_work) | own_parties
    party_ids |= {p for pair in handoffs for p in pair} | set(logged)
    names = {
        pk: (name, tenant_id)
        for pk, name, tenant_id in Party.objects.filter(pk__in=sorted(party_ids)).values_list(
            "pk", "name", "tenant_id"
        )
    }
    tenant_names = dict(
        Tenant.objects.filter(pk__in=sorted({t for _, t in names.values()})).values_list(
            "pk", "name"
        )
    )
    empty = {m: metrics.Attainment() for m in metrics.ATTAINMENT_METRICS}
    parties = [
        PartyLine(
            party_id=pk,
            name=name,
            tenant_id=tenant_id,
            tenant_name=tenant_names.get(tenant_id, ""),
            open=open_work.get(pk, 0),
            attainment=attained.get(pk, empty),
            breaches=breached.get(pk, {}),
            is_own=pk in own_parties,
        )
        for pk, (name, tenant_id) in names.items()
    ]
    parties.sort(key=lambda p: (not p.is_own, p.tenant_name, p.name))

    def label(pk: int) -> str:
        return names.get(pk, ("Unknown party", 0))[0]

    handoff_lines = sorted(
        (
            HandoffLine(
                from_party_id=f,
                from_name=label(f),
                to_party_id=t,
                to_name=label(t),
                tenant_name=tenant_names.get(names.get(f, ("", 0))[1], ""),
                handoffs=count.handoffs,
                ping_pong=count.ping_pong,
            )
            for (f, t), count in handoffs.items()
        ),
        key=lambda h: (-h.handoffs, h.tenant_name, h.from_name, h.to_name),
    )
    time_lines = sorted(
        (
            TimeLine(
                party_id=pk,
                name=label(pk),
                tenant_name=tenant_names.get(names.get(pk, ("", 0))[1], ""),
                minutes=minutes,
                billable_minutes=billable,
                entries=entries,
            )
            for pk, (minutes, billable, entries) in logged.items()
        ),
        key=lambda t: (-t.minutes, t.tenant_name, t.name),
    )
    return Dashboard(
        since=since,
        until=until,
        tickets=len(rows),
        open=sum(open_work.values()),
        parties=parties,
        backlog=list(metrics.backlog_age_buckets(rows, now=until).items()),
        handoffs=handoff_lines,
        time=time_lines,
    )


def as_json(dashboard: Dashboard) -> dict[str, object]:
    """The figures as plain data for the API (the same numbers the page shows)."""
    return {
        "since": dashboard.since,
        "until": dashboard.until,
        "tickets": dashboard.tickets,
        "open": dashboard.open,
        "parties": [
            {
                "party_id": p.party_id,
                "name": p.name,
                "tenant_id": p.tenant_id,
                "open": p.open,
                "attainment": {
                    metric: {"met": a.met, "breached": a.breached, "percent": a.percent}
                    for metric, a in p.attainment.items()
                },
                "breaches": p.breaches,
            }
            for p in dashboard.parties
        ],
        "backlog": [{"bucket": label, "open": count} for label, count in dashboard.backlog],
        "handoffs": [
            {
                "from_party_id": h.from_party_id,
                "to_party_id": h.to_party_id,
                "handoffs": h.handoffs,
                "ping_pong": h.ping_pong,
            }
            for h in dashboard.handoffs
        ],
        "time": [
            {
                "party_id": t.party_id,
                "minutes": t.minutes,
                "billable_minutes": t.billable_minutes,
                "entries": t.entries,
            }
            for t in dashboard.time
        ],
    }
