"""In-app notifications: who is told about a handoff, an assignment and a public reply, and
what they see in the API and on the page."""

from __future__ import annotations

import pytest
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.core.scoping import principal_scope, system_context
from tandem.notifications.models import Notification
from tandem.servicedesk.tickets import note_services as ticket_notes
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import Ticket
from tandem.tenancy.models import Party

pytestmark = pytest.mark.django_db


def _as(world, persona):  # type: ignore[no-untyped-def]
    return resolve_principal(user_of(world, persona))


def _ticket(world, name="ticket"):  # type: ignore[no-untyped-def]
    with system_context("test"):
        return Ticket.objects.select_related("tenant").get(pk=world[name])


def _inbox(world, persona):  # type: ignore[no-untyped-def]
    with system_context("test"):
        return list(
            Notification.objects.filter(
                user_id=world[f"user:{persona}"], ticket_id=world["ticket"]
            ).values_list("kind", "text")
        )


def test_a_handoff_tells_the_receiving_partys_people(world) -> None:  # type: ignore[no-untyped-def]
    actor = _as(world, "internal_tech")
    with system_context("test"):
        northwind = Party.objects.get(pk=world["party"])
    with principal_scope(actor):
        ticket_services.handoff_ticket(
            actor=actor, ticket=_ticket(world), to_party=northwind, reason="Needs a patch run"
        )
    for persona in ("provider_tech", "provider_admin"):
        ((kind, text),) = _inbox(world, persona)
        assert kind == "handoff"
        assert "Acme file server is slow" in text and "Needs a patch run" in text
    # Nobody outside Northwind hears of it, nor the one who handed it over.
    for persona in ("internal_tech", "owner", "second_provider_tech", "out_of_scope_tech"):
        assert _inbox(world, persona) == []


def test_assignment_and_public_reply(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    with principal_scope(owner):
        ticket_services.assign_ticket(
            actor=owner, ticket=_ticket(world), assignee=user_of(world, "internal_tech")
        )
    assert [k for k, _ in _inbox(world, "internal_tech")] == ["assigned"]

    requester = _as(world, "requester")
    with principal_scope(requester):
        ticket_notes.add_comment(
            actor=requester, ticket=_ticket(world), body="Still slow today", visibility="public"
        )
    kinds = sorted(k for k, _ in _inbox(world, "internal_tech"))
    assert kinds == ["assigned", "public_reply"]
    # The requester watches the ticket but is no IT person; the author is never told.
    assert _inbox(world, "requester") == []

    # A private note tells nobody.
    tech = _as(world, "internal_tech")
    with principal_scope(tech):
        ticket_notes.add_comment(actor=tech, ticket=_ticket(world), body="checking disks")
    assert len(_inbox(world, "internal_tech")) == 2

    client = as_persona("internal_tech")
    listed = client.get("/api/v1/notifications?unread=true").json()
    assert listed["count"] == 2
    first = listed["items"][0]
    assert first["ticket_id"] == world["ticket"] and first["read_at"] is None
    answer = client.post(f"/api/v1/notifications/{first['id']}/read")
    assert answer.status_code == 200 and answer.json()["read_at"] is not None
    assert client.get("/api/v1/notifications?unread=true").json()["count"] == 1
    assert client.get("/api/v1/notifications").json()["count"] == 2

    # Somebody else's notification does not exist for you.
    other = as_persona("owner")
    assert other.post(f"/api/v1/notifications/{first['id']}/read").status_code == 404
    assert other.get("/api/v1/notifications").json()["count"] == 0


def test_the_page_lists_and_marks_read(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    owner = _as(world, "owner")
    with principal_scope(owner):
        ticket_services.assign_ticket(
            actor=owner, ticket=_ticket(world), assignee=user_of(world, "internal_tech")
        )
    client = as_persona("internal_tech")
    page = client.get("/notifications/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Acme file server is slow was assigned to you" in text and "1 unread" in text
    with system_context("test"):
        pk = Notification.objects.get(user_id=world["user:internal_tech"]).pk
    assert client.post(f"/notifications/{pk}/read/").status_code == 302
    assert "Nothing unread" in client.get("/notifications/").content.decode()
    # Another person's notification is 404, and stays unread.
    assert (
        as_persona("owner").post(f"/notifications/{world['notification']}/read/").status_code == 404
    )
    with system_context("test"):
        assert Notification.objects.get(pk=world["notification"]).read_at is None
