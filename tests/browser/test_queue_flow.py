"""The one queue in real Chromium: a filter refreshes the results in place (htmx), the
checkboxes in the refreshed table still belong to the bulk form below it, and the bulk
change lands back on the same filtered queue."""

from __future__ import annotations

import pytest

from tandem.core.scoping import system_context
from tandem.servicedesk.tickets.models import Ticket
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_technician_filters_the_queue_and_changes_a_ticket_in_bulk(  # type: ignore[no-untyped-def]
    browser, live_server, world
) -> None:
    with system_context("browser test: the ticket"):
        ticket = Ticket.objects.get(pk=world["ticket"])
    base = live_server.url
    tech = sign_in(browser, base, "tech@acme.test")
    tech.goto(f"{base}/queue/")
    results = tech.locator("#ticket-results")
    assert results.get_by_role("link", name="Acme file server is slow").is_visible()

    # Filtering swaps the results only: the page (and its URL) stay, the rows change.
    def htmx_results(response) -> bool:  # type: ignore[no-untyped-def]
        return "/queue/?" in response.url and bool(response.request.headers.get("hx-request"))

    with tech.expect_response(htmx_results):
        tech.get_by_label("Search").fill("file server")
        tech.get_by_label("Search").press("Enter")
    tech.wait_for_url("**/queue/?*file*")  # the filtered address is pushed to the history
    assert results.get_by_role("link", name="Acme file server is slow").is_visible()
    assert results.get_by_role("link", name="Acme suspicious sign-ins").count() == 0

    # Check the ticket in the refreshed table and move it on, from the form below.
    tech.get_by_label(f"Select #{ticket.number}").check()
    bulk = tech.locator("#bulk-form")
    bulk.locator("select[name=action]").select_option("status")
    bulk.locator("select[name=status]").select_option("in-progress")
    bulk.get_by_role("button", name="Apply").click()
    tech.wait_for_load_state()
    assert tech.get_by_text("Changed 1 tickets.").is_visible()
    assert "q=file+server" in tech.url  # back on the same filtered queue
    with system_context("browser test: the ticket after"):
        assert Ticket.objects.get(pk=ticket.pk).status == "in-progress"


def test_a_ticket_checked_while_the_search_applies_stays_checked(  # type: ignore[no-untyped-def]
    browser, live_server, world
) -> None:
    """Typing a search and going straight to a checkbox applies the search as the box is
    left: the results are replaced while the ticket is being checked, and it must stay
    checked in the new rows."""
    with system_context("browser test: the ticket"):
        ticket = Ticket.objects.get(pk=world["ticket"])
    base = live_server.url
    tech = sign_in(browser, base, "tech@acme.test")
    tech.goto(f"{base}/queue/")
    tech.get_by_label("Search").fill("file server")

    def htmx_results(response) -> bool:  # type: ignore[no-untyped-def]
        return "/queue/?" in response.url and bool(response.request.headers.get("hx-request"))

    with tech.expect_response(htmx_results):
        tech.get_by_label(f"Select #{ticket.number}").check()  # leaving the box: "change"
    tech.wait_for_url("**/queue/?*file*")
    assert tech.get_by_label(f"Select #{ticket.number}").is_checked()
    assert (
        tech.locator("#ticket-results").get_by_role("link", name="Acme suspicious sign-ins").count()
        == 0
    )
