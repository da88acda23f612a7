"""Mail to the requester: an acknowledgement with the reference and the portal link however
a ticket was opened, and a resolution mail with the rating link when IT resolves it, threaded
like every other notification of the ticket."""

from __future__ import annotations

import pytest
from django.core import mail as django_mail
from django.urls import reverse
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.core.scoping import principal_scope, system_context
from tandem.servicedesk.mail import inbound as mail_inbound
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import Ticket
from tandem.tenancy.models import Tenant

pytestmark = pytest.mark.django_db
SITE = "https://desk.example.com"
DOMAIN = "desk.example.com"


@pytest.fixture(autouse=True)
def mail_settings(settings):  # type: ignore[no-untyped-def]
    settings.SITE_URL = SITE
    settings.MAIL_DOMAIN = DOMAIN
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return settings


def _to_requester() -> list[django_mail.EmailMessage]:
    return [m for m in django_mail.outbox if m.to == ["requester@acme.test"]]


def _portal(ticket: Ticket) -> str:
    return SITE + reverse("servicedesk:portal-ticket", args=[ticket.pk])


def _newest(world) -> Ticket:  # type: ignore[no-untyped-def]
    with system_context("test: the new ticket"):
        return Ticket.objects.filter(tenant_id=world["tenant"]).latest("created_at", "id")


def _assert_acknowledged(ticket: Ticket, subject: str) -> django_mail.EmailMessage:
    [ack] = _to_requester()
    assert ack.subject == f"[acme#{ticket.number}] {subject}"
    assert f'opened [acme#{ticket.number}] "{subject}"' in ack.body
    assert f"Follow it online: {_portal(ticket)}" in ack.body
    assert ack.reply_to == [f"acme+{ticket.number}@{DOMAIN}"]
    assert ack.extra_headers["Auto-Submitted"] == "auto-generated"
    return ack


def test_a_ticket_opened_in_the_portal_is_acknowledged(  # type: ignore[no-untyped-def]
    world, as_persona, django_capture_on_commit_callbacks
) -> None:
    client = as_persona("requester")
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            reverse("servicedesk:portal-new", args=[world["tenant"]]),
            {
                "category": world["category"],
                "subject": "Scanner offline",
                "impact": 3,
                "urgency": 3,
            },
        )
    assert created.status_code == 302, created.content.decode()[:500]
    _assert_acknowledged(_newest(world), "Scanner offline")


def test_a_ticket_a_technician_logs_for_someone_is_acknowledged_to_them(  # type: ignore[no-untyped-def]
    world, django_capture_on_commit_callbacks
) -> None:
    tech = resolve_principal(user_of(world, "internal_tech"))
    with system_context("test"):
        tenant = Tenant.objects.get(pk=world["tenant"])
    with django_capture_on_commit_callbacks(execute=True), principal_scope(tech):
        ticket = ticket_services.create_ticket(
            actor=tech,
            tenant=tenant,
            requester=user_of(world, "requester"),
            subject="Phone call: VPN drops",
        )
    _assert_acknowledged(ticket, "Phone call: VPN drops")
    # The technician, who logged it, gets nothing.
    assert [m.to for m in django_mail.outbox] == [["requester@acme.test"]]


def test_a_ticket_opened_by_mail_is_acknowledged_once(  # type: ignore[no-untyped-def]
    world, django_capture_on_commit_callbacks
) -> None:
    raw = (
        "From: requester@acme.test\r\n"
        f"To: acme@{DOMAIN}\r\n"
        "Subject: Monitor flickers\r\n"
        "Message-ID: <flicker-1@acme.test>\r\n"
        "\r\n"
        "Since Monday.\r\n"
    ).encode()
    with django_capture_on_commit_callbacks(execute=True):
        kept = mail_inbound.receive_message(
            envelope_from="requester@acme.test", recipients=[f"acme@{DOMAIN}"], raw=raw
        )
    with system_context("test"):
        kept.refresh_from_db()
    assert kept.status == "processed", kept.reason
    _assert_acknowledged(_newest(world), "Monitor flickers")


def test_resolving_mails_the_requester_the_rating_link_in_the_same_thread(  # type: ignore[no-untyped-def]
    world, as_persona, django_capture_on_commit_callbacks
) -> None:
    tech = resolve_principal(user_of(world, "internal_tech"))
    with system_context("test"):
        tenant = Tenant.objects.get(pk=world["tenant"])
    with django_capture_on_commit_callbacks(execute=True), principal_scope(tech):
        ticket = ticket_services.create_ticket(
            actor=tech, tenant=tenant, requester=user_of(world, "requester"), subject="No sound"
        )
    ack = _assert_acknowledged(ticket, "No sound")
    django_mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True), principal_scope(tech):
        ticket_services.change_status(actor=tech, ticket=ticket, status="resolved")
    [resolved] = _to_requester()
    assert resolved.subject == f"[acme#{ticket.number}] Resolved: No sound"
    rating_link = f"{_portal(ticket)}#rating"
    assert f"Rate the resolution (1 to 5 stars, once): {rating_link}" in resolved.body
    # Threaded under the acknowledgement, like every mail of the ticket.
    assert resolved.extra_headers["In-Reply-To"] == ack.extra_headers["Message-ID"]
    assert ack.extra_headers["Message-ID"] in resolved.extra_headers["References"]
    # The link leads to the rating form on the requester's page.
    page = as_persona("requester").get(reverse("servicedesk:portal-ticket", args=[ticket.pk]))
    assert 'id="rating"' in page.content.decode() and "Send rating" in page.content.decode()

    # Reopened and resolved again: told again. A status change within the open ones: not.
    django_mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), principal_scope(tech):
        ticket_services.change_status(actor=tech, ticket=ticket, status="in-progress")
        assert _to_requester() == []
        ticket_services.change_status(actor=tech, ticket=ticket, status="closed")
    assert len(_to_requester()) == 1


def test_a_requester_who_closes_their_own_ticket_gets_no_resolution_mail(  # type: ignore[no-untyped-def]
    world, as_persona, django_capture_on_commit_callbacks
) -> None:
    client = as_persona("requester")
    django_mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("servicedesk:portal-close", args=[world["ticket"]]), {"confirm": "on"})
    with system_context("test"):
        assert Ticket.objects.get(pk=world["ticket"]).closed_at is not None
    assert _to_requester() == []
