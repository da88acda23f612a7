"""The periodic SLA check: one warning and one breach per ticket, metric and party, only
inside the party's service hours; and the scheduler that runs it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from tests.clock import earlier
from tests.personas import user_of

from tandem.core.models import ScheduledRun
from tandem.core.principal import system_principal
from tandem.core.scheduler import run_due_jobs
from tandem.core.scoping import system_context
from tandem.notifications.models import Notification
from tandem.servicedesk import sla_alerts
from tandem.servicedesk.tickets import services as ticket_services
from tandem.tenancy.models import Tenant

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
# Before the world's own tickets, whose clocks would otherwise raise alerts of their own.
MONDAY = earlier(0, 0, BERLIN, span=2)


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """``day`` 10 is a working Monday in the past and 11 the working Tuesday after it (the
    days of the month these tests were first written for)."""
    return MONDAY + dt.timedelta(days=day - 10, hours=hour, minutes=minute)


def _open_ticket(world, at: dt.datetime):  # type: ignore[no-untyped-def]
    with system_context("test"):
        ticket = ticket_services.create_ticket(
            actor=system_principal("test"),
            tenant=Tenant.objects.get(pk=world["tenant"]),
            requester=user_of(world, "requester"),
            subject="Backup job failed",
            category_id=world["category"],
            site_id=world["site"],
            impact=2,
            urgency=2,
            now=at,
        )
    assert ticket.party_id == world["internal_party"] and ticket.priority == 3
    return ticket


def _alerts(world, persona: str) -> list[str]:  # type: ignore[no-untyped-def]
    with system_context("test"):
        return [
            n.text
            for n in Notification.objects.filter(
                user_id=world[f"user:{persona}"], kind__startswith="sla_"
            ).order_by("pk")
        ]


def test_warning_then_breach_once_each(world) -> None:  # type: ignore[no-untyped-def]
    _open_ticket(world, _at(10, 9))  # P3: first response within 240 office minutes
    assert sla_alerts.check_sla(now=_at(10, 12)) == 0
    assert sla_alerts.check_sla(now=_at(10, 12, 15)) == 1  # 80 % used at 12:12
    (warning,) = _alerts(world, "internal_tech")
    assert warning.startswith("SLA warning: first response of #")
    assert sla_alerts.check_sla(now=_at(10, 12, 30)) == 0  # never twice
    assert sla_alerts.check_sla(now=_at(10, 13, 1)) == 1
    texts = _alerts(world, "internal_tech")
    assert len(texts) == 2 and texts[1].startswith("SLA breached: first response")
    assert sla_alerts.check_sla(now=_at(10, 13, 30)) == 0
    # Internal IT holds it: Northwind's people hear nothing.
    assert _alerts(world, "provider_tech") == []
    assert _alerts(world, "requester") == []


def test_nothing_is_announced_outside_the_partys_hours(world) -> None:  # type: ignore[no-untyped-def]
    _open_ticket(world, _at(10, 13))  # due 17:00 sharp, warning at 16:12
    # The worker was away until the evening: the breach waits for the next opening.
    assert sla_alerts.check_sla(now=_at(10, 20)) == 0
    assert _alerts(world, "internal_tech") == []
    assert sla_alerts.check_sla(now=_at(11, 8, 5)) == 1
    (breach,) = _alerts(world, "internal_tech")
    assert breach.startswith("SLA breached: first response")  # supersedes the late warning
    assert sla_alerts.check_sla(now=_at(11, 9)) == 0


CALLS: list[str] = []


def probe_job() -> None:
    CALLS.append("ran")


def test_the_scheduler_claims_each_due_job_once(world) -> None:  # type: ignore[no-untyped-def]
    CALLS.clear()
    schedule = [("probe", 60, f"{__name__}.probe_job")]
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert run_due_jobs(now=now, schedule=schedule) == ["probe"]
    # A second worker at the same moment finds it claimed.
    assert run_due_jobs(now=now, schedule=schedule) == []
    assert run_due_jobs(now=now + dt.timedelta(seconds=59), schedule=schedule) == []
    assert run_due_jobs(now=now + dt.timedelta(seconds=60), schedule=schedule) == ["probe"]
    assert CALLS == ["ran", "ran"]
    assert ScheduledRun.objects.get(name="probe").last_run_at == now + dt.timedelta(seconds=60)


def test_the_schedule_lists_the_sla_check() -> None:
    from django.utils.module_loading import import_string

    from tandem.core.registry import schedule

    SCHEDULE = schedule()

    names = {name: path for name, _every, path in SCHEDULE}
    assert names["check-sla"] == "tandem.servicedesk.tasks.check_sla_task"
    for _name, every, path in SCHEDULE:
        assert every > 0 and hasattr(import_string(path), "enqueue")
