"""The requester portal: open tickets per category, follow, reply, close and rate them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from tests.personas import user_of

from tandem.accounts.models import Role
from tandem.accounts.principals import resolve_principal
from tandem.accounts.services import add_membership, create_user
from tandem.audit.models import AuditEntry
from tandem.core.principal import system_principal
from tandem.core.scoping import principal_scope, system_context
from tandem.servicedesk.choices import Via, Visibility
from tandem.servicedesk.config import services as config_services
from tandem.servicedesk.tickets import note_services as ticket_notes
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import Comment, Ticket
from tandem.tenancy.models import Tenant

pytestmark = pytest.mark.django_db

QUESTIONS = [
    {"name": "os", "label": "Operating system", "type": "choice", "choices": ["Windows", "macOS"]},
    {"name": "machine", "label": "Machine name", "type": "text"},
]


def _category(world) -> int:  # type: ignore[no-untyped-def]
    with system_context("test: a category with questions"):
        tenant = Tenant.objects.get(pk=world["tenant"])
        return config_services.create_category(
            actor=system_principal("test"),
            tenant=tenant,
            name="Laptop problem",
            service_area_id=world["service_area"],
            form_fields=QUESTIONS,
        ).pk


def _ticket(world):  # type: ignore[no-untyped-def]
    with system_context("test: the requester's ticket"):
        return Ticket.objects.get(pk=world["ticket"])


def _audit(action: str) -> int:
    with system_context("test: audit entries"):
        return AuditEntry.objects.filter(action=action).count()


def _set_status(world, status: str) -> None:  # type: ignore[no-untyped-def]
    with system_context("test: IT moves the ticket"):
        ticket_services.change_status(
            actor=system_principal("test"), ticket=_ticket(world), status=status
        )


def test_portal_lists_own_tickets_and_where_to_ask(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("requester")

    page = client.get(reverse("servicedesk:portal"))

    text = page.content.decode()
    assert page.status_code == 200
    assert "Acme file server is slow" in text
    assert reverse("servicedesk:portal-new", args=[world["tenant"]]) in text
    assert reverse("servicedesk:portal-ticket", args=[world["ticket"]]) in text
    # Other people's tickets are not listed.
    assert "Acme suspicious sign-ins" not in text
    # The account navigation offers the portal to requesters.
    assert 'href="/portal/"' in text


def test_the_form_per_category_asks_its_questions(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    category_id = _category(world)
    client = as_persona("requester")
    url = reverse("servicedesk:portal-new", args=[world["tenant"]])

    choose = client.get(url)
    assert "Laptop problem" in choose.content.decode()
    form = client.get(url, {"category": category_id}).content.decode()
    assert '<select name="answer_os"' in form
    assert "Machine name" in form

    with system_context("test: count"):
        before = Ticket.objects.count()
    missing = client.post(
        url,
        {"category": category_id, "subject": "Laptop will not boot", "answer_machine": "LT-042"},
    )
    bad_choice = client.post(
        url,
        {
            "category": category_id,
            "subject": "Laptop will not boot",
            "answer_os": "Amiga",
            "answer_machine": "LT-042",
        },
    )
    with system_context("test: count"):
        assert Ticket.objects.count() == before
    assert missing.status_code == 422
    assert "This field is required." in missing.content.decode()
    assert bad_choice.status_code == 422

    created = client.post(
        url,
        {
            "category": category_id,
            "subject": "Laptop will not boot",
            "description": "Black screen since this morning.",
            "answer_os": "macOS",
            "answer_machine": "LT-042",
        },
    )

    assert created.status_code == 302
    with system_context("test: the new ticket"):
        ticket = Ticket.objects.get(subject="Laptop will not boot")
    assert created["Location"] == reverse("servicedesk:portal-ticket", args=[ticket.pk])
    assert ticket.via == Via.PORTAL
    assert ticket.category_id == category_id
    assert ticket.requester_id == world["user:requester"]
    assert ticket.description == (
        "Black screen since this morning.\n\nOperating system: macOS\nMachine name: LT-042"
    )


def test_an_unknown_category_is_not_found(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    url = reverse("servicedesk:portal-new", args=[world["tenant"]])
    assert as_persona("requester").get(url, {"category": 999999}).status_code == 404


def test_another_requesters_ticket_is_not_found(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    actor = system_principal("test")
    colleague = create_user(actor=actor, email="colleague@acme.test", full_name="Colleague")
    with system_context("test: a second requester"):
        tenant = Tenant.objects.get(pk=world["tenant"])
        add_membership(
            actor=actor, user=colleague, role=Role.objects.get(key="requester"), tenant=tenant
        )
    colleague_actor = resolve_principal(colleague)
    with principal_scope(colleague_actor):
        theirs = ticket_services.create_ticket(
            actor=colleague_actor, tenant=tenant, requester=colleague, subject="Colleague's mouse"
        )
    client = as_persona("requester")

    assert client.get(reverse("servicedesk:portal-ticket", args=[theirs.pk])).status_code == 404
    reply = client.post(reverse("servicedesk:portal-reply", args=[theirs.pk]), {"body": "Hi"})
    assert reply.status_code == 404
    assert "Colleague's mouse" not in client.get(reverse("servicedesk:portal")).content.decode()


def test_the_requester_sees_public_replies_only_and_no_it_detail(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    ticket = _ticket(world)
    with system_context("test: IT notes"):
        it = resolve_principal(user_of(world, "internal_tech"))
        with principal_scope(it):
            ticket_notes.add_comment(actor=it, ticket=ticket, body="Internal only: disk at 99%")
            ticket_notes.add_comment(
                actor=it, ticket=ticket, body="We are on it.", visibility=Visibility.PUBLIC
            )
    text = (
        as_persona("requester")
        .get(reverse("servicedesk:portal-ticket", args=[ticket.pk]))
        .content.decode()
    )

    assert "We are on it." in text
    assert "Internal only" not in text
    assert ticket.routing_reason and ticket.routing_reason not in text
    assert "Acme Corp IT" not in text
    assert "Northwind" not in text


def test_the_requester_replies(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("requester")
    url = reverse("servicedesk:portal-reply", args=[world["ticket"]])

    assert client.post(url, {"body": ""}).status_code == 422
    response = client.post(url, {"body": "It is still slow this morning."})

    assert response.status_code == 302
    with system_context("test: the reply"):
        note = Comment.objects.get(ticket_id=world["ticket"], body="It is still slow this morning.")
    assert note.visibility == Visibility.PUBLIC
    assert note.via == Via.PORTAL
    assert note.party_id is None


def test_the_requester_closes_and_rates_once(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("requester")
    rate = reverse("servicedesk:portal-rate", args=[world["ticket"]])
    close = reverse("servicedesk:portal-close", args=[world["ticket"]])

    too_early = client.post(rate, {"score": 5})
    assert too_early.status_code == 409
    assert "once it is resolved" in too_early.content.decode()

    # Closing asks for a tick (works without JavaScript); without it nothing changes.
    page = client.get(reverse("servicedesk:portal-ticket", args=[world["ticket"]]))
    assert 'name="confirm"' in page.content.decode()
    unconfirmed = client.post(close)
    assert unconfirmed.status_code == 422
    assert "Tick the box to confirm" in unconfirmed.content.decode()
    assert _ticket(world).status != "closed"

    closed = client.post(close, {"confirm": "on"})
    assert closed.status_code == 302
    ticket = _ticket(world)
    assert ticket.status == "closed"
    assert ticket.closed_at is not None and ticket.resolved_at is not None
    assert _audit("servicedesk.close_ticket_by_requester") == 1
    again = client.post(close, {"confirm": "on"})
    assert again.status_code == 409

    rated = client.post(rate, {"score": 4, "comment": "Quick and friendly."})
    assert rated.status_code == 302
    ticket = _ticket(world)
    assert (ticket.satisfaction, ticket.satisfaction_comment) == (4, "Quick and friendly.")
    assert _audit("servicedesk.rate_ticket") == 1

    second = client.post(rate, {"score": 1})
    assert second.status_code == 409
    assert "rated this ticket already" in second.content.decode()
    assert _ticket(world).satisfaction == 4
    page = client.get(reverse("servicedesk:portal-ticket", args=[world["ticket"]]))
    assert "4 of 5 stars" in page.content.decode()


def test_a_resolved_ticket_can_be_rated_then_closed(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    _set_status(world, "resolved")
    client = as_persona("requester")

    assert (
        client.post(
            reverse("servicedesk:portal-rate", args=[world["ticket"]]), {"score": 3}
        ).status_code
        == 302
    )
    assert (
        client.post(
            reverse("servicedesk:portal-close", args=[world["ticket"]]), {"confirm": "on"}
        ).status_code
        == 302
    )
    assert _ticket(world).status == "closed"
    invalid = client.post(reverse("servicedesk:portal-rate", args=[world["ticket"]]), {"score": 9})
    assert invalid.status_code == 422


def test_only_the_requester_may_close_or_rate(world) -> None:  # type: ignore[no-untyped-def]
    from django.core.exceptions import PermissionDenied

    owner = resolve_principal(user_of(world, "owner"))
    with principal_scope(owner):
        ticket = Ticket.objects.get(pk=world["ticket"])
        with pytest.raises(PermissionDenied):
            ticket_notes.close_ticket_by_requester(actor=owner, ticket=ticket)
        with pytest.raises(PermissionDenied):
            ticket_notes.rate_ticket(actor=owner, ticket=ticket, score=5, comment="")


def test_it_people_are_sent_to_the_it_ticket_page(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    url = reverse("servicedesk:portal-ticket", args=[world["ticket"]])
    for persona in ("owner", "internal_tech", "provider_tech"):
        response = as_persona(persona).get(url)
        assert response.status_code == 302, persona
        assert response["Location"] == reverse("servicedesk:ticket", args=[world["ticket"]])
    # An IT person cannot close someone else's ticket through the portal.
    owner = as_persona("owner")
    assert (
        owner.post(reverse("servicedesk:portal-close", args=[world["ticket"]])).status_code == 404
    )


def test_the_portal_list_has_a_query_ceiling(
    as_persona, world, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("requester")
    requester = user_of(world, "requester")
    actor = resolve_principal(requester)
    with principal_scope(actor), system_context("test: more tickets"):
        tenant = Tenant.objects.get(pk=world["tenant"])
        for n in range(5):
            ticket_services.create_ticket(
                actor=actor, tenant=tenant, requester=requester, subject=f"Extra {n}"
            )
    with django_assert_max_num_queries(26):  # +1: the unread bell
        response = client.get(reverse("servicedesk:portal"))
    assert response.status_code == 200
    assert response.content.decode().count("/portal/tickets/") >= 6


# --- A reply to a done ticket is never lost in a closed thread ---------------------------------


def _reopen_notices(ticket_id: int) -> list[tuple[int, str]]:
    from tandem.notifications.models import Notification

    with system_context("test: who was told"):
        return list(
            Notification.objects.filter(ticket_id=ticket_id, kind="reopened").values_list(
                "user_id", "text"
            )
        )


def test_a_reply_to_a_closed_ticket_reopens_it_and_tells_the_holder(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("requester")
    ticket_url = reverse("servicedesk:portal-ticket", args=[world["ticket"]])
    assert (
        client.post(
            reverse("servicedesk:portal-close", args=[world["ticket"]]), {"confirm": "on"}
        ).status_code
        == 302
    )
    assert "A reply reopens this ticket for IT." in client.get(ticket_url).content.decode()

    reply = client.post(
        reverse("servicedesk:portal-reply", args=[world["ticket"]]),
        {"body": "Sorry, it broke again this morning."},
        follow=True,
    )

    assert "The ticket is open again and IT has been told." in reply.content.decode()
    ticket = _ticket(world)
    assert ticket.status == "reopened"
    assert ticket.resolved_at is None and ticket.closed_at is None
    with system_context("test: the reply"):
        assert ticket.comments.filter(body="Sorry, it broke again this morning.").exists()
    told = _reopen_notices(ticket.pk)
    assert told and all(user != world["user:requester"] for user, _text in told)
    assert all("was reopened" in text for _user, text in told)


def test_a_reply_after_the_reopen_window_opens_a_linked_follow_up(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    # Closed 15 days ago: the default reopen window is 14 days.
    with system_context("test: IT closed it two weeks ago"):
        ticket_services.change_status(
            actor=system_principal("test"),
            ticket=_ticket(world),
            status="closed",
            now=timezone.now() - dt.timedelta(days=15),
        )
    closed = _ticket(world)
    client = as_persona("requester")
    page = client.get(reverse("servicedesk:portal-ticket", args=[closed.pk])).content.decode()
    assert "a reply opens a new ticket linked to it" in page
    reply = client.post(
        reverse("servicedesk:portal-reply", args=[closed.pk]),
        {"body": "The same printer jams again."},
        follow=True,
    )

    with system_context("test: the follow-up"):
        follow_up = Ticket.objects.get(follow_up_of=closed)
        assert list(follow_up.comments.values_list("body", flat=True)) == [
            "The same printer jams again."
        ]
        assert not closed.comments.filter(body="The same printer jams again.").exists()
    text = reply.content.decode()
    assert f"your reply opened a new ticket, #{follow_up.number}" in text
    assert f'follows up <a href="{reverse("servicedesk:portal-ticket", args=[closed.pk])}">' in text
    assert follow_up.requester_id == closed.requester_id
    assert follow_up.subject == f"Follow-up to #{closed.number}: {closed.subject}"
    assert follow_up.resolved_at is None
    assert _ticket(world).status == "closed"  # the old thread stays as it was
    told = _reopen_notices(follow_up.pk)
    assert told and all(f"answered #{closed.number}" in text for _user, text in told)


def test_a_reply_by_mail_to_a_resolved_ticket_reopens_it_too(world) -> None:  # type: ignore[no-untyped-def]
    _set_status(world, "resolved")
    requester = resolve_principal(user_of(world, "requester"))
    with principal_scope(requester):
        comment = ticket_notes.add_comment(
            actor=requester,
            ticket=_ticket(world),
            body="Still broken.",
            visibility=Visibility.PUBLIC,
            via=Via.EMAIL,
        )
    assert comment.ticket_id == world["ticket"]
    assert _ticket(world).resolved_at is None
    assert _ticket(world).status == "reopened"


def test_the_reopen_window_is_a_desk_threshold(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = f"/api/v1/tenants/{world['tenant']}/desk-thresholds"
    assert client.get(url).json()["reopen_days"] == 14
    kept = client.put(
        url, {"urgent_priority_max": 2, "ping_pong_minutes": 60}, content_type="application/json"
    )
    assert kept.status_code == 200 and kept.json()["reopen_days"] == 14
    never = client.put(
        url,
        {"urgent_priority_max": 2, "ping_pong_minutes": 60, "reopen_days": 0},
        content_type="application/json",
    )
    assert never.json()["reopen_days"] == 0
    too_long = client.put(
        url,
        {"urgent_priority_max": 2, "ping_pong_minutes": 60, "reopen_days": 400},
        content_type="application/json",
    )
    assert too_long.status_code == 422
    assert client.get(url).json()["reopen_days"] == 0

    # With no window, even a reply right after the resolution opens a follow-up.
    _set_status(world, "resolved")
    requester = resolve_principal(user_of(world, "requester"))
    with principal_scope(requester):
        comment = ticket_notes.add_comment(
            actor=requester, ticket=_ticket(world), body="Not fixed.", visibility=Visibility.PUBLIC
        )
    assert comment.ticket.follow_up_of_id == world["ticket"]
    assert _ticket(world).status == "resolved"
