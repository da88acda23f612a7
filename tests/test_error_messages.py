"""Refusals that would tell other parties and people apart from ids that do not exist.

An attacker probing ids learnt which belong to a party or a person: handing a ticket to a
party the caller may not see named that party, and assigning to a real person of another
tenant answered differently from assigning to an unknown id. Each pair below must answer
byte for byte the same.
"""

from __future__ import annotations

import json

from tandem.core.validation import MAX_ID

UNKNOWN = MAX_ID  # a valid id that no row has


def _post(client, url: str, body: dict):  # type: ignore[no-untyped-def]
    return client.post(url, data=json.dumps(body), content_type="application/json")


def _same(first, second) -> None:  # type: ignore[no-untyped-def]
    assert first.status_code == second.status_code == 422, (first.content, second.content)
    assert first.content == second.content


def test_handoff_to_a_party_one_may_not_see_reads_as_no_such_party(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    # Sentinel's analyst holds the Sentinel ticket; Northwind's party is not Sentinel's to see.
    client = as_persona("second_provider_tech")
    url = f"/api/v1/tickets/{world['sentinel_ticket']}/handoff"
    hidden = _post(client, url, {"to_party_id": world["party"], "reason": "Escalate"})
    missing = _post(client, url, {"to_party_id": UNKNOWN, "reason": "Escalate"})
    _same(hidden, missing)
    assert b"Northwind" not in hidden.content


def test_assigning_a_real_person_elsewhere_reads_as_an_unknown_id(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = f"/api/v1/tickets/{world['ticket']}/assign"
    real = _post(client, url, {"assignee_id": world["user:other_tenant_owner"]})
    missing = _post(client, url, {"assignee_id": UNKNOWN})
    _same(real, missing)


def test_bulk_assigning_a_real_person_elsewhere_reads_as_an_unknown_id(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    body = {"ticket_ids": [world["ticket"]], "action": "assign"}
    real = _post(
        client, "/api/v1/queue/bulk", {**body, "assignee_id": world["user:other_tenant_owner"]}
    )
    missing = _post(client, "/api/v1/queue/bulk", {**body, "assignee_id": UNKNOWN})
    _same(real, missing)


def test_bulk_assign_page_says_the_same_for_real_and_unknown_people(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    said = []
    for person in (world["user:other_tenant_owner"], UNKNOWN):
        response = client.post(
            "/queue/bulk/",
            {"ticket_ids": [world["ticket"]], "action": "assign", "assignee": person},
            follow=True,
        )
        assert response.status_code == 200
        said.append([str(m) for m in response.context["messages"]])
    assert said[0] == said[1] and said[0], said
    assert "Nothing changed" in said[0][0]
