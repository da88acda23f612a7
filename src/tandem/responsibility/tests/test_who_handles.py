"""The app's one question, ``who_handles``, asked as another app would (no routing context
of its own: the desk's registered inputs supply it), and what the matrix's writes leave
behind: a version, an event in the same transaction, the desk's recompute after commit, and
the permissions existing roles keep.

The world (tests/desk/setup.py): server patching at Acme is Acme IT's (Responsible and
Accountable, office hours), Northwind is consulted and on duty nights and weekends for P1-P2.
"""

from __future__ import annotations

import datetime as dt
import importlib
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.utils import timezone

from tandem.accounts.models import Role
from tandem.accounts.tests.factories import RoleFactory
from tandem.core.events import subscribers_of
from tandem.core.models import OutboxEvent
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.responsibility import services
from tandem.responsibility.models import Coverage, MatrixVersion
from tandem.responsibility.queries import who_handles
from tandem.servicedesk import subscribers as desk_subscribers
from tandem.tenancy.models import Tenant

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def _next_sunday_noon() -> dt.datetime:
    """Sunday 12:00 in Berlin, within the coming week: outside office hours, inside nights
    and weekends, whatever today is."""
    today = timezone.now().astimezone(BERLIN).date()
    sunday = today + dt.timedelta(days=(6 - today.weekday()) % 7 or 7)
    return dt.datetime.combine(sunday, dt.time(12), BERLIN)


def test_who_handles_answers_with_the_party_and_its_reason(world) -> None:  # type: ignore[no-untyped-def]
    sunday = _next_sunday_noon()
    with system_context("test: who handles"):
        acme = Tenant.objects.get(pk=world["tenant"])
        routine = who_handles(tenant=acme, area=world["service_area"], priority=4, at=sunday)
        urgent = who_handles(tenant=acme.pk, area=world["service_area"], priority=1, at=sunday)
        nothing = who_handles(
            tenant=acme, area=world["service_area_out_of_scope"], priority=4, at=sunday
        )

    # Off duty and not urgent: Acme IT keeps it and the reason says it waits.
    assert routine.party_id == world["internal_party"]
    assert routine.reason == "Server patching → Acme Corp IT (R); off duty, waits for its hours; P4"
    assert not routine.on_duty
    # Urgent out of hours: the consulted party on duty takes it.
    assert urgent.party_id == world["party"]
    assert urgent.reason.startswith("Server patching → Northwind MSP (on duty); Acme Corp IT (R)")
    # No row for the area: the tenant's triage queue.
    assert nothing.party_id == world["internal_party"]
    assert "(triage: no responsible party)" in nothing.reason


def test_a_coverage_change_is_versioned_and_recorded_as_an_event(world) -> None:  # type: ignore[no-untyped-def]
    actor = system_principal("test: coverage change")
    with system_context("test: coverage change"):
        coverage = Coverage.objects.get(pk=world["coverage"])
        versions = MatrixVersion.objects.filter(tenant_id=world["tenant"]).count()
        services.update_coverage(actor=actor, coverage=coverage, max_priority=2)
        event = OutboxEvent.objects.filter(type="coverage.changed").latest("pk")
        latest = MatrixVersion.objects.filter(tenant_id=world["tenant"]).first()
    assert latest is not None and latest.number == versions + 1
    assert event.tenant_id == world["tenant"]
    assert event.payload["coverage_id"] == world["coverage"]
    assert event.payload["change"] == "changed"
    assert event.payload["version"] == latest.number


def test_a_row_change_is_recorded_as_matrix_changed(world) -> None:  # type: ignore[no-untyped-def]
    actor = system_principal("test: matrix change")
    with system_context("test: matrix change"):
        services.add_matrix_row(
            actor=actor,
            tenant=Tenant.objects.get(pk=world["tenant"]),
            service_area_id=world["service_area_out_of_scope"],
            responsible_id=world["internal_party"],
            accountable_id=world["internal_party"],
        )
        event = OutboxEvent.objects.filter(type="matrix.changed").latest("pk")
    assert event.tenant_id == world["tenant"]
    assert event.payload["summary"].endswith("Acme Corp IT responsible")


def test_the_desk_recomputes_open_tickets_after_a_coverage_change(  # type: ignore[no-untyped-def]
    world, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    names = [s.name for s in subscribers_of("coverage.changed")]
    assert "tandem.servicedesk.subscribers.recompute_after_coverage_change" in names
    queued: list[int] = []

    class _Task:
        @staticmethod
        def enqueue(tenant_id: int) -> None:
            queued.append(tenant_id)

    monkeypatch.setattr(desk_subscribers, "recompute_tenant_sla_task", _Task)
    actor = system_principal("test: coverage removed")
    with system_context("test"), django_capture_on_commit_callbacks(execute=True):
        services.remove_coverage(actor=actor, coverage=Coverage.objects.get(pk=world["coverage"]))
        assert queued == []  # not before the commit
    assert queued == [world["tenant"]]


def test_roles_that_read_or_changed_the_matrix_keep_doing_so(world) -> None:  # type: ignore[no-untyped-def]
    # The built-in roles hold the new names (synced from the app's declaration).
    with system_context("test: built-in roles"):
        owner = Role.objects.get(key="tenant-owner")
        tech = Role.objects.get(key="internal-technician")
    assert {"responsibility.view_matrix", "responsibility.change_matrix"} <= set(owner.permissions)
    assert "responsibility.view_matrix" in tech.permissions
    assert "responsibility.change_matrix" not in tech.permissions
    # A role made by hand gains them from the migration, and keeps the desk's.
    migration = importlib.import_module("tandem.responsibility.migrations.0002_matrix_permissions")
    with system_context("test: a custom role"):
        role = RoleFactory(permissions=["servicedesk.view_matrix", "servicedesk.change_matrix"])
        migration.grant_matrix_permissions(apps, None)
        role.refresh_from_db()
        assert role.permissions == [
            "servicedesk.view_matrix",
            "servicedesk.change_matrix",
            "responsibility.view_matrix",
            "responsibility.change_matrix",
        ]
        migration.grant_matrix_permissions(apps, None)  # twice: nothing more
        role.refresh_from_db()
        assert len(role.permissions) == 4
        migration.take_them_back(apps, None)
        role.refresh_from_db()
        assert role.permissions == ["servicedesk.view_matrix", "servicedesk.change_matrix"]
