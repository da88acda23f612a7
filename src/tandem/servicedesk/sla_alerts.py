"""The SLA watcher: raises each due warning and breach of a ticket's holder once.

The desk owns tickets and their clocks, so it watches them: a periodic job
(``check_sla_task``, ``config/schedule.py``) recomputes the holder's clock of every open
ticket and, when a warning or breach instant has passed, remembers it (:class:`SlaAlert`)
and records ``sla.warning`` or ``sla.breached`` (``servicedesk.events``) in the same
transaction. Who is told, and how, is the business of the event's subscribers (the
notifications app: the holder's people, the Accountable party, webhooks).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from tandem.core import events
from tandem.core.scoping import system_context, within_tenant
from tandem.servicedesk.desk_config import to_clock_policy
from tandem.servicedesk.events import SlaBreached, SlaWarning
from tandem.servicedesk.models import SlaAlert, Ticket
from tandem.servicedesk.sla_bridge import PartyCalendars, history, party_calendars
from tandem.sla import clock
from tandem.sla.models import SlaPolicy

log = logging.getLogger(__name__)

SLA_METRICS = ("first_response", "resolution")
WARNING, BREACH = "sla_warning", "sla_breach"


def check_sla(*, now: dt.datetime | None = None) -> int:
    """Raise each due SLA warning and breach once, for the holder party.

    For every open ticket with a running clock of its holder, recompute the holder's clock
    as of ``now``; a warning or breach instant that has passed is raised, unless the party
    is outside its service hours (``notify_at``; P1 is around the clock), in which case a
    later run raises it. A breach supersedes a warning not yet raised. Returns how many
    alerts were raised.
    """
    now = now or timezone.now()
    raised = 0
    with system_context("periodic SLA check"):
        candidates = list(
            Ticket.objects.filter(resolved_at__isnull=True, tenant__is_active=True)
            .filter(Q(first_response_due__isnull=False) | Q(resolution_due__isnull=False))
            .values_list("pk", flat=True)
            .order_by("pk")
        )
    for ticket_id in candidates:
        try:
            raised += _check_ticket(ticket_id, now)
        except Exception:  # one broken ticket must not stop the others
            log.exception("SLA check of ticket %s failed", ticket_id)
    return raised


def _check_ticket(ticket_id: int, now: dt.datetime) -> int:
    with system_context("periodic SLA check"):
        ticket = Ticket.objects.select_related("tenant").get(pk=ticket_id)
        row = SlaPolicy.objects.filter(party_id=ticket.party_id, is_active=True).first()
        if row is None or ticket.party_id is None:
            return 0
        policy = to_clock_policy(row)
        calendars = PartyCalendars(party_calendars(ticket.tenant_id, ticket.tenant.time_zone))
        clock_events = history(ticket)
        if not clock_events:
            return 0
        result = clock.compute_clock(
            clock_events, policy=policy, calendars=calendars, now=now, party=ticket.party_id
        )
        done = set(
            SlaAlert.objects.filter(ticket=ticket, party_id=ticket.party_id).values_list(
                "metric", "kind"
            )
        )
    calendar = calendars.get(ticket.party_id)
    priority = f"P{ticket.priority}"
    raised = 0
    for metric in SLA_METRICS:
        mc = getattr(result, metric)
        if mc is None or mc.state not in (clock.ClockState.RUNNING, clock.ClockState.BREACHED):
            continue
        if (metric, BREACH) in done:
            continue
        for kind, instant in ((BREACH, mc.due_at), (WARNING, mc.warn_at)):
            if instant is None or instant > now or (metric, kind) in done:
                continue
            # Raised now at the earliest; never outside the party's hours unless the
            # priority is around the clock (P1): then a later run raises it.
            when = clock.notify_at(policy=policy, calendar=calendar, priority=priority, at=now)
            if when > now:
                break
            if raise_alert(
                ticket=ticket, metric=metric, kind=kind, due_at=instant, target_due=mc.due_at
            ):
                raised += 1
            break  # a breach supersedes the warning
    return raised


def raise_alert(
    *,
    ticket: Ticket,
    metric: str,
    kind: str,
    due_at: dt.datetime,
    target_due: dt.datetime | None = None,
) -> bool:
    """Remember one warning (``due_at`` is when it fell due) or breach (``due_at`` is the
    missed target) of the holder party's ``metric`` and record its event, in one
    transaction; ``target_due`` is the target itself. False if it was raised already (by
    another worker, say)."""
    assert ticket.party_id is not None
    event_class = SlaBreached if kind == BREACH else SlaWarning
    try:
        with transaction.atomic(), within_tenant(ticket.tenant_id):
            SlaAlert.objects.create(
                tenant_id=ticket.tenant_id,
                ticket=ticket,
                party_id=ticket.party_id,
                metric=metric,
                kind=kind,
                due_at=due_at,
            )
            events.record(
                event_class(
                    tenant_id=ticket.tenant_id,
                    ticket_id=ticket.pk,
                    party_id=ticket.party_id,
                    metric=metric,
                    due_at=due_at.isoformat(),
                    target_due_at=(target_due or due_at).isoformat(),
                )
            )
    except IntegrityError:
        return False  # raised already
    return True
