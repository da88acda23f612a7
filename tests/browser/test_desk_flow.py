"""The co-managed desk end to end in real Chromium, with real SMTP both ways.

A requester opens tickets in the portal: in business hours one goes to Acme's internal IT,
after hours one goes to Northwind, which covers nights. Northwind's technician writes a
private note (internal IT cannot read it) and an IT-shared note (the requester cannot read
it), then a public reply that reaches the requester by e-mail; the requester answers by
e-mail and the answer threads onto the ticket.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import socket
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.db import connection

from tandem.core.scoping import system_context
from tandem.servicedesk.mail import listener as mail_listener
from tandem.servicedesk.tickets.models import Comment, Ticket
from tests.browser.helpers import sign_in
from tests.clock import upcoming

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BERLIN = ZoneInfo("Europe/Berlin")
DOMAIN = "tandem.localhost"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Relay:
    """A real SMTP server standing in for the company's mail relay."""

    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append(BytesParser(policy=policy.default).parsebytes(envelope.content))
        return "250 OK"


@pytest.fixture
def mail(settings, tmp_path):  # type: ignore[no-untyped-def]
    relay = Relay()
    relay_port, desk_port = _free_port(), _free_port()
    settings.MAIL_DOMAIN = DOMAIN
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", relay_port
    relay_server = Controller(relay, hostname="127.0.0.1", port=relay_port)

    def accept(**kwargs: Any) -> int:
        # The listener's thread opens its own database connection; close it after each
        # message so the test database can be dropped at the end of the run.
        try:
            return mail_listener.keep_message(**kwargs)
        finally:
            connection.close()

    desk_server = mail_listener.listener(host="127.0.0.1", port=desk_port, accept=accept)
    relay_server.start()
    desk_server.start()
    yield relay, desk_port
    desk_server.stop()
    relay_server.stop()


def _open_in_portal(browser, base: str, tenant_id: int, subject: str) -> int:  # type: ignore[no-untyped-def]
    page = sign_in(browser, base, "requester@acme.test")
    page.goto(f"{base}/portal/{tenant_id}/new/")
    page.get_by_role("link", name="Server problem").click()
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Who is affected?").select_option(label="A whole site or everyone")
    page.get_by_label("How urgent is it?").select_option(label="I can work, but badly")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_load_state()
    assert page.get_by_text(subject).first.is_visible()
    page.context.close()
    with system_context("test: the new ticket"):
        return Ticket.objects.get(subject=subject).pk


def _add_note(page, base: str, ticket_id: int, body: str, tier: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/tickets/{ticket_id}/")
    page.locator("#note-form").get_by_label("Note").fill(body)
    page.locator("#note-form").get_by_label(tier).check()
    page.locator("#note-form").get_by_role("button", name="Add note").click()
    # The form posts with htmx and the page reloads when it is saved: wait for the note
    # itself, not for a load state the page already had.
    page.locator(".note-body").get_by_text(body).wait_for()


def test_portal_routing_tiers_and_email(browser, live_server, world, mail) -> None:  # type: ignore[no-untyped-def]
    relay, desk_port = mail
    base, tenant_id = live_server.url, world["tenant"]

    # The next working Tuesday: the world's engagements start today, so a past date would
    # find Northwind not yet engaged.
    tuesday_10 = upcoming(1, 10, BERLIN)
    with time_machine.travel(tuesday_10, tick=True):
        daytime = _open_in_portal(browser, base, tenant_id, "Day: file server down")
    with time_machine.travel(tuesday_10 + dt.timedelta(hours=12), tick=True):
        night = _open_in_portal(browser, base, tenant_id, "Night: file server down")

        with system_context("test: where the tickets went"):
            day_ticket, night_ticket = Ticket.objects.get(pk=daytime), Ticket.objects.get(pk=night)
        assert day_ticket.party_id == world["internal_party"]
        assert day_ticket.routing_reason == "Server patching → Acme Corp IT (R); P2"
        assert night_ticket.party_id == world["party"]
        assert night_ticket.routing_reason == (
            "Server patching → Northwind MSP (on duty); Acme Corp IT (R) off duty; P2"
        )

        # Northwind's technician works the night ticket in three tiers.
        msp = sign_in(browser, base, "tech@northwind.test")
        assert msp.goto(f"{base}/tickets/{night}/").status == 200
        assert msp.get_by_text("Northwind MSP (on duty)").first.is_visible()
        _add_note(msp, base, night, "NW private: reboot runbook step 4", "Private to Northwind MSP")
        _add_note(msp, base, night, "NW shared: disk full on srv-01", "IT-shared")

        internal = sign_in(browser, base, "tech@acme.test")
        internal.goto(f"{base}/tickets/{night}/")
        assert internal.get_by_text("NW shared: disk full on srv-01").is_visible()
        assert internal.get_by_text("NW private").count() == 0

        requester = sign_in(browser, base, "requester@acme.test")
        requester.goto(f"{base}/portal/tickets/{night}/")
        assert requester.get_by_role("heading", name="Night: file server down").is_visible()
        assert requester.get_by_text("NW shared").count() == 0
        assert requester.get_by_text("NW private").count() == 0

        # A public reply reaches the requester through the relay.
        _add_note(msp, base, night, "We are freeing space on srv-01 now.", "Public")
        to_requester = [m for m in relay.received if m["To"] == "requester@acme.test"]
        # Each portal ticket was acknowledged to the requester; then the one public reply.
        text = "We are freeing space on srv-01 now."
        replies = [m for m in to_requester if text in m.get_body().get_content()]
        acknowledged = [m for m in to_requester if m not in replies]
        assert sorted(m["Subject"] for m in acknowledged) == [
            f"[acme#{day_ticket.number}] Day: file server down",
            f"[acme#{night_ticket.number}] Night: file server down",
        ]
        assert len(replies) == 1
        reply = replies[0]
        assert reply["Subject"].startswith(f"[acme#{night_ticket.number}]")
        assert "We are freeing space on srv-01 now." in reply.get_body().get_content()

        # The requester answers by e-mail, quoting the reply, into Tandem's own listener.
        answer = EmailMessage()
        answer["From"] = "requester@acme.test"
        answer["To"] = reply["Reply-To"]
        answer["Subject"] = f"Re: {reply['Subject']}"
        answer["In-Reply-To"] = reply["Message-ID"]
        answer["References"] = reply["Message-ID"]
        answer.set_content(
            "Thanks, it works again.\n\nOn Tue, Northwind wrote:\n> We are freeing space\n"
        )
        with smtplib.SMTP("127.0.0.1", desk_port) as smtp:
            smtp.send_message(answer)

        with system_context("test: the threaded answer"):
            threaded = Comment.objects.filter(ticket_id=night, via="email").get()
        assert threaded.body == "Thanks, it works again."
        assert threaded.visibility == "public"
        requester.goto(f"{base}/portal/tickets/{night}/")
        assert requester.get_by_text("Thanks, it works again.").is_visible()
        msp.goto(f"{base}/tickets/{night}/")
        assert msp.get_by_text("Thanks, it works again.").is_visible()
