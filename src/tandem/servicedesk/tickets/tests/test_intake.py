"""A technician logs a ticket for a caller: the "New ticket" page for IT, the API, and the
service's rules (who may pick whom, the provider's scope, requesters added on the spot).

The world (tests/personas.py): Acme's internal IT is Responsible for server patching (the
world's ``category``, "Server problem"); Northwind is engaged for server patching and
backup at the HQ site with ``tickets.work``; Sentinel and Narrow IT may not work tickets.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from tandem.accounts.models import Membership, User
from tandem.audit.models import AuditEntry
from tandem.core.scoping import system_context
from tandem.servicedesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _log_url(world) -> str:  # type: ignore[no-untyped-def]
    return reverse("servicedesk:ticket-log", args=[world["tenant"]])


def _ticket(subject: str) -> Ticket:
    with system_context("test: the ticket just logged"):
        return Ticket.objects.select_related("requester", "party", "assignee").get(subject=subject)


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()  # type: ignore[no-any-return]


def test_a_technician_finds_the_caller_and_logs_a_phone_ticket_assigned_to_a_colleague(
    world,
    as_persona,  # type: ignore[no-untyped-def]
) -> None:
    client = as_persona("internal_tech")
    # The tenant's queue offers the IT form as its "New ticket".
    queue = _text(client.get(reverse("servicedesk:tickets", args=[world["tenant"]])))
    assert f'href="{_log_url(world)}">New ticket<' in queue

    # Without script: the search is a GET that lists the tenant's matching people.
    found = _text(client.get(_log_url(world), {"caller_q": "requester@"}))
    assert "Requester · requester@acme.test" in found
    assert "owner@globex.test" not in _text(client.get(_log_url(world), {"caller_q": "owner"}))
    # With htmx, only the list is sent back.
    partial = client.get(
        _log_url(world),
        {"caller_q": "Requ"},
        headers={"HX-Request": "true", "HX-Target": "caller-choices"},
    )
    assert _text(partial).lstrip().startswith('<div id="caller-choices">')
    assert "requester@acme.test" in _text(partial)

    response = client.post(
        _log_url(world),
        {
            "requester_id": world["user:requester"],
            "source": "phone",
            "subject": "Caller's file share is gone",
            "category_id": world["category"],
            "impact": "3",
            "urgency": "3",
            "assignee_id": world["user:owner"],
        },
        follow=True,
    )
    page = _text(response)
    assert "is logged for Requester (Phone) and went to Acme Corp IT" in page
    ticket = _ticket("Caller's file share is gone")
    assert (ticket.requester.email, ticket.source, ticket.via) == (
        "requester@acme.test",
        "phone",
        "web",
    )
    assert ticket.assignee_id == world["user:owner"]
    # Routing still explains itself: the matrix's reason, and who chose the assignee.
    assert "Server patching → Acme Corp IT (R)" in ticket.routing_reason
    assert "Acme Corp IT, assigned to Owner" in ticket.routing_reason
    assert "chosen by tech@acme.test" in ticket.routing_reason
    assert '<dd id="source">Phone</dd>' in page

    # The requester sees it as their own, in the portal.
    portal = _text(as_persona("requester").get(reverse("servicedesk:portal")))
    assert "Caller&#x27;s file share is gone" in portal


def test_a_new_caller_is_added_as_a_requester_and_can_follow_the_ticket(
    world,
    as_persona,  # type: ignore[no-untyped-def]
) -> None:
    client = as_persona("internal_tech")
    response = client.post(
        _log_url(world),
        {
            "new_requester_name": "Walter Walkin",
            "new_requester_email": "Walter@Acme.test",
            "source": "walk-in",
            "subject": "Badge does not open the door",
            "impact": "3",
            "urgency": "3",
        },
    )
    assert response.status_code == 302
    ticket = _ticket("Badge does not open the door")
    assert (ticket.requester.full_name, ticket.requester.email) == (
        "Walter Walkin",
        "walter@acme.test",
    )
    assert ticket.source == "walk-in"
    with system_context("test: the new membership"):
        membership = Membership.objects.get(user=ticket.requester, tenant_id=world["tenant"])
        audit = AuditEntry.objects.filter(action="accounts.add_membership").latest("pk")
    assert membership.role.key == "requester" and membership.party_id is None
    assert audit.actor_label == "tech@acme.test (logging a call)"
    # Logged again for the same address: the same person, no second membership.
    client.post(
        _log_url(world),
        {
            "new_requester_name": "W. Walkin",
            "new_requester_email": "walter@acme.test",
            "source": "chat",
            "subject": "Badge again",
            "impact": "3",
            "urgency": "3",
        },
    )
    assert _ticket("Badge again").requester_id == ticket.requester_id
    with system_context("test: memberships"):
        assert Membership.objects.filter(user=ticket.requester).count() == 1
    # Walter, signed in, sees both tickets in his portal.
    client.logout()
    client.force_login(User.objects.get(email="walter@acme.test"))
    portal = _text(client.get(reverse("servicedesk:portal")))
    assert "Badge does not open the door" in portal and "Badge again" in portal


def test_the_form_says_what_is_missing_and_writes_nothing(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("internal_tech")
    with system_context("test: count"):
        before = Ticket.objects.count()
    no_caller = client.post(
        _log_url(world), {"source": "phone", "subject": "Who?", "impact": "3", "urgency": "3"}
    )
    assert no_caller.status_code == 422
    assert "Pick the caller, or enter their name and e-mail." in _text(no_caller)
    # An assignee who cannot take the ticket (the auditor changes nothing), and one of
    # another tenant: both refused in words, on the field.
    for person in ("auditor", "other_tenant_owner"):
        refused = client.post(
            _log_url(world),
            {
                "requester_id": world["user:requester"],
                "source": "phone",
                "subject": "Refused",
                "category_id": world["category"],
                "impact": "3",
                "urgency": "3",
                "assignee_id": world[f"user:{person}"],
            },
        )
        assert refused.status_code == 422
        assert "cannot take this ticket" in _text(refused) or "Select a valid choice" in _text(
            refused
        )
    # Someone of another tenant is not a caller of this one.
    stranger = client.post(
        _log_url(world),
        {
            "requester_id": world["user:other_tenant_owner"],
            "source": "phone",
            "subject": "Stranger",
            "impact": "3",
            "urgency": "3",
        },
    )
    assert stranger.status_code == 422
    assert "Not one of this tenant&#x27;s people." in _text(stranger)
    with system_context("test: count"):
        assert Ticket.objects.count() == before


def test_the_assignee_list_offers_only_people_who_may_take_tickets(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    page = _text(as_persona("internal_tech").get(_log_url(world)))
    assignees = page.split('name="assignee_id"')[1].split("</select>")[0]
    assert "Owner (Acme Corp IT)" in assignees
    assert "Provider Tech (Northwind MSP)" in assignees
    assert "Auditor" not in assignees  # in Acme's IT, but changes no ticket
    assert "Requester" not in assignees


def test_a_provider_logs_inside_its_engagement_only(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("provider_tech")
    page = _text(client.get(_log_url(world)))
    # Its own party and people only: the tenant's IT is not Northwind's to assign.
    assert "Owner (Acme Corp IT)" not in page
    assert "Provider Tech (Northwind MSP)" in page
    outside = client.post(
        _log_url(world),
        {
            "requester_id": world["user:requester"],
            "source": "phone",
            "subject": "Branch server down",
            "category_id": world["category"],
            "site_id": world["site_out_of_scope"],
            "impact": "2",
            "urgency": "2",
        },
    )
    # The Branch site is not even offered to Northwind (its engagement names HQ only).
    assert outside.status_code == 422
    inside = client.post(
        _log_url(world),
        {
            "requester_id": world["user:requester"],
            "source": "phone",
            "subject": "HQ server down",
            "category_id": world["category"],
            "site_id": world["site"],
            "impact": "2",
            "urgency": "2",
            "party_id": world["party"],
            "assignee_id": world["user:provider_tech"],
        },
    )
    assert inside.status_code == 302
    ticket = _ticket("HQ server down")
    assert ticket.party_id == world["party"] and ticket.assignee_id == world["user:provider_tech"]
    assert "Northwind MSP, assigned to Provider Tech" in ticket.routing_reason
    assert "chosen by tech@northwind.test" in ticket.routing_reason
    # Sentinel's engagement does not let it work tickets: no such page.
    assert as_persona("second_provider_tech").get(_log_url(world)).status_code == 404
    assert as_persona("requester").get(_log_url(world)).status_code == 404


# --- The API ------------------------------------------------------------------------------------


def _post(client, body):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/tickets", data=json.dumps(body), content_type="application/json")


def test_it_logs_a_ticket_for_a_caller_through_the_api(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    response = _post(
        client,
        {
            "tenant_id": world["tenant"],
            "subject": "Chat: printer offline",
            "requester": {"full_name": "Chat Person", "email": "chat.person@acme.test"},
            "source": "chat",
            "category_id": world["category"],
            "assignee_id": world["user:internal_tech"],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["source"] == "chat" and body["via"] == "api"
    assert body["assignee_id"] == world["user:internal_tech"]
    assert "assigned to Internal Tech (chosen by" in body["routing_reason"]
    assert User.objects.get(pk=body["requester_id"]).email == "chat.person@acme.test"

    missing = _post(
        client,
        {"tenant_id": world["tenant"], "subject": "x", "requester_id": world["user:requester"]},
    )
    assert missing.status_code == 422
    assert "Say how the caller reached you." in json.dumps(missing.json()["detail"])


def test_requesters_cannot_log_for_someone_else_through_the_api(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("requester")
    with system_context("test: count"):
        before = Ticket.objects.count()
    for extra in (
        {"requester_id": world["user:owner"], "source": "phone"},
        {"source": "phone"},
        {"assignee_id": world["user:internal_tech"]},
    ):
        response = _post(client, {"tenant_id": world["tenant"], "subject": "Sneaky", **extra})
        assert response.status_code == 403, extra
    with system_context("test: count"):
        assert Ticket.objects.count() == before
    # Their own ticket still opens, from the portal's source.
    own = _post(client, {"tenant_id": world["tenant"], "subject": "Mine"})
    assert own.status_code == 201
    with system_context("test: the source, which requesters are not shown"):
        assert Ticket.objects.get(pk=own.json()["id"]).source == "portal"


# --- Bulk change and inline form errors -----------------------------------------------------


def test_bulk_assign_offers_only_people_who_may_take_and_refuses_in_words(
    world,
    as_persona,  # type: ignore[no-untyped-def]
) -> None:
    client = as_persona("owner")
    queue = reverse("servicedesk:tickets", args=[world["tenant"]])
    page = _text(client.get(queue))
    assignees = page.split('<select name="assignee">')[1].split("</select>")[0]
    # The tickets that can be checked are held by Acme Corp IT and Sentinel: their people
    # who may change tickets, by the party they take tickets for; not the auditor, not
    # Northwind (it holds none of them), not the requester.
    assert '<optgroup label="Held by Acme Corp IT">' in assignees
    assert '<optgroup label="Held by Sentinel MSSP">' in assignees
    assert ">Owner<" in assignees and ">Internal Tech<" in assignees
    assert ">Second Provider Tech<" in assignees
    assert "Auditor" not in assignees and "Provider Tech<" not in assignees.replace(
        "Second Provider Tech<", ""
    )
    # Sentinel's analyst cannot take Acme IT's ticket: one sentence, no raw dict.
    response = client.post(
        reverse("servicedesk_queues:queue-bulk"),
        {
            "ticket_ids": [world["ticket"]],
            "action": "assign",
            "assignee": world["user:second_provider_tech"],
            "return_tenant": world["tenant"],
        },
        follow=True,
    )
    text = _text(response)
    # The same words as for an unknown person: a refusal names nobody (tests/test_error_messages).
    assert "Nothing changed: The assignee must work for the party that holds the ticket." in text
    assert "{" not in text.split("Nothing changed:")[1].split("<")[0]
    with system_context("test: unchanged"):
        assert Ticket.objects.get(pk=world["ticket"]).assignee_id is None


def test_ticket_page_forms_show_their_errors_in_place_with_htmx(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("internal_tech")
    ticket_url = reverse("servicedesk:ticket", args=[world["ticket"]])
    page = _text(client.get(ticket_url))
    assert (
        f'hx-post="{reverse("servicedesk:ticket-comment", args=[world["ticket"]])}" '
        'hx-target="this" hx-select="#note-form"'
    ) in page
    comment = reverse("servicedesk:ticket-comment", args=[world["ticket"]])
    # Rejected: the page is answered with 422, and htmx picks the form out of it.
    refused = client.post(
        comment, {"body": "", "visibility": "shared"}, headers={"HX-Request": "true"}
    )
    assert refused.status_code == 422
    form = _text(refused).split('id="note-form"')[1].split("</form>")[0]
    assert "This field is required." in form
    # Accepted: a full page load of the ticket (its message and the new note), not a
    # fragment of it swapped into the form.
    done = client.post(
        comment, {"body": "Looking at it", "visibility": "shared"}, headers={"HX-Request": "true"}
    )
    assert done.status_code == 204
    assert done["HX-Redirect"] == ticket_url + "#notes"
    # From the ticket page itself, "#notes" alone would only scroll the page the browser
    # shows (the new note stayed invisible): the redirect drops the fragment to load it.
    again = client.post(
        comment,
        {"body": "Rebooting now", "visibility": "shared"},
        headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{ticket_url}"},
    )
    assert again["HX-Redirect"] == ticket_url
    # Without script, the same forms post and redirect as before.
    plain = client.post(comment, {"body": "Still on it", "visibility": "shared"})
    assert plain.status_code == 302 and plain["Location"] == ticket_url + "#notes"


# --- Canned replies ----------------------------------------------------------------------------


def test_canned_replies_are_read_by_the_tenant_and_each_party_alone(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/tenants/{world['tenant']}/canned-replies"

    def names(persona: str) -> set[str]:
        return {r["name"] for r in as_persona(persona).get(url).json()["items"]}

    tenant_wide, northwind = "Acme password reset steps", "Northwind reboot window note"
    assert names("internal_tech") == {tenant_wide}
    assert names("provider_tech") == {tenant_wide, northwind}
    assert names("second_provider_tech") == {tenant_wide}  # never Northwind's own
    assert as_persona("requester").get(url).status_code == 403
    assert as_persona("other_tenant_owner").get(url).status_code == 404
    other = f"/api/v1/canned-replies/{world['party_canned_reply']}"
    assert as_persona("second_provider_tech").get(other).status_code == 404
    assert as_persona("owner").get(other).status_code == 404
    # Sentinel keeps its own, which Northwind then does not read.
    created = as_persona("second_provider_tech").post(
        "/api/v1/canned-replies",
        data=json.dumps({"tenant_id": world["tenant"], "name": "Triage", "body": "Looking."}),
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["party_id"] == world["second_party"]
    assert "Triage" not in names("provider_tech")
    refused = as_persona("provider_tech").post(
        "/api/v1/canned-replies",
        data=json.dumps(
            {"tenant_id": world["tenant"], "name": "Ours", "body": "x", "shared": True}
        ),
        content_type="application/json",
    )
    assert refused.status_code == 403  # only the tenant's IT keeps the tenant's replies


def test_a_canned_reply_fills_the_note_form_with_and_without_script(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("internal_tech")
    ticket_url = reverse("servicedesk:ticket", args=[world["ticket"]])
    page = _text(client.get(ticket_url))
    picker = page.split('id="canned-select"')[1].split("</select>")[0]
    assert "Acme password reset steps" in picker
    assert "Northwind reboot window note" not in picker
    filled = _text(client.get(ticket_url, {"canned": world["canned_reply"]}))
    note = filled.split('id="note-form"')[1].split("</form>")[0]
    assert "Acme password reset steps: the text.</textarea>" in note
    # Another party's reply is not one to insert.
    assert client.get(ticket_url, {"canned": world["party_canned_reply"]}).status_code == 404
    # The pages: the list, a new one of Acme IT's own, kept apart from the tenant's.
    replies = reverse("servicedesk_config:canned-replies", args=[world["tenant"]])
    created = client.post(
        reverse("servicedesk_config:canned-reply-create", args=[world["tenant"]]),
        {"name": "On-site visit", "body": "A technician will come by."},
    )
    assert created.status_code == 302 and created["Location"] == replies
    listed = _text(client.get(replies))
    assert "On-site visit" in listed and 'Acme Corp IT <span class="muted">only</span>' in listed
    assert "Northwind reboot window note" not in listed
