"""The cached desk configuration never routes on stale data.

Each process caches a tenant's matrix, coverage, policies and engagements keyed on the
tenant's configuration token (servicedesk/desk_config.py). These tests change the
configuration the ways people do and check that the very next ticket follows the change,
including after a change that was rolled back.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from tests.clock import upcoming
from tests.desk.setup import desk_of
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.core.principal import system_principal
from tandem.core.scoping import principal_scope, system_context
from tandem.servicedesk import desk_config
from tandem.servicedesk.config.models import DeskSettings
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import Ticket
from tandem.tenancy.models import Engagement
from tandem.tenancy.services import resume_engagement, suspend_engagement

BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY_22 = upcoming(1, 22, BERLIN)  # after today: the world's engagements start today


def _night_p2(world):  # type: ignore[no-untyped-def]
    """A P2 server ticket opened at 22:00, when only Northwind covers urgent work."""
    desk = desk_of(world)
    requester = user_of(world, "requester")
    actor = resolve_principal(requester)
    with principal_scope(actor):
        return ticket_services.create_ticket(
            actor=actor,
            tenant=desk.tenant,
            requester=requester,
            subject="Database server unreachable",
            category_id=desk.category_id,
            impact=1,
            urgency=2,
            now=TUESDAY_22,
        )


def _suspend_northwind(world) -> None:  # type: ignore[no-untyped-def]
    with system_context("test"):
        engagement = Engagement.objects.get(pk=world["engagement"])
        suspend_engagement(
            actor=system_principal("test"), engagement=engagement, reason="Invoice dispute"
        )


def test_a_suspended_engagement_stops_routing_at_once(world) -> None:  # type: ignore[no-untyped-def]
    desk = desk_of(world)
    assert _night_p2(world).party_id == desk.northwind.pk  # the configuration is now cached

    _suspend_northwind(world)

    ticket = _night_p2(world)
    assert ticket.party_id == desk.internal.pk
    with system_context("test"):
        resume_engagement(
            actor=system_principal("test"),
            engagement=Engagement.objects.get(pk=world["engagement"]),
            reason="Paid",
        )
    assert _night_p2(world).party_id == desk.northwind.pk


def test_a_rolled_back_change_leaves_nothing_cached(world) -> None:  # type: ignore[no-untyped-def]
    desk = desk_of(world)
    assert _night_p2(world).party_id == desk.northwind.pk

    with pytest.raises(RuntimeError), transaction.atomic():
        _suspend_northwind(world)
        # Inside the change's own transaction the new configuration is used and cached...
        assert _night_p2(world).party_id == desk.internal.pk
        raise RuntimeError("the change is abandoned")

    # ...and once it is rolled back, the old one applies again.
    assert _night_p2(world).party_id == desk.northwind.pk


def test_settings_edits_apply_and_never_reuse_numbers(world) -> None:  # type: ignore[no-untyped-def]
    desk = desk_of(world)
    with system_context("test"):
        stale = DeskSettings.objects.get(tenant=desk.tenant)
    first = _night_p2(world)
    second = _night_p2(world)
    assert second.number == first.number + 1

    # An edit saved from an instance read before those tickets were opened: only P1 is
    # urgent now, so a P2 at night waits for internal IT, and numbering carries on.
    stale.urgent_priority_max = 1
    stale.save()

    third = _night_p2(world)
    assert third.number == second.number + 1
    assert third.party_id == desk.internal.pk
    assert "waits for its hours" in third.routing_reason
    with system_context("test"):
        numbers = list(Ticket.objects.filter(tenant=desk.tenant).values_list("number", flat=True))
    assert len(numbers) == len(set(numbers))


def test_the_cache_is_keyed_on_the_token(world) -> None:  # type: ignore[no-untyped-def]
    """What another process would see: a configuration built for an older token is never
    used once the database holds a new one."""
    desk = desk_of(world)
    with system_context("test"):
        before = desk_config.current(desk.tenant.pk)
        desk_config.invalidate(desk.tenant.pk)
        after = desk_config.current(desk.tenant.pk)
    assert after.token != before.token
    assert after is not before
    with system_context("test"):
        assert desk_config.current(desk.tenant.pk) is after  # and then it is reused
