"""Service-desk pages: the queues, a new ticket, the ticket page and its forms, the matrix.

The world (tests/personas.py) holds Acme's desk and three tickets: ``ticket`` (Acme, server
patching at HQ, from the requester, held by Acme Corp IT, inside Northwind's scope),
``sentinel_ticket`` (Acme, held by Sentinel MSSP) and ``other_ticket`` (Globex).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

ACME_TICKET = "Acme file server is slow"
SENTINEL_TICKET = "Acme suspicious sign-ins"
GLOBEX_TICKET = "Globex printer jam"


def _url(name: str, *args: int) -> str:
    return reverse(f"servicedesk:{name}", args=args)


QUEUE = reverse("servicedesk_queues:queue")


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()  # type: ignore[no-any-return]


def _holder(page: str) -> str:
    return re.search(r'id="holder">([^<]+)<', page).group(1)  # type: ignore[union-attr]


# --- A new ticket -------------------------------------------------------------------------------


def test_requester_opens_a_ticket_through_the_form_and_lands_on_it(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("requester")
    url = _url("ticket-create", world["tenant"])
    form = _text(client.get(url))
    assert "Server problem" in form  # the tenant's categories
    assert ">High</option>" in form  # impact and urgency from the tenant's priority matrix
    assert "Acme HQ site" not in form  # requesters do not see the tenant's sites

    rejected = client.post(url, {"subject": " ", "impact": "1", "urgency": "1"})
    assert rejected.status_code == 422
    assert "This field is required." in _text(rejected)

    response = client.post(
        url,
        {
            "subject": "Laptop will not boot",
            "description": "Black screen since this morning.",
            "category_id": world["category"],
            "impact": "3",
            "urgency": "2",
        },
        follow=True,
    )

    page = _text(response)
    assert response.redirect_chain[-1][0].startswith("/tickets/")
    assert "Laptop will not boot" in page
    assert "Black screen since this morning." in page
    assert "is open. IT will answer you on this page." in page
    assert "handled by IT" in page
    # No internal detail: not who holds it, nor why it went there.
    assert "Why it went there" not in page
    assert "Acme Corp IT" not in page
    assert "Server patching" not in page


def test_a_technician_sees_where_a_new_ticket_went_and_why(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("internal_tech")
    response = client.post(
        _url("ticket-create", world["tenant"]),
        {
            "subject": "Backup job failed",
            "category_id": world["category"],
            "site_id": world["site"],
            "impact": "2",
            "urgency": "2",
        },
        follow=True,
    )

    page = _text(response)
    assert "went to Acme Corp IT: Server patching → Acme Corp IT (R)" in page
    assert "Why it went there" in page
    assert _holder(page) == "Acme Corp IT"
    sla = re.search(r'id="sla".*?</section>', page, re.S).group(0)  # type: ignore[union-attr]
    assert 'Acme Corp IT <span class="muted small">holds it now</span>' in sla
    assert "First response" in sla and "Running" in sla


# --- The ticket page ----------------------------------------------------------------------------


def test_requester_sees_public_replies_but_not_internal_notes(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    ticket = world["ticket"]
    notes = _url("ticket-comment", ticket)

    client = as_persona("internal_tech")
    for body, tier in (
        ("Disk at 95 percent on the file server", "shared"),
        ("Acme only: the vendor contract lapsed", "private"),
    ):
        assert client.post(notes, {"body": body, "visibility": tier}).status_code == 302
    handoff = {"to_party_id": world["party"], "reason": "Northwind patches this server"}
    assert client.post(_url("ticket-handoff", ticket), handoff).status_code == 302

    client = as_persona("provider_tech")
    for body, tier in (
        ("Northwind only: runbook step 4", "private"),
        ("We will restart the file server tonight at 22:00", "public"),
    ):
        assert client.post(notes, {"body": body, "visibility": tier}).status_code == 302
    northwind_page = _text(client.get(_url("ticket", ticket)))
    assert "Disk at 95 percent on the file server" in northwind_page  # IT-shared, involved
    assert "Northwind only: runbook step 4" in northwind_page
    assert "Private to Northwind MSP" in northwind_page  # the tier badge
    assert "Acme only: the vendor contract lapsed" not in northwind_page

    client = as_persona("requester")
    reply = client.post(notes, {"body": "Thanks, tonight is fine", "visibility": "private"})
    assert reply.status_code == 302  # a requester's reply is public whatever is posted
    page = _text(client.get(_url("ticket", ticket)))

    assert "We will restart the file server tonight at 22:00" in page
    assert "Thanks, tonight is fine" in page
    assert "Disk at 95 percent on the file server" not in page
    assert "Acme only: the vendor contract lapsed" not in page
    assert "Northwind only: runbook step 4" not in page
    assert "Northwind" not in page and "Acme Corp IT" not in page  # "IT", never a party
    assert "Northwind patches this server" not in page  # nor the handoff or routing reason
    assert "tech@northwind.test" not in page
    assert "Send reply" in page
    assert 'name="visibility"' not in page

    client = as_persona("internal_tech")
    page = _text(client.get(_url("ticket", ticket)))
    assert "Acme only: the vendor contract lapsed" in page
    assert "Northwind only: runbook step 4" not in page  # Northwind's private note
    assert "Thanks, tonight is fine" in page


def test_internal_tech_hands_off_with_a_reason_and_sees_the_new_holder(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("internal_tech")
    url = _url("ticket-handoff", world["ticket"])

    without_reason = client.post(url, {"to_party_id": world["party"], "reason": ""})
    assert without_reason.status_code == 422
    assert "This field is required." in _text(without_reason)
    assert _holder(_text(without_reason)) == "Acme Corp IT"

    response = client.post(
        url,
        {"to_party_id": world["party"], "reason": "Needs a patch only Northwind can apply"},
        follow=True,
    )

    page = _text(response)
    assert "Handed off to Northwind MSP." in page
    assert _holder(page) == "Northwind MSP"
    assert "Needs a patch only Northwind can apply" in page  # handoffs table and reason
    assert "Handed off" in page  # the history

    # Now Northwind works it, and finds it in "held by my parties" of its queue.
    client = as_persona("provider_tech")
    queue = _text(client.get(QUEUE, {"scope": "my_parties"}))
    assert ACME_TICKET in queue
    assert GLOBEX_TICKET not in queue


def test_the_handoff_form_offers_the_tenants_other_parties(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = _text(as_persona("internal_tech").get(_url("ticket", world["ticket"])))
    handoff = re.search(r'id="handoff-form".*?</form>', page, re.S).group(0)  # type: ignore[union-attr]

    assert "Northwind MSP" in handoff
    assert "Sentinel MSSP" in handoff
    assert "Acme Corp IT" not in handoff  # the holder
    assert "Lapsed Co" not in handoff  # suspended engagement


def test_technicians_work_a_ticket_through_its_forms(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    ticket = world["ticket"]
    client = as_persona("internal_tech")

    page = _text(client.post(_url("ticket-status", ticket), {"status": "in-progress"}, follow=True))
    assert "Status changed to In progress." in page

    page = _text(
        client.post(_url("ticket-priority", ticket), {"impact": "3", "urgency": "3"}, follow=True)
    )
    assert "Priority is now P5" in page

    assignee = world["user:internal_tech"]
    page = _text(client.post(_url("ticket-assign", ticket), {"assignee_id": assignee}, follow=True))
    assert "Assigned to Internal Tech." in page
    again = client.post(_url("ticket-assign", ticket), {"assignee_id": assignee})
    assert again.status_code == 409
    assert "Internal Tech is assigned already." in _text(again)

    work_date = (timezone.localdate() - dt.timedelta(days=3)).isoformat()  # not in the future
    time = {"minutes": "45", "work_date": work_date, "billable": "on", "note": "Log review"}
    page = _text(client.post(_url("ticket-time", ticket), time, follow=True))
    assert "45m logged." in page
    assert "Log review" in page

    same = client.post(_url("ticket-status", ticket), {"status": "in-progress"})
    assert same.status_code == 409
    assert "already in-progress" in _text(same)
    too_long = client.post(_url("ticket-time", ticket), {**time, "minutes": "5000"})
    assert too_long.status_code == 422


def test_a_provider_follows_a_ticket_it_does_not_hold_without_working_it(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("provider_tech")
    page = _text(client.get(_url("ticket", world["ticket"])))

    assert ACME_TICKET in page
    assert "Acme Corp IT holds this ticket" in page
    assert 'id="status-form"' not in page
    assert 'id="note-form"' not in page
    refused = client.post(_url("ticket-status", world["ticket"]), {"status": "closed"})
    assert refused.status_code == 403


def test_another_tenants_owner_gets_404_on_the_ticket_page(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("other_tenant_owner")

    assert client.get(_url("ticket", world["ticket"])).status_code == 404
    note = {"body": "Hello", "visibility": "public"}
    assert client.post(_url("ticket-comment", world["ticket"]), note).status_code == 404
    assert client.get(_url("tickets", world["tenant"])).status_code == 404
    assert GLOBEX_TICKET in _text(client.get(_url("ticket", world["other_ticket"])))


def test_out_of_scope_providers_get_404_on_the_ticket(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    for persona in ("out_of_scope_tech", "second_provider_tech", "suspended_provider_tech"):
        client = as_persona(persona)
        assert client.get(_url("ticket", world["ticket"])).status_code == 404, persona


# --- Queues -------------------------------------------------------------------------------------


def test_provider_techs_queue_spans_its_tenants_within_its_scope(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = _text(as_persona("provider_tech").get(QUEUE))

    assert ACME_TICKET in page  # Acme, inside Northwind's engagement scope
    assert GLOBEX_TICKET in page  # Globex engages Northwind for its whole tier-1 desk
    assert SENTINEL_TICKET not in page  # Sentinel's, outside Northwind's scope
    assert ">Acme Corp</a>" in page and ">Globex Industries</a>" in page  # the tenant column

    mine = _text(as_persona("provider_tech").get(QUEUE, {"scope": "mine"}))
    assert ACME_TICKET not in mine
    assert "No tickets match these filters." in mine


def test_the_old_cross_tenant_queue_address_opens_the_queue_with_its_filters(  # type: ignore[no-untyped-def]
    as_persona, world
) -> None:
    client = as_persona("provider_tech")
    moved = client.get(_url("my-queue"), {"mine": "on", "open_only": "on", "q": "slow"})
    assert moved.status_code == 302
    assert moved["Location"] == f"{QUEUE}?q=slow&scope=mine&status=is%3Aopen"
    assert client.get(_url("my-queue"))["Location"] == QUEUE
    page = _text(client.get(_url("my-queue"), {"my_parties": "on"}, follow=True))
    assert '<option value="my_parties" selected>' in page


def test_tenant_queue_filters_and_sorts(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = _url("tickets", world["tenant"])

    page = _text(client.get(url))
    assert ACME_TICKET in page and SENTINEL_TICKET in page
    assert GLOBEX_TICKET not in page
    assert "Held by" in page and "Resolution due" in page

    held = _text(client.get(url, {"party": world["second_party"]}))
    assert SENTINEL_TICKET in held and ACME_TICKET not in held
    searched = _text(client.get(url, {"q": "file server"}))
    assert ACME_TICKET in searched and SENTINEL_TICKET not in searched

    by_priority = _text(client.get(url, {"sort": "priority"}))
    assert by_priority.index(SENTINEL_TICKET) < by_priority.index(ACME_TICKET)  # P1 first
    assert 'aria-sort="ascending"' in by_priority

    partial = client.get(url, {"q": "file server"}, HTTP_HX_REQUEST="true")
    assert _text(partial).lstrip().startswith('<div id="ticket-results">')


def test_requester_queue_shows_own_tickets_without_internal_columns(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = _text(as_persona("requester").get(_url("tickets", world["tenant"])))

    assert ACME_TICKET in page
    assert SENTINEL_TICKET not in page  # the owner's ticket
    assert "Held by" not in page and "Resolution due" not in page
    assert "Acme Corp IT" not in page
    assert "New ticket" in page


def test_the_queue_needs_a_fixed_number_of_queries(  # type: ignore[no-untyped-def]
    as_persona, world, django_assert_max_num_queries
) -> None:
    client = as_persona("owner")
    url = _url("tickets", world["tenant"])
    client.get(url)  # warm the session
    # 21: +1 for the unread bell in the top bar (one COUNT per page).
    with django_assert_max_num_queries(21):
        client.get(url)
    with django_assert_max_num_queries(21):
        client.get(QUEUE)


# --- The responsibility matrix ------------------------------------------------------------------


def test_matrix_lists_rows_coverage_and_findings_for_the_owner(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = _url("matrix", world["tenant"])

    page = _text(client.get(url))
    assert "Server patching" in page
    assert "Office hours" in page and "Nights and weekends" in page  # coverage
    assert "Backup: no responsible party" in page  # a gap
    assert "Add a row" in page

    overlap = {
        "service_area_id": world["service_area"],
        "responsible_id": world["party"],
        "accountable_id": world["internal_party"],
    }
    page = _text(client.post(_url("matrix-row-create", world["tenant"]), overlap, follow=True))
    assert "Server patching: Northwind MSP is now responsible." in page
    assert "Server patching: two responsible parties, Acme Corp IT and Northwind MSP" in page

    rejected = client.post(
        _url("matrix-row-create", world["tenant"]),
        {**overlap, "service_area_id": world["service_area_out_of_scope"]},
    )
    assert rejected.status_code == 422
    assert "engagement does not cover Identity" in _text(rejected)

    remove = _url("matrix-row-remove", world["tenant"], world["matrix_row"])
    page = _text(client.post(remove, follow=True))
    assert "is removed" in page
    assert "two responsible parties" not in page


def test_matrix_is_read_only_for_technicians_and_hidden_from_requesters(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    url = _url("matrix", world["tenant"])
    page = _text(as_persona("internal_tech").get(url))
    assert "Server patching" in page
    assert "Add a row" not in page and "Remove" not in page
    remove = _url("matrix-row-remove", world["tenant"], world["matrix_row"])
    assert as_persona("internal_tech").post(remove).status_code == 404
    assert as_persona("requester").get(url).status_code == 404
    assert as_persona("other_tenant_owner").get(url).status_code == 404
    other_row = _url("matrix-row-remove", world["other_tenant"], world["matrix_row"])
    assert as_persona("other_tenant_owner").post(other_row).status_code == 404


def test_a_provider_sees_the_matrix_of_its_own_service_areas(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = _text(as_persona("second_provider_tech").get(_url("matrix", world["tenant"])))

    assert "Security monitoring: no responsible party" in page
    assert "Backup: no responsible party" not in page  # not Sentinel's area
    assert "No rows yet" in page  # the server patching row is outside its scope


# --- Shell ----------------------------------------------------------------------------------------


def test_tenant_navigation_links_tickets_and_the_matrix(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = _text(as_persona("owner").get(_url("tickets", world["tenant"])))
    assert f'href="{_url("tickets", world["tenant"])}" aria-current="page">Tickets<' in page
    assert f'href="{_url("matrix", world["tenant"])}">Responsibility matrix<' in page

    page = _text(as_persona("requester").get(_url("tickets", world["tenant"])))
    assert "Responsibility matrix" not in page


def test_desk_pages_carry_no_inline_script_or_style(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    for url in (
        _url("tickets", world["tenant"]),
        QUEUE,
        _url("ticket-create", world["tenant"]),
        _url("ticket", world["ticket"]),
        _url("matrix", world["tenant"]),
    ):
        html = _text(client.get(url))
        assert " style=" not in html, url
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert "<style" not in html, url
