"""Service-desk ticket pages: a new ticket, the ticket page and its forms, navigation.

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


# --- Shell ----------------------------------------------------------------------------------------


def test_tenant_navigation_links_tickets_and_the_matrix(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = _text(as_persona("owner").get(_url("tickets", world["tenant"])))
    assert f'href="{_url("tickets", world["tenant"])}" aria-current="page">Tickets<' in page
    assert (
        f'href="{reverse("responsibility:matrix", args=[world["tenant"]])}">Responsibility matrix<'
        in page
    )

    page = _text(as_persona("requester").get(_url("tickets", world["tenant"])))
    assert "Responsibility matrix" not in page


def test_desk_pages_carry_no_inline_script_or_style(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    for url in (
        _url("tickets", world["tenant"]),
        QUEUE,
        _url("ticket-create", world["tenant"]),
        _url("ticket", world["ticket"]),
        reverse("responsibility:matrix", args=[world["tenant"]]),
    ):
        html = _text(client.get(url))
        assert " style=" not in html, url
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert "<style" not in html, url
