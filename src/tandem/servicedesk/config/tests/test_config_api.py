"""The desk-configuration API beyond the isolation matrix: what a change answers, what a
refusal says, what a provider may read, and how many queries a list costs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tandem.core.scoping import system_context
from tandem.sla.models import Calendar

pytestmark = pytest.mark.django_db


def _send(client: Any, method: str, url: str, body: Any = None) -> Any:
    data = json.dumps(body) if body is not None else ""
    return client.generic(method, "/api/v1" + url, data=data, content_type="application/json")


def test_a_calendar_is_changed_and_read_back(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    url = f"/calendars/{world['spare_calendar']}"
    changed = _send(
        owner,
        "PATCH",
        url,
        {
            "weekly": {"5": [["09:00", "13:00"]], "6": [["10:00", "12:00"]]},
            "special_days": {"2026-12-26": []},
            "custom_holidays": ["2026-12-31", "2026-12-24", "2026-12-31"],
        },
    )
    assert changed.status_code == 200, changed.content
    body = _send(owner, "GET", url).json()
    assert body["weekly"] == {"5": [["09:00", "13:00"]], "6": [["10:00", "12:00"]]}
    assert body["special_days"] == {"2026-12-26": []}
    assert body["custom_holidays"] == ["2026-12-24", "2026-12-31"]  # sorted, once each
    assert body["name"] == "Weekend on-call"  # left out, so unchanged


def test_refusals_say_what_is_wrong(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    bad = _send(
        owner,
        "PATCH",
        f"/calendars/{world['office_calendar']}",
        {"weekly": {"2": [["08:00", "12:00"], ["11:30", "17:00"]]}},
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "weekly"]
    assert (
        "Wednesday: intervals 08:00-12:00 and 11:30-17:00 overlap" in bad.json()["detail"][0]["msg"]
    )

    in_use = _send(owner, "DELETE", f"/calendars/{world['nights_calendar']}")
    assert in_use.status_code == 409
    assert in_use.json()["detail"] == (
        "The calendar “Nights and weekends” is in use by coverage of Northwind MSP and "
        "the SLA policy “Northwind SLA”. Give them another calendar first."
    )
    with system_context("test"):
        assert Calendar.objects.filter(pk=world["nights_calendar"]).exists()


def test_a_provider_reads_only_its_own_terms_and_areas(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    policy = f"/sla-policies/{world['sla_policy']}"
    categories = f"/tenants/{world['tenant']}/categories"
    sentinel = as_persona("second_provider_tech")
    assert _send(sentinel, "GET", policy).status_code == 404
    # Categories: those of the service areas a provider sees (server patching for Northwind).
    assert _send(sentinel, "GET", categories).json()["items"] == []
    northwind = as_persona("provider_tech")
    assert _send(northwind, "GET", policy).json()["name"] == "Northwind SLA"
    listed = _send(northwind, "GET", categories + "?active=true").json()
    assert [c["name"] for c in listed["items"]] == ["Server problem"]
    # ... and never a change.
    assert _send(northwind, "POST", policy + "/deactivate").status_code == 403


def test_the_owner_cannot_reach_another_tenants_configuration(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    assert _send(owner, "GET", f"/calendars/{world['other_calendar']}").status_code == 404
    assert (
        _send(owner, "POST", f"/sla-policies/{world['other_sla_policy']}/activate").status_code
        == 404
    )
    other = f"/tenants/{world['other_tenant']}/desk-thresholds"
    assert (
        _send(owner, "PUT", other, {"urgent_priority_max": 1, "ping_pong_minutes": 5}).status_code
        == 404
    )


def test_categories_are_created_changed_and_retired(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    created = _send(
        owner,
        "POST",
        "/categories",
        {
            "tenant_id": world["tenant"],
            "name": "New starter",
            "service_area_id": world["service_area"],
            "form_fields": [
                {"name": "start_date", "label": "First day"},
                {"name": "kit", "label": "Laptop", "type": "choice", "choices": ["Win", "Mac"]},
            ],
        },
    )
    assert created.status_code == 201, created.content
    category = created.json()
    assert category["form_fields"][0] == {
        "name": "start_date",
        "label": "First day",
        "type": "text",
        "choices": [],
        "required": True,
    }
    url = f"/categories/{category['id']}"
    typo = _send(
        owner, "PATCH", url, {"form_fields": [{"name": "os", "label": "OS", "type": "choice"}]}
    )
    assert typo.status_code == 422
    assert "Question 1: a choice question needs choices." in typo.json()["detail"][0]["msg"]
    assert _send(owner, "POST", url + "/retire").json()["is_active"] is False
    assert _send(owner, "POST", url + "/retire").status_code == 409
    retired = _send(owner, "GET", f"/tenants/{world['tenant']}/categories?active=false").json()
    assert {c["name"] for c in retired["items"]} == {"New starter", "Old printer requests"}


def test_the_workflow_shows_which_keys_are_permanent(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    url = f"/tenants/{world['tenant']}/statuses"
    workflow = _send(owner, "GET", url).json()["statuses"]
    used = {s["key"] for s in workflow if s["used"]}
    assert used == {"new"}  # every world ticket is still new
    without_new = [s for s in workflow if s["key"] != "new"]
    refused = _send(
        owner,
        "PUT",
        url,
        {"statuses": [{k: s[k] for k in ("key", "name", "kind")} for s in without_new]},
    )
    assert refused.status_code == 422  # the first status must be of kind new
    without_closed = [
        {k: s[k] for k in ("key", "name", "kind")} for s in workflow if s["kind"] != "closed"
    ]
    refused = _send(owner, "PUT", url, {"statuses": without_closed})
    assert "none is closed" in refused.json()["detail"][0]["msg"]


def test_the_priority_matrix_round_trips(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    url = f"/tenants/{world['tenant']}/priority-matrix"
    matrix = _send(owner, "GET", url).json()
    assert matrix["grid"][0] == ["P1", "P2", "P3"]
    matrix["impacts"] = ["everyone", "a team", "one person"]
    saved = _send(owner, "PUT", url, {k: v for k, v in matrix.items() if k != "tenant_id"})
    assert saved.status_code == 200
    assert _send(owner, "GET", url).json()["impacts"] == ["everyone", "a team", "one person"]
    matrix["grid"][2] = ["P1", "P1", "P1"]
    lower = _send(owner, "PUT", url, {k: v for k, v in matrix.items() if k != "tenant_id"})
    assert lower.status_code == 422
    assert lower.json()["detail"][0]["loc"] == ["body", "grid"]


def test_the_category_list_costs_a_fixed_number_of_queries(  # type: ignore[no-untyped-def]
    world, as_persona, django_assert_max_num_queries
) -> None:
    owner = as_persona("owner")
    url = f"/tenants/{world['tenant']}/categories"
    _send(owner, "GET", url)
    for index in range(5):
        _send(
            owner,
            "POST",
            "/categories",
            {
                "tenant_id": world["tenant"],
                "name": f"Category {index}",
                "service_area_id": world["service_area"],
            },
        )
    with django_assert_max_num_queries(12):
        assert _send(owner, "GET", url).json()["count"] == 7
