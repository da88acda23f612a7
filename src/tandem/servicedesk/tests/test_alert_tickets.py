"""Security alerts at the desk (decision 0037): ``alert.raised`` opens one ticket, routed
by the matrix's security monitoring row to the party covering the hour; ``alert.updated``
adds a note at most every few minutes; resolving the alert can resolve the ticket.

The matrix: security monitoring at Acme is Acme IT's (Responsible, office hours), with
Sentinel consulted and on duty nights and weekends up to P2. Hours come from the tests'
clock helpers (the next working Tuesday, the next Sunday): no calendar date is named."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from tests.clock import upcoming
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.alerts import services as alert_services
from tandem.alerts.events import AlertRaised
from tandem.alerts.models import Alert
from tandem.alerts.tests.support import detection, get, record
from tandem.core.events import retry_now
from tandem.core.models import OutboxEvent
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.responsibility import services as matrix_services
from tandem.servicedesk import desk_config
from tandem.servicedesk.choices import DONE_KINDS
from tandem.servicedesk.tickets import alert_services as desk_alerts
from tandem.servicedesk.tickets.models import Comment, Ticket, TicketDevice
from tandem.tenancy.models import Party, ServiceArea, Tenant

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def _security_row(world) -> int:  # type: ignore[no-untyped-def]
    actor = system_principal("test: the security row")
    with system_context("test: the security row"):
        tenant = Tenant.objects.get(pk=world["tenant"])
        area = ServiceArea.objects.get(tenant=tenant, key="security-monitoring").pk
        sentinel = Party.objects.get(pk=world["second_party"])
    matrix_services.add_matrix_row(
        actor=actor,
        tenant=tenant,
        service_area_id=area,
        responsible_id=world["internal_party"],
        accountable_id=world["internal_party"],
        consulted_ids=[sentinel.pk],
    )
    matrix_services.add_coverage(
        actor=actor,
        tenant=tenant,
        party=sentinel,
        calendar_id=world["nights_calendar"],
        service_area_id=area,
        max_priority=2,
    )
    return area


def _ticket(alert_id: int) -> Ticket:
    alert = get(Alert, alert_id)
    assert alert.ticket_id is not None
    return get(Ticket, alert.ticket_id)


def _raise_at(world, moment: dt.datetime, **values) -> int:  # type: ignore[no-untyped-def]
    with time_machine.travel(moment, tick=False):
        return record(world["tenant"], detection(level="critical", **values)).raised[0]


def test_the_party_covering_the_hour_gets_the_ticket(world) -> None:  # type: ignore[no-untyped-def]
    area = _security_row(world)
    office = _raise_at(world, upcoming(1, 10, BERLIN))  # a working Tuesday, 10:00
    weekend = _raise_at(world, upcoming(6, 12, BERLIN, holidays_in=None), user="alice")
    by_day, on_sunday = _ticket(office), _ticket(weekend)
    assert by_day.party_id == world["internal_party"]
    assert on_sunday.party_id == world["second_party"]
    for ticket in (by_day, on_sunday):
        assert ticket.service_area_id == area
        assert ticket.source == "monitoring"
        assert ticket.priority == 1  # critical
        assert ticket.subject.startswith("Security alert: Failed logon burst on acme-hq-db01")
        # The system's own requester: inactive, so it signs in and is mailed never.
        assert ticket.requester.full_name == "Tandem security monitoring"
        assert not ticket.requester.is_active
    with system_context("test: linked devices"):
        assert list(
            TicketDevice.objects.filter(ticket=by_day).values_list("device_id", flat=True)
        ) == [world["device"]]


def test_one_ticket_per_alert_even_when_the_event_comes_again(world) -> None:  # type: ignore[no-untyped-def]
    alert_id = record(world["tenant"], detection()).raised[0]
    ticket = _ticket(alert_id)
    with system_context("test: the event"):
        row = OutboxEvent.objects.filter(type="alert.raised").latest("id")
    event = AlertRaised(tenant_id=row.tenant_id, **row.payload)
    assert desk_alerts.open_alert_ticket(event) is None
    with system_context("test: tickets"):
        assert Ticket.objects.filter(tenant_id=world["tenant"], source="monitoring").count() == 1
    # More detections update the alert and never open another ticket.
    assert record(world["tenant"], detection()).updated == [alert_id]
    assert _ticket(alert_id).pk == ticket.pk


def _notes(ticket: Ticket) -> list[str]:
    with system_context("test: notes"):
        return list(
            Comment.objects.filter(ticket=ticket).order_by("id").values_list("body", flat=True)
        )


def test_updates_add_a_note_at_most_every_ten_minutes(world) -> None:  # type: ignore[no-untyped-def]
    t0 = timezone.now() - dt.timedelta(hours=1)
    alert_id = record(world["tenant"], detection(at=t0), now=t0).raised[0]
    ticket = _ticket(alert_id)
    for minutes in (2, 5, 9):
        moment = t0 + dt.timedelta(minutes=minutes)
        record(world["tenant"], detection(at=moment), now=moment)
    assert _notes(ticket) == []
    moment = t0 + dt.timedelta(minutes=11)
    record(world["tenant"], detection(at=moment), now=moment)
    notes = _notes(ticket)
    assert len(notes) == 1 and notes[0].startswith("The alert now counts 5 events")


def test_resolving_the_alert_can_resolve_its_ticket(world) -> None:  # type: ignore[no-untyped-def]
    owner = resolve_principal(user_of(world, "owner"))
    kept_open = record(world["tenant"], detection(user="alice")).raised[0]
    closing = record(world["tenant"], detection()).raised[0]
    alert_services.resolve_alert(actor=owner, alert=get(Alert, kept_open), note="Reset.")
    alert_services.resolve_alert(
        actor=owner, alert=get(Alert, closing), note="Blocked the source.", resolve_ticket=True
    )
    with system_context("test: statuses"):
        kinds = desk_config.current(world["tenant"]).status_kinds
    assert kinds[_ticket(kept_open).status] not in DONE_KINDS
    assert kinds[_ticket(closing).status] in DONE_KINDS
    assert "Blocked the source." in _notes(_ticket(closing))[-1]
    assert "marked resolved by" in _notes(_ticket(kept_open))[-1]


def test_the_ticket_is_opened_at_its_own_time_not_backdated_to_the_alert(world, settings) -> None:  # type: ignore[no-untyped-def]
    """Decision 0046: the worker may open the ticket a while after the alert was raised (a
    backlog, the worker restarting); the ticket is created then, and its SLA clocks start
    then, not hours in the past (which showed it breached the moment it appeared)."""
    _security_row(world)
    settings.EVENTS_EAGER = False  # the outbox keeps alert.raised until dispatched below
    raised = upcoming(1, 10, BERLIN)
    alert_id = _raise_at(world, raised)
    assert get(Alert, alert_id).ticket_id is None
    later = raised + dt.timedelta(hours=3)
    with system_context("test: the waiting event"):
        waiting = [e.pk for e in OutboxEvent.objects.filter(type="alert.raised")]
    with time_machine.travel(later, tick=False):
        retry_now(waiting)
    ticket = _ticket(alert_id)
    assert ticket.created_at == later  # the SLA clocks run from the ticket's creation
    assert get(Alert, alert_id).raised_at == raised
