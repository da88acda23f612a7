"""A technician logs a phone call in real Chromium: finds the caller by typing (htmx), or
adds a new one, sets the source, the category and the assignee; the ticket is in the queue
with that requester and source, and the caller sees it in the portal."""

from __future__ import annotations

import pytest

from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_technician_logs_a_phone_ticket_for_a_caller(browser, live_server, world) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    tech = sign_in(browser, base, "tech@acme.test")
    tech.goto(f"{base}/tenants/{world['tenant']}/tickets/")
    tech.get_by_role("link", name="New ticket").click()
    tech.wait_for_url("**/tickets/log/")

    # Typing finds the caller without leaving the page.
    tech.get_by_label("Find the caller").fill("requester@acme")
    caller = tech.get_by_label("Requester · requester@acme.test")
    caller.wait_for()
    caller.check()
    tech.get_by_label("Phone").check()
    tech.get_by_label("Subject").fill("Phone: the VPN drops every hour")
    tech.get_by_label("Service area (category)").select_option(label="Server problem")
    tech.get_by_label("Assignee").select_option(label="Owner (Acme Corp IT)")
    tech.get_by_role("button", name="Log ticket").click()
    tech.wait_for_load_state()
    assert "is logged for Requester (Phone)" in tech.content()
    assert tech.locator("#source").inner_text() == "Phone"

    # The queue lists it with its requester and source.
    tech.goto(f"{base}/tenants/{world['tenant']}/tickets/")
    row = tech.locator("tr", has_text="Phone: the VPN drops every hour")
    assert row.locator(".requester-cell").inner_text() == "Requester"
    assert row.locator(".source-cell").inner_text() == "Phone"

    # A caller who is new: added on the spot, then the missing subject is shown in place.
    tech.goto(f"{base}/tenants/{world['tenant']}/tickets/log/")
    tech.get_by_label("Or a new person: name").fill("Wanda Walkin")
    tech.get_by_label("Their e-mail").fill("wanda@acme.test")
    tech.get_by_label("Walk-in").check()
    tech.get_by_role("button", name="Log ticket").click()
    tech.wait_for_load_state()
    assert "This field is required." in tech.content()
    tech.get_by_label("Subject").fill("Walk-in: new starter needs a laptop")
    tech.get_by_role("button", name="Log ticket").click()
    tech.wait_for_load_state()
    assert "is logged for Wanda Walkin (Walk-in)" in tech.content()

    # The requester sees the phone ticket as their own in the portal.
    requester = sign_in(browser, base, "requester@acme.test")
    requester.goto(f"{base}/portal/")
    assert "Phone: the VPN drops every hour" in requester.content()
