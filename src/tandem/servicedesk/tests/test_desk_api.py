"""What the service-desk API shows to whom, beyond the isolation matrix."""

from __future__ import annotations

import json


def test_requesters_get_the_ticket_without_the_it_behind_it(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    requester = as_persona("requester")
    mine = requester.get(f"/api/v1/tickets/{world['ticket']}").json()
    assert mine["subject"] == "Acme file server is slow"
    assert not {"party_id", "party_name", "routing_reason", "sla_state"} & set(mine)
    listed = requester.get("/api/v1/tickets").json()["items"]
    assert [t["id"] for t in listed] == [world["ticket"]]
    assert all("routing_reason" not in t and "sla_state" not in t for t in listed)
    assert requester.get(f"/api/v1/tickets/{world['ticket']}/events").status_code == 403


def test_it_sees_why_and_the_clocks(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    ticket = as_persona("internal_tech").get(f"/api/v1/tickets/{world['ticket']}").json()
    assert ticket["party_name"] == "Acme Corp IT"
    assert ticket["routing_reason"].startswith("Server patching → Acme Corp IT (R)")
    assert str(world["internal_party"]) in ticket["sla_state"]


def test_requester_notes_through_the_api_are_public_only(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    requester = as_persona("requester")
    url = f"/api/v1/tickets/{world['ticket']}/comments"
    refused = requester.post(
        url,
        data=json.dumps({"body": "hi", "visibility": "shared"}),
        content_type="application/json",
    )
    assert refused.status_code == 422
    tech = as_persona("internal_tech")
    for tier in ("private", "shared", "public"):
        tech.post(
            url,
            data=json.dumps({"body": f"{tier} note", "visibility": tier}),
            content_type="application/json",
        )
    requester = as_persona("requester")
    assert [c["body"] for c in requester.get(url).json()["items"]] == ["public note"]


def test_matrix_findings_through_the_api(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    matrix = as_persona("owner").get(f"/api/v1/tenants/{world['tenant']}/matrix").json()
    assert matrix["version"] >= 1 and len(matrix["rows"]) == 1
    kinds = {f["kind"] for f in matrix["findings"]}
    assert "no_responsible" in kinds  # most of Acme's areas have no row yet


def test_a_provider_sees_only_its_own_sla_terms(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/tenants/{world['tenant']}/sla-policies"
    owner_view = {p["name"] for p in as_persona("owner").get(url).json()["items"]}
    assert owner_view == {"Internal OLA", "Northwind SLA"}
    northwind_view = {p["name"] for p in as_persona("provider_tech").get(url).json()["items"]}
    assert northwind_view == {"Northwind SLA"}
    sentinel_view = as_persona("second_provider_tech").get(url).json()["items"]
    assert sentinel_view == []


def test_coverage_through_the_api_closes_a_gap(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    before = owner.get(f"/api/v1/tenants/{world['tenant']}/matrix").json()
    calendar = owner.post(
        "/api/v1/calendars",
        data=json.dumps(
            {
                "tenant_id": world["tenant"],
                "name": "Round the clock",
                "time_zone": "Europe/Berlin",
                "weekly": {str(d): [["00:00", "24:00"]] for d in range(7)},
            }
        ),
        content_type="application/json",
    )
    assert calendar.status_code == 201
    bad = owner.post(
        "/api/v1/calendars",
        data=json.dumps(
            {
                "tenant_id": world["tenant"],
                "name": "Broken",
                "time_zone": "Mars/Base",
                "weekly": {"0": [["09:00", "17:00"]]},
            }
        ),
        content_type="application/json",
    )
    assert bad.status_code == 422
    added = owner.post(
        "/api/v1/coverage",
        data=json.dumps(
            {
                "tenant_id": world["tenant"],
                "party_id": world["internal_party"],
                "calendar_id": calendar.json()["id"],
            }
        ),
        content_type="application/json",
    )
    assert added.status_code == 201
    after = owner.get(f"/api/v1/tenants/{world['tenant']}/matrix").json()
    assert after["version"] == before["version"] + 1
    assert not [f for f in after["findings"] if f["kind"] == "uncovered"]


def test_ticket_lists_count_up_to_a_cap(world, as_persona, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tandem.core import pagination

    owner = as_persona("owner")
    exact = owner.get("/api/v1/tickets?limit=50").json()
    assert exact["count_exact"] is True
    assert exact["count"] == len(exact["items"]) >= 2

    # Past the cap the list still pages normally, but the count says "at least".
    monkeypatch.setattr(pagination, "COUNT_CAP", 1)
    capped = owner.get("/api/v1/tickets?limit=50").json()
    assert (capped["count"], capped["count_exact"]) == (1, False)
    assert len(capped["items"]) == len(exact["items"])
    second = owner.get("/api/v1/tickets?limit=1&offset=1").json()
    assert [t["id"] for t in second["items"]] == [exact["items"][1]["id"]]
    queue = owner.get("/api/v1/queue?limit=50").json()
    assert queue["count_exact"] is False and queue["count"] == 1
