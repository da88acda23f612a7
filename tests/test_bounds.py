"""Numbers too large for the database: refused at the edge, never a server error.

An attacker sent 2**63 (one more than the largest bigint) as ``limit``, ``offset``, path
ids and bulk id lists: each reached the database and overflowed it (a 500 on SQLite and
PostgreSQL; CSV exports broke mid-stream). The class fix is one bounded type for ids and
counts (``core.api.Id``, ``core.api.Pagination``), the ``id`` path converter for pages,
and ``core.validation.parse_id`` for query strings and forms. The first two tests guard
the class: they fail when a new endpoint or page takes an unbounded integer.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter

from tandem.cli import openapi_document
from tandem.core.validation import MAX_ID, parse_id

TOO_BIG = MAX_ID + 1


def _integers(node: Any, schemas: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    """Where ``node`` (a JSON schema) holds an integer without both bounds in range."""
    if isinstance(node, list):
        return [p for i, n in enumerate(node) for p in _integers(n, schemas, where, seen)]
    if not isinstance(node, dict):
        return []
    problems = []
    ref = node.get("$ref")
    if ref and ref not in seen:
        seen.add(ref)
        problems += _integers(schemas[ref.rsplit("/", 1)[-1]], schemas, f"{where}>{ref}", seen)
    if node.get("type") == "integer":
        low, high = node.get("minimum"), node.get("maximum")
        if low is None or high is None or low < -MAX_ID - 1 or high > MAX_ID:
            problems.append(where)
    for key, value in node.items():
        if key != "$ref":
            problems += _integers(value, schemas, f"{where}.{key}", seen)
    return problems


def test_every_integer_the_api_reads_is_bounded() -> None:
    document = json.loads(openapi_document())
    schemas = document["components"]["schemas"]
    problems = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                problems += _integers(
                    parameter["schema"], schemas, f"{where} {parameter['name']}", set()
                )
            body = operation.get("requestBody", {}).get("content", {})
            problems += _integers(body, schemas, f"{where} body", set())
    assert not problems, "integers without a minimum and a maximum <= 2**63-1:\n" + "\n".join(
        problems
    )


def _patterns(resolver: URLResolver, prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        converters = getattr(entry.pattern, "converters", {})
        found += [(route, converter) for converter in converters.values()]
        if isinstance(entry, URLResolver):
            found += _patterns(entry, route)
        assert isinstance(entry, URLPattern | URLResolver)
    return found


def test_no_page_url_takes_an_unbounded_integer() -> None:
    unbounded = [route for route, c in _patterns(get_resolver()) if isinstance(c, IntConverter)]
    assert not unbounded, f"use <id:...> (core.converters), not <int:...>: {unbounded}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        (str(MAX_ID), MAX_ID),
        (str(TOO_BIG), None),
        ("0", None),
        ("-1", None),
        ("4a", None),
        ("", None),
        ("٣", None),
        (None, None),
    ],
)
def test_parse_id(text, expected) -> None:  # type: ignore[no-untyped-def]
    assert parse_id(text) == expected


def _json(client, method: str, url: str, body: Any = None):  # type: ignore[no-untyped-def]
    client.raise_request_exception = False
    if body is None:
        return client.generic(method, url)
    return client.generic(method, url, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/tickets/{big}",
        "/api/v1/tickets/{big}/comments",
        "/api/v1/tenants/{big}",
        "/api/v1/tenants/{big}/matrix",
        "/api/v1/sites/{big}",
        "/api/v1/tickets/0",
        "/api/v1/tickets/not-a-number",
    ],
)
def test_an_api_path_id_out_of_range_is_not_found(world, as_persona, url) -> None:  # type: ignore[no-untyped-def]
    response = _json(as_persona("owner"), "GET", url.format(big=TOO_BIG))
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/tickets?limit={big}", "limit"),
        ("/api/v1/tickets?offset={big}", "offset"),
        ("/api/v1/sites?offset={big}", "offset"),
        ("/api/v1/audit?limit={big}", "limit"),
        ("/api/v1/tickets?party_id={big}", "party_id"),
        ("/api/v1/queue?tenant_id={big}", "tenant_id"),
        ("/api/v1/queue?view_id={big}", "view_id"),
        ("/api/v1/queue/export?party_id={big}", "party_id"),
        ("/api/v1/queue/export?assignee_id={big}", "assignee_id"),
    ],
)
def test_an_api_query_value_out_of_range_is_422(world, as_persona, url, field) -> None:  # type: ignore[no-untyped-def]
    response = _json(as_persona("owner"), "GET", url.format(big=TOO_BIG))
    assert response.status_code == 422, response.content
    assert field in {str(error["loc"][-1]) for error in response.json()["detail"]}


def test_the_largest_offset_is_an_empty_page(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    response = _json(as_persona("owner"), "GET", f"/api/v1/tickets?offset={MAX_ID}")
    assert response.status_code == 200
    assert response.json()["items"] == []


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/queue/bulk", {"ticket_ids": [TOO_BIG], "action": "status"}, "ticket_ids"),
        ("/api/v1/tickets", {"tenant_id": TOO_BIG, "subject": "Printer"}, "tenant_id"),
        (
            "/api/v1/tickets/{ticket}/handoff",
            {"to_party_id": TOO_BIG, "reason": "x"},
            "to_party_id",
        ),
        ("/api/v1/tickets/{ticket}/assign", {"assignee_id": TOO_BIG}, "assignee_id"),
    ],
)
def test_an_api_body_id_out_of_range_is_422(world, as_persona, url, body, field) -> None:  # type: ignore[no-untyped-def]
    response = _json(as_persona("owner"), "POST", url.format(**world.ids), body)
    assert response.status_code == 422, response.content
    assert field in {str(loc) for error in response.json()["detail"] for loc in error["loc"]}


@pytest.mark.parametrize(
    "url",
    [
        "/tickets/{big}/",
        "/tenants/{big}/tickets/",
        "/tickets/{bigger}/",
        "/queue/views/{big}/delete/",
    ],
)
def test_a_page_id_out_of_range_is_not_found(world, as_persona, url) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    client.raise_request_exception = False
    response = client.get(url.format(big=TOO_BIG, bigger=2**64))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "query",
    [f"view={TOO_BIG}", f"tenant={TOO_BIG}", f"party={TOO_BIG}", f"page={TOO_BIG}"],
)
def test_queue_page_and_export_with_a_huge_filter_answer(world, as_persona, query) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    client.raise_request_exception = False
    page = client.get(f"/queue/?{query}")
    assert page.status_code in (200, 404)
    export = client.get(f"/queue/export.csv?{query}")
    assert export.status_code in (200, 404)
    if export.status_code == 200:
        lines = b"".join(export.streaming_content).decode().splitlines()
        assert lines[0].startswith("number,tenant")


def test_bulk_change_page_with_a_huge_ticket_id_changes_nothing(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    client.raise_request_exception = False
    response = client.post(
        "/queue/bulk/",
        {
            "ticket_ids": [str(world["ticket"]), str(TOO_BIG)],
            "action": "assign",
            "assignee": str(TOO_BIG),
            "return_tenant": str(TOO_BIG),
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "choose what to change" in response.content.decode()


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (
            "/engagements/{engagement}/rescope/",
            {
                "service_area_ids": [str(TOO_BIG)],
                "site_ids": [str(TOO_BIG)],
                "starts_on": "2020-01-01",
            },
        ),
        (
            "/tenants/{tenant}/engagements/grant/",
            {
                "provider_id": str(TOO_BIG),
                "name": "x",
                "service_area_ids": [str(TOO_BIG)],
                "starts_on": "2020-01-01",
            },
        ),
        (
            "/tenants/{tenant}/matrix/rows/new/",
            {
                "service_area_id": str(TOO_BIG),
                "responsible_id": str(TOO_BIG),
                "accountable_id": str(TOO_BIG),
                "consulted_ids": [str(TOO_BIG)],
            },
        ),
        ("/tickets/{ticket}/assign/", {"assignee_id": str(TOO_BIG)}),
        ("/tickets/{ticket}/merge/", {"into": str(TOO_BIG)}),
    ],
)
def test_a_form_with_a_huge_choice_is_refused(world, as_persona, url, body) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    client.raise_request_exception = False
    response = client.post(url.format(**world.ids), body)
    assert response.status_code in (302, 422), response.status_code
