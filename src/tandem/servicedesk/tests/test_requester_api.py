"""Requesters see through the API exactly what their pages show: the portal shows a ticket's
number, subject, description, status, priority and dates, and its public conversation
with IT authors as "IT"; never who holds it, whom it is assigned to, its tags, clocks or
the people and parties behind the replies. Filtering by what is hidden finds nothing."""

from __future__ import annotations

import json

import pytest
from tests.personas import EMAILS

pytestmark = pytest.mark.django_db

#: What the portal and the requester's ticket pages show of a ticket.
PORTAL_TICKET = {
    "id",
    "tenant_id",
    "number",
    "subject",
    "description",
    "status",
    "priority",
    "created_at",
    "resolved_at",
}


def _post(client, url: str, body: dict) -> int:  # type: ignore[no-untyped-def,type-arg]
    answer = client.post(url, data=json.dumps(body), content_type="application/json")
    return answer.status_code  # type: ignore[no-any-return]


def test_a_requester_gets_the_ticket_as_the_portal_shows_it(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    ticket_url = f"/api/v1/tickets/{world['ticket']}"
    tech = as_persona("internal_tech")
    assert _post(tech, f"{ticket_url}/tags", {"tags": ["vip-escalation"]}) == 200
    it_view = tech.get(ticket_url).json()
    assert it_view["tags"] == ["vip-escalation"] and it_view["resolution_due"] is not None

    requester = as_persona("requester")
    for ticket in (
        requester.get(ticket_url).json(),
        *requester.get("/api/v1/tickets").json()["items"],
        *requester.get("/api/v1/queue").json()["items"],
    ):
        assert set(ticket) == PORTAL_TICKET
    text = requester.get(ticket_url).content.decode()
    assert "vip-escalation" not in text and "Acme Corp IT" not in text


def test_a_requester_reads_replies_without_the_people_behind_them(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/tickets/{world['ticket']}/comments"
    assert (
        _post(as_persona("internal_tech"), url, {"body": "We are on it", "visibility": "public"})
        == 201
    )
    requester = as_persona("requester")
    assert _post(requester, url, {"body": "Thanks", "visibility": "public"}) == 201

    answer = requester.get(url)
    items = answer.json()["items"]
    assert [(c["author_label"], c["body"]) for c in items] == [
        ("IT", "We are on it"),
        ("You", "Thanks"),
    ]
    assert all(set(c) == {"id", "author_label", "body", "created_at"} for c in items)
    assert EMAILS["internal_tech"] not in answer.content.decode()
    # The portal words it the same way.
    page = requester.get(f"/portal/tickets/{world['ticket']}/").content.decode()
    assert EMAILS["internal_tech"] not in page and "We are on it" in page

    # The tenant's IT still reads who wrote for which party.
    it_items = as_persona("owner").get(url).json()["items"]
    assert {c["party_id"] for c in it_items} == {world["internal_party"], None}


def test_filtering_by_what_a_requester_is_not_shown_finds_nothing(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    requester = as_persona("requester")
    priority = requester.get(f"/api/v1/tickets/{world['ticket']}").json()["priority"]
    # The requester's ticket is held by Acme's IT: asking for that party, or for another,
    # must not tell the two apart.
    for path in ("/api/v1/tickets", "/api/v1/queue"):
        for query in (
            f"party_id={world['internal_party']}",
            f"party_id={world['second_party']}",
            f"service_area_id={world['service_area']}",
            "ordering=resolution_due",
        ):
            items = requester.get(f"{path}?{query}").json()["items"]
            assert items == [], (path, query)
        # What the portal shows may still be filtered by.
        assert len(requester.get(f"{path}?priority={priority}").json()["items"]) == 1

    # IT filters as before.
    it_items = as_persona("internal_tech").get(
        f"/api/v1/tickets?party_id={world['internal_party']}"
    )
    assert world["ticket"] in {t["id"] for t in it_items.json()["items"]}
