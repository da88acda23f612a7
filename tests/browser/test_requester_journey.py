"""The requester's journey in real Chromium: sign in and land on the portal, open a ticket,
close it, answer it after closing (which reopens it, and IT is told), then rate it once IT
has resolved it."""

from __future__ import annotations

import pytest

from tandem.core.scoping import system_context
from tandem.notifications.models import Notification
from tandem.servicedesk.tickets.models import Ticket
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SUBJECT = "Shared drive X: is gone"


def _ticket() -> Ticket:
    with system_context("test: the requester's new ticket"):
        return Ticket.objects.get(subject=SUBJECT)


def test_open_close_reopen_by_reply_and_rate(browser, live_server, world) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url

    # Signing in lands on the portal, with only what a requester uses in the menus.
    requester = sign_in(browser, base, "requester@acme.test")
    assert requester.url == f"{base}/portal/"
    sidebar = requester.locator(".sidebar")
    assert sidebar.get_by_role("link", name="Portal").is_visible()
    assert sidebar.get_by_role("link", name="API tokens").count() == 0
    assert sidebar.get_by_role("link", name="Roles").count() == 0

    # Open a ticket.
    requester.goto(f"{base}/portal/{world['tenant']}/new/")
    requester.get_by_role("link", name="Server problem").click()
    requester.get_by_label("Subject").fill(SUBJECT)
    requester.get_by_label("Who is affected?").select_option(label="Just me")
    requester.get_by_label("How urgent is it?").select_option(label="I can work, but badly")
    requester.get_by_role("button", name="Send request").click()
    requester.wait_for_load_state()
    assert requester.get_by_role("heading", name=SUBJECT).is_visible()
    ticket = _ticket()
    ticket_url = f"{base}/portal/tickets/{ticket.pk}/"
    assert requester.url.startswith(ticket_url)

    # Close it (after ticking the confirmation), then find the problem is back.
    requester.get_by_label("Yes, close it").check()
    requester.get_by_role("button", name="Close the ticket").click()
    requester.wait_for_load_state()
    assert requester.get_by_text("The ticket is closed. Thank you.").is_visible()
    assert requester.get_by_text("A reply reopens this ticket for IT.").is_visible()

    requester.locator("#reply-form").get_by_label("Reply").fill("It is gone again this morning.")
    requester.locator("#reply-form").get_by_role("button", name="Send reply").click()
    requester.wait_for_load_state()
    assert requester.get_by_text("The ticket is open again and IT has been told.").is_visible()
    notes = requester.locator(".note-body")
    assert notes.get_by_text("It is gone again this morning.").is_visible()
    reopened = _ticket()
    assert reopened.status == "reopened" and reopened.resolved_at is None
    with system_context("test: who was told"):
        told = set(
            Notification.objects.filter(ticket=reopened, kind="reopened").values_list(
                "user__email", flat=True
            )
        )
    assert told and "requester@acme.test" not in told

    # IT resolves it; the requester rates the resolution, once.
    tech = sign_in(browser, base, "tech@acme.test")
    tech.goto(f"{base}/tickets/{ticket.pk}/")
    tech.locator("#status-form").get_by_label("Status").select_option(label="Resolved")
    tech.locator("#status-form").get_by_role("button", name="Change status").click()
    tech.get_by_text("Status changed to Resolved.").wait_for()

    requester.goto(ticket_url)
    requester.locator("#rating-form").get_by_label("4 stars").check()
    requester.locator("#rating-form").get_by_label("Anything to add?").fill("Quick, thanks.")
    requester.locator("#rating-form").get_by_role("button", name="Send rating").click()
    requester.wait_for_load_state()
    assert requester.get_by_text("Thank you for your rating.").is_visible()
    assert requester.get_by_text("4 of 5 stars.").is_visible()
    assert requester.locator("#rating-form").count() == 0
    assert _ticket().satisfaction == 4
