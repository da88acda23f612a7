"""Merging a ticket into another from the ticket page, in real Chromium: the number, the
confirmation that shows both subjects, then the merged ticket pointing at the other."""

from __future__ import annotations

import pytest

from tandem.core.scoping import system_context
from tandem.servicedesk.tickets.models import Ticket
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_owner_merges_a_ticket_after_confirming(browser, live_server, world) -> None:  # type: ignore[no-untyped-def]
    with system_context("browser test: ticket numbers"):
        source = Ticket.objects.get(pk=world["ticket"])
        target = Ticket.objects.get(pk=world["sentinel_ticket"])
    base = live_server.url
    owner = sign_in(browser, base, "owner@acme.test")
    owner.goto(f"{base}/tickets/{source.pk}/")

    owner.get_by_label("Merge into ticket #").fill(str(target.number))
    owner.get_by_role("button", name="Merge…").click()
    owner.wait_for_load_state()
    confirm = owner.locator("#merge-confirm")
    assert confirm.get_by_text(f"Merge #{source.number} into #{target.number}?").is_visible()
    assert confirm.get_by_text("Acme file server is slow").is_visible()
    assert confirm.get_by_text("Acme suspicious sign-ins").is_visible()

    owner.get_by_role("button", name=f"Merge into #{target.number}").click()
    owner.wait_for_load_state()
    assert owner.url.endswith(f"/tickets/{source.pk}/")
    merged = owner.locator("#merged")
    assert merged.get_by_text("This ticket is merged into").is_visible()
    merged.get_by_role("link", name=f"#{target.number} Acme suspicious sign-ins").click()
    owner.wait_for_load_state()
    assert owner.url.endswith(f"/tickets/{target.pk}/")
    assert (
        owner.locator("#links")
        .get_by_role("link", name=f"#{source.number} Acme file server is slow")
        .is_visible()
    )
