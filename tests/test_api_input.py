"""Bad input through the API: a clear 4xx with the field named, and nothing written."""

from __future__ import annotations

import json

import pytest

from tandem.audit.models import AuditEntry
from tandem.core.scoping import system_context
from tandem.tenancy.models import Engagement, Site
from tandem.tenancy.tests.factories import SiteFactory


def _counts() -> tuple[int, int, int]:
    with system_context("test: count rows"):
        return AuditEntry.objects.count(), Site.objects.count(), Engagement.objects.count()


def _post(client, url, body, method="POST"):  # type: ignore[no-untyped-def]
    return client.generic(method, url, data=json.dumps(body), content_type="application/json")


def _fields(response) -> set[str]:  # type: ignore[no-untyped-def]
    return {str(err["loc"][-1]) for err in response.json()["detail"] if err.get("loc")}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "tenant_id"),
        ({"tenant_id": "acme", "name": "x"}, "tenant_id"),
        ({"tenant_id": 0, "name": ""}, "name"),
        ({"tenant_id": 0, "name": "x" * 121}, "name"),
        ({"tenant_id": 0, "name": "x", "colour": "red"}, "colour"),
        ({"tenant_id": 0, "name": "x", "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"tenant_id": 0, "name": "bad\u0007bell"}, "name"),
    ],
)
def test_malformed_site_is_422_and_writes_nothing(world, as_persona, body, field) -> None:  # type: ignore[no-untyped-def]
    if body.get("tenant_id") == 0:
        body["tenant_id"] = world["tenant"]
    before = _counts()
    response = _post(as_persona("owner"), "/api/v1/sites", body)
    assert response.status_code == 422, response.content
    assert field in _fields(response)
    assert _counts() == before


def test_duplicate_site_name_in_a_tenant_is_409(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    before = _counts()
    response = _post(
        as_persona("owner"), "/api/v1/sites", {"tenant_id": world["tenant"], "name": "ACME HQ site"}
    )
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]
    assert _counts() == before


def test_same_site_name_in_another_tenant_is_fine(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    response = _post(
        as_persona("other_tenant_owner"),
        "/api/v1/sites",
        {"tenant_id": world["other_tenant"], "name": "Acme HQ site"},
    )
    assert response.status_code == 201


def test_database_constraint_refuses_duplicates_even_past_the_service(world) -> None:  # type: ignore[no-untyped-def]
    from django.db import IntegrityError, transaction

    with system_context("test"), pytest.raises(IntegrityError), transaction.atomic():
        SiteFactory(tenant_id=world["tenant"], name="Acme HQ site")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"service_area_ids": []}, "service_area_ids"),
        ({"starts_on": "2027-01-10", "ends_on": "2027-01-01"}, "ends_on"),
        ({"allowed_actions": ["root.everything"]}, "allowed_actions"),
        ({"service_area_ids": ["other"]}, "service_area_ids"),
        ({"site_ids": ["other_site"]}, "site_ids"),
        ({"name": ""}, "name"),
        ({"starts_on": "yesterday"}, "starts_on"),
    ],
)
def test_contradictory_or_foreign_grant_is_422(world, as_persona, change, field) -> None:  # type: ignore[no-untyped-def]
    body = {
        "tenant_id": world["tenant"],
        "provider_id": world["unengaged_provider"],
        "name": "Bad deal",
        "service_area_ids": [world["service_area"]],
    }
    for key, value in change.items():
        if value == ["other"]:
            value = [world["other_service_area"]]  # another tenant's area
        elif value == ["other_site"]:
            value = [world["other_site"]]
        body[key] = value
    before = _counts()
    response = _post(as_persona("owner"), "/api/v1/engagements", body)
    assert response.status_code == 422, response.content
    assert field in _fields(response)
    assert _counts() == before


def test_granting_a_provider_twice_is_a_conflict(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    body = {
        "tenant_id": world["tenant"],
        "provider_id": world["provider"],
        "name": "Again",
        "service_area_ids": [world["service_area"]],
    }
    before = _counts()
    response = _post(as_persona("owner"), "/api/v1/engagements", body)
    assert response.status_code == 409
    assert "rescope that one instead" in response.json()["detail"]
    assert _counts() == before


def test_suspending_an_ended_engagement_is_a_conflict(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = f"/api/v1/engagements/{world['engagement']}"
    assert _post(client, url + "/end", {"reason": "Over"}).status_code == 200
    before = _counts()
    response = _post(client, url + "/suspend", {"reason": "Again"})
    assert response.status_code == 409
    assert _counts() == before


def test_a_reason_is_required_to_suspend(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    before = _counts()
    response = _post(as_persona("owner"), f"/api/v1/engagements/{world['engagement']}/suspend", {})
    assert response.status_code == 422 and "reason" in _fields(response)
    assert _counts() == before


def test_oversized_body_is_413(world, as_persona, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    before = _counts()
    response = _post(
        as_persona("owner"),
        "/api/v1/sites",
        {"tenant_id": world["tenant"], "name": "x", "address": "y" * 20_000},
    )
    assert response.status_code == 413
    assert _counts() == before


def test_unknown_ordering_is_422(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    response = as_persona("owner").get("/api/v1/sites?ordering=password")
    assert response.status_code == 422


def test_lists_are_paginated_filtered_and_ordered(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("provider_tech")
    page = client.get("/api/v1/sites?ordering=-name&limit=1").json()
    assert page["count"] == 2 and len(page["items"]) == 1
    assert page["items"][0]["name"] == "Globex Plant site"
    only_acme = client.get(f"/api/v1/sites?tenant_id={world['tenant']}").json()
    assert [s["name"] for s in only_acme["items"]] == ["Acme HQ site"]


def test_errors_are_detail_objects(world, client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/sites").json() == {
        "detail": "Authentication required: a valid token or session."
    }


def test_a_nul_character_in_a_body_is_422_and_writes_nothing(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL cannot store NUL in text: the write was a server error there."""
    before = _counts()
    body = {"tenant_id": world["tenant"], "name": "Acme\u0000 annex"}
    response = _post(as_persona("owner"), "/api/v1/sites", body)
    assert response.status_code == 422, response.content
    assert "NUL" in response.content.decode()
    assert _counts() == before


@pytest.mark.parametrize(
    "url", ["/api/v1/tickets?status=%00", "/api/v1/queue?q=a%00b", "/queue/?q=%00"]
)
def test_a_nul_character_in_a_query_string_is_400(world, as_persona, url) -> None:  # type: ignore[no-untyped-def]
    response = as_persona("owner").get(url)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


@pytest.mark.parametrize(
    "since", ["1076-05-14T15:07:54%2B16:27", "0001-01-01T00:00:00%2B05:00", "2020-01-01T00:00:00"]
)
def test_any_iso_8601_offset_filters_the_audit_log(world, as_persona, since) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL refuses offsets beyond ±15:59 (a server error); the API reads in UTC."""
    response = as_persona("owner").get(f"/api/v1/audit?since={since}")
    assert response.status_code in (200, 422), response.content
