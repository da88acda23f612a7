"""Routing, three-tier notes, handoffs and per-party SLA clocks through the services."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from tests.clock import upcoming
from tests.desk.setup import desk_of
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.principal import system_principal
from tandem.core.scoping import principal_scope, system_context
from tandem.responsibility import services as matrix_services
from tandem.servicedesk.config import sla_services as config_sla
from tandem.servicedesk.tickets import note_services as ticket_notes
from tandem.servicedesk.tickets import queries as ticket_queries
from tandem.servicedesk.tickets import services as ticket_services

BERLIN = ZoneInfo("Europe/Berlin")
# A working Tuesday after today: the world's engagements start today (tests/clock.py).
TUESDAY_10 = upcoming(1, 10, BERLIN)
TUESDAY_22 = TUESDAY_10 + dt.timedelta(hours=12)


def _ticket(world, desk, at, impact=2, urgency=2):  # type: ignore[no-untyped-def]
    requester = user_of(world, "requester")
    actor = resolve_principal(requester)
    with principal_scope(actor):
        return ticket_services.create_ticket(
            actor=actor,
            tenant=desk.tenant,
            requester=requester,
            subject="Server down",
            category_id=desk.category_id,
            impact=impact,
            urgency=urgency,
            now=at,
        )


def test_business_hours_route_to_internal_it(world) -> None:  # type: ignore[no-untyped-def]
    desk = desk_of(world)
    ticket = _ticket(world, desk, TUESDAY_10)
    assert ticket.party_id == desk.internal.pk
    assert ticket.routing_reason.startswith("Server patching → Acme Corp IT (R)")


def test_urgent_after_hours_route_to_the_night_cover(world) -> None:  # type: ignore[no-untyped-def]
    desk = desk_of(world)
    ticket = _ticket(world, desk, TUESDAY_22, impact=1, urgency=2)  # P2
    assert ticket.priority == 2
    assert ticket.party_id == desk.northwind.pk
    assert ticket.routing_reason == (
        "Server patching → Northwind MSP (on duty); Acme Corp IT (R) off duty; P2"
    )


def test_non_urgent_after_hours_wait_for_internal_it(world) -> None:  # type: ignore[no-untyped-def]
    desk = desk_of(world)
    ticket = _ticket(world, desk, TUESDAY_22, impact=3, urgency=2)  # P4
    assert ticket.party_id == desk.internal.pk
    assert "waits for its hours" in ticket.routing_reason


def test_ticket_numbers_count_per_tenant(world) -> None:  # type: ignore[no-untyped-def]
    desk = desk_of(world)
    first, second = _ticket(world, desk, TUESDAY_10), _ticket(world, desk, TUESDAY_10)
    assert second.number == first.number + 1


def test_three_tiers_of_notes(world) -> None:  # type: ignore[no-untyped-def]
    desk = desk_of(world)
    ticket = _ticket(world, desk, TUESDAY_22, impact=1, urgency=2)  # held by Northwind
    msp = resolve_principal(user_of(world, "provider_tech"))
    with principal_scope(msp):
        ticket_notes.add_comment(
            actor=msp,
            ticket=ticket,
            body="Our runbook says reboot",
            visibility="private",
            now=TUESDAY_22,
        )
        ticket_notes.add_comment(
            actor=msp,
            ticket=ticket,
            body="Disk full on srv-01",
            visibility="shared",
            now=TUESDAY_22,
        )
        ticket_notes.add_comment(
            actor=msp, ticket=ticket, body="We are on it", visibility="public", now=TUESDAY_22
        )

    def bodies(persona: str) -> list[str]:
        principal = resolve_principal(user_of(world, persona))
        with principal_scope(principal):
            return [c.body for c in ticket_queries.comments(principal, ticket)]

    everything = ["Our runbook says reboot", "Disk full on srv-01", "We are on it"]
    assert bodies("provider_tech") == everything
    assert bodies("internal_tech") == ["Disk full on srv-01", "We are on it"]
    assert bodies("requester") == ["We are on it"]


def test_second_provider_never_sees_the_ticket_or_its_notes(world) -> None:  # type: ignore[no-untyped-def]
    desk = desk_of(world)
    ticket = _ticket(world, desk, TUESDAY_22, impact=1, urgency=2)
    sentinel = resolve_principal(user_of(world, "second_provider_tech"))
    with principal_scope(sentinel):
        assert not ticket_queries.tickets(sentinel).filter(pk=ticket.pk).exists()


def test_a_public_reply_stops_the_first_response_clock(world) -> None:  # type: ignore[no-untyped-def]
    desk = desk_of(world)
    ticket = _ticket(world, desk, TUESDAY_10)
    assert ticket.first_response_due is not None
    tech = resolve_principal(user_of(world, "internal_tech"))
    with principal_scope(tech):
        ticket_notes.add_comment(
            actor=tech,
            ticket=ticket,
            body="Looking now",
            visibility="public",
            now=TUESDAY_10 + dt.timedelta(minutes=20),
        )
    ticket.refresh_from_db()
    state = ticket.sla_state[str(desk.internal.pk)]["first_response"]
    assert state["state"] == "met" and state["elapsed"] == 20 * 60


def test_a_party_meets_its_first_response_by_its_own_answer_only(world) -> None:  # type: ignore[no-untyped-def]
    """Internal IT answers, then hands the ticket to Northwind: Northwind has not answered
    yet, so its first response still runs; its own public reply meets it. A public reply by
    internal IT while Northwind holds the ticket does not meet Northwind's either."""
    desk = desk_of(world)
    ticket = _ticket(world, desk, TUESDAY_10, impact=1, urgency=2)  # P2, internal IT
    tech = resolve_principal(user_of(world, "internal_tech"))
    msp = resolve_principal(user_of(world, "provider_tech"))
    at = TUESDAY_10
    with principal_scope(tech):
        ticket_notes.add_comment(
            actor=tech, ticket=ticket, body="Looking now", visibility="public", now=at
        )
        ticket_services.handoff_ticket(
            actor=tech,
            ticket=ticket,
            to_party=desk.northwind,
            reason="Server patching is yours",
            now=at + dt.timedelta(minutes=10),
        )
        ticket_notes.add_comment(
            actor=tech,
            ticket=ticket,
            body="Northwind will call you",
            visibility="public",
            now=at + dt.timedelta(minutes=20),
        )
    ticket.refresh_from_db()
    internal = ticket.sla_state[str(desk.internal.pk)]["first_response"]
    northwind = ticket.sla_state[str(desk.northwind.pk)]["first_response"]
    assert internal["state"] == "met"
    assert northwind["state"] == "running" and northwind["met"] is None

    with principal_scope(msp):
        ticket_notes.add_comment(
            actor=msp,
            ticket=ticket,
            body="Patching srv-01 now",
            visibility="public",
            now=at + dt.timedelta(minutes=40),
        )
    ticket.refresh_from_db()
    northwind = ticket.sla_state[str(desk.northwind.pk)]["first_response"]
    assert northwind["state"] == "met"
    met = dt.datetime.fromisoformat(northwind["met"])
    assert met == at + dt.timedelta(minutes=40)  # by its own answer, not internal IT's


def test_requesters_only_write_public_replies(world) -> None:  # type: ignore[no-untyped-def]
    desk = desk_of(world)
    ticket = _ticket(world, desk, TUESDAY_10)
    requester = resolve_principal(user_of(world, "requester"))
    with principal_scope(requester), pytest.raises(InvalidInput):
        ticket_notes.add_comment(actor=requester, ticket=ticket, body="psst", visibility="shared")


def test_handoff_charges_time_to_the_holder_and_counts_ping_pong(world) -> None:  # type: ignore[no-untyped-def]
    desk = desk_of(world)
    ticket = _ticket(world, desk, TUESDAY_10, impact=1, urgency=2)  # P2, internal IT
    tech = resolve_principal(user_of(world, "internal_tech"))
    msp = resolve_principal(user_of(world, "provider_tech"))
    with principal_scope(tech):
        first = ticket_services.handoff_ticket(
            actor=tech,
            ticket=ticket,
            to_party=desk.northwind,
            reason="Needs server access",
            now=TUESDAY_10 + dt.timedelta(minutes=30),
        )
    with principal_scope(msp):
        back = ticket_services.handoff_ticket(
            actor=msp,
            ticket=ticket,
            to_party=desk.internal,
            reason="Application issue, not the server",
            now=TUESDAY_10 + dt.timedelta(minutes=90),
        )
    assert (first.is_ping_pong, back.is_ping_pong) == (False, True)
    ticket.refresh_from_db()
    internal = ticket.sla_state[str(desk.internal.pk)]["resolution"]
    # Internal IT held it 10:00-10:30 and again from 11:30; "now" is 11:30 for the clock.
    assert internal["elapsed"] == 30 * 60
    # Northwind's calendar is closed on a Tuesday morning: its hour costs it nothing.
    assert ticket.sla_state[str(desk.northwind.pk)]["resolution"]["elapsed"] == 0


def test_a_provider_cannot_take_work_outside_its_engagement(world) -> None:  # type: ignore[no-untyped-def]
    desk = desk_of(world)
    ticket = _ticket(world, desk, TUESDAY_10)
    tech = resolve_principal(user_of(world, "internal_tech"))
    with system_context("test"):
        from tandem.tenancy.models import Party

        sentinel = Party.objects.get(pk=world["second_party"])
    with principal_scope(tech), pytest.raises(InvalidInput) as error:
        ticket_services.handoff_ticket(
            actor=tech, ticket=ticket, to_party=sentinel, reason="Try them"
        )
    assert "not engaged" in error.value.message


def test_handoff_to_the_current_holder_is_a_conflict(world) -> None:  # type: ignore[no-untyped-def]
    desk = desk_of(world)
    ticket = _ticket(world, desk, TUESDAY_10)
    tech = resolve_principal(user_of(world, "internal_tech"))
    with principal_scope(tech), pytest.raises(Conflict):
        ticket_services.handoff_ticket(
            actor=tech, ticket=ticket, to_party=desk.internal, reason="x"
        )


def test_priority_change_reroutes_and_recomputes(world) -> None:  # type: ignore[no-untyped-def]
    desk = desk_of(world)
    ticket = _ticket(world, desk, TUESDAY_22, impact=3, urgency=2)  # P4 waits for internal
    tech = resolve_principal(user_of(world, "internal_tech"))
    with principal_scope(tech):
        ticket_services.reprioritise_ticket(actor=tech, ticket=ticket, impact=1, now=TUESDAY_22)
    ticket.refresh_from_db()
    assert ticket.priority == 2 and ticket.party_id == desk.northwind.pk


def test_resolve_and_reopen(world) -> None:  # type: ignore[no-untyped-def]
    desk = desk_of(world)
    ticket = _ticket(world, desk, TUESDAY_10)
    tech = resolve_principal(user_of(world, "internal_tech"))
    with principal_scope(tech):
        ticket_services.change_status(
            actor=tech, ticket=ticket, status="resolved", now=TUESDAY_10 + dt.timedelta(hours=1)
        )
        ticket.refresh_from_db()
        assert ticket.sla_state[str(desk.internal.pk)]["resolution"]["state"] == "met"
        ticket_services.change_status(
            actor=tech, ticket=ticket, status="reopened", now=TUESDAY_10 + dt.timedelta(hours=2)
        )
    ticket.refresh_from_db()
    resolution = ticket.sla_state[str(desk.internal.pk)]["resolution"]
    assert resolution["state"] == "running" and resolution["elapsed"] == 3600


def test_reopening_a_closed_ticket_makes_it_open_again_everywhere(world) -> None:  # type: ignore[no-untyped-def]
    """Closed, then reopened: neither resolved nor closed any more, so the queues' open
    filter and the clock jobs (which skip closed tickets) both see it again."""
    desk = desk_of(world)
    ticket = _ticket(world, desk, TUESDAY_10)
    tech = resolve_principal(user_of(world, "internal_tech"))
    with principal_scope(tech):
        for hours, status in ((1, "resolved"), (2, "closed"), (3, "reopened")):
            ticket_services.change_status(
                actor=tech,
                ticket=ticket,
                status=status,
                now=TUESDAY_10 + dt.timedelta(hours=hours),
            )
            ticket.refresh_from_db()
            if status == "closed":
                assert ticket.closed_at == TUESDAY_10 + dt.timedelta(hours=2)
    assert ticket.resolved_at is None and ticket.closed_at is None


def test_gap_analysis_of_the_stored_matrix(world) -> None:  # type: ignore[no-untyped-def]
    from tandem.responsibility.routing import analyse

    desk = desk_of(world)
    import dataclasses

    with system_context("test"):
        context = ticket_services.routing_context(desk.tenant.pk, area_ids=[world["service_area"]])
    # Without Northwind's night cover, nobody takes urgent server tickets at night.
    context = dataclasses.replace(
        context, coverage=[c for c in context.coverage if c.party_id != desk.northwind.pk]
    )
    monday = upcoming(0, 0, BERLIN, span=2)  # a working Monday and Tuesday
    findings = analyse(context, area_ids=[world["service_area"]], week_start=monday)
    p1 = [f for f in findings if f.kind == "uncovered" and f.priority == 1]
    assert p1 and "Mon 17:00–Tue 08:00" in p1[0].message


def test_a_new_sla_policy_recomputes_open_tickets(
    world, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    from tandem.servicedesk.tickets.models import Ticket
    from tandem.tenancy.models import Party

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    desk = desk_of(world)
    with system_context("test"):
        sentinel = Party.objects.get(pk=world["second_party"])
        before = Ticket.objects.get(pk=world["sentinel_ticket"]).sla_state
    assert str(sentinel.pk) not in before  # Sentinel has no SLA policy yet
    with django_capture_on_commit_callbacks(execute=True), system_context("test"):
        config_sla.create_sla_policy(
            actor=system_principal("test"),
            tenant=desk.tenant,
            name="Sentinel SLA",
            party=sentinel,
            calendar_id=desk.nights_id,
            targets={"1": {"first_response": 15, "resolution": 240}},
        )
    with system_context("test"):
        after = Ticket.objects.get(pk=world["sentinel_ticket"]).sla_state
    assert after[str(sentinel.pk)]["first_response"]["target"] == 15 * 60


@pytest.mark.django_db(transaction=True)
def test_a_status_change_and_a_workflow_edit_wait_for_each_other(world) -> None:  # type: ignore[no-untyped-def]
    """A status change decides "resolved or not" by the kind of the new status; an edit of
    the workflow must not change that kind meanwhile. While a status change's transaction
    is open, the edit waits for it (and it would wait for the edit)."""
    import threading

    from django.db import connection, connections, transaction

    from tandem.servicedesk.choices import DEFAULT_STATUSES
    from tandem.servicedesk.config import services as config_services

    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite runs one writing transaction at a time)")
    desk = desk_of(world)
    owner = resolve_principal(user_of(world, "owner"))
    holding, release, edited = threading.Event(), threading.Event(), threading.Event()

    def status_change() -> None:
        try:
            with transaction.atomic():
                ticket_services._hold_workflow(desk.tenant.pk)
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    def workflow_edit() -> None:
        try:
            workflow = [list(s) for s in DEFAULT_STATUSES] + [["parked", "Parked", "waiting"]]
            with principal_scope(owner):
                config_services.set_statuses(actor=owner, tenant=desk.tenant, statuses=workflow)
            edited.set()
        finally:
            connections.close_all()

    changer = threading.Thread(target=status_change)
    changer.start()
    assert holding.wait(10)
    editor = threading.Thread(target=workflow_edit)
    editor.start()
    assert not edited.wait(0.5)  # the edit waits ...
    release.set()
    changer.join(10)
    editor.join(10)
    assert edited.is_set()  # ... and goes through once the status change has committed


def test_the_matrix_refuses_a_party_whose_engagement_ended(world) -> None:  # type: ignore[no-untyped-def]
    from tandem.responsibility.models import ResponsibilityRow
    from tandem.tenancy.models import Engagement
    from tandem.tenancy.services import end_engagement

    desk = desk_of(world)
    actor = system_principal("test")
    with system_context("test"):
        end_engagement(
            actor=actor,
            engagement=Engagement.objects.get(pk=world["engagement"]),
            reason="Contract over",
        )
        rows_before = ResponsibilityRow.objects.filter(tenant=desk.tenant).count()
        with pytest.raises(InvalidInput) as refused:
            matrix_services.add_matrix_row(
                actor=actor,
                tenant=desk.tenant,
                service_area_id=world["service_area"],
                responsible_id=desk.internal.pk,
                accountable_id=desk.internal.pk,
                consulted_ids=[desk.northwind.pk],
            )
        assert refused.value.field_errors == {
            "consulted_ids": [
                "Northwind MSP's engagement has ended: name a party with a live engagement."
            ]
        }
        assert ResponsibilityRow.objects.filter(tenant=desk.tenant).count() == rows_before
