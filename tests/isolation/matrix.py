"""The isolation matrix engine: run one operation as every persona and list violations.

Operations come from the live API router registry, so a new endpoint is covered the moment
it is mounted. Expected outcomes come from ``expectations.py``, never from the policies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.test import Client
from django.urls import get_resolver

from tandem.audit.models import AuditEntry
from tandem.core.actions import action_of
from tandem.core.scoping import system_context
from tests.isolation.expectations import (
    EXTRA_PARAMS,
    FORBIDDEN,
    LIST_PATHS,
    OBJECTS,
    OTHER_READS,
    VIEWERS,
    WRITES,
)
from tests.personas import PERSONAS, World, login_client

API = "/api/v1"
PARAM = re.compile(r"{(\w+)}")
DENIED = {403, 404, 422}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    action: str | None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def api_operations() -> list[Operation]:
    """Every operation mounted on the API, straight from the router registry.

    The URL configuration is loaded first, as a running server has it: ninja mounts a
    router's sub-routers on the API when the URLs are built, so without this a test run
    alone would see only part of the API."""
    from tandem.config.api import api

    get_resolver().url_patterns  # noqa: B018 - loading it builds the API's routers
    found = []
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    full = (prefix.rstrip("/") + path) or "/"
                    found.append(Operation(method, full, action_of(operation.view_func)))
    return sorted(found, key=lambda op: (op.path, op.method))


def type_of_param(param: str) -> str | None:
    name = param.removesuffix("_id")
    return name if name in OBJECTS else None


def detail_type(op: Operation) -> str | None:
    """The object type of a plain ``GET /things/{thing_id}`` operation."""
    params = PARAM.findall(op.path)
    if op.method != "GET" or len(params) != 1 or not op.path.endswith("{" + params[0] + "}"):
        return None
    kind = type_of_param(params[0])
    return (
        kind
        if kind and LIST_PATHS.get(kind) and op.path == f"{LIST_PATHS[kind]}/{{{params[0]}}}"
        else None
    )


def list_type(op: Operation) -> str | None:
    if op.method != "GET":
        return None
    for kind, path in LIST_PATHS.items():
        if op.path == path:
            return kind
    return None


def is_known(op: Operation) -> bool:
    """True if the expectations say what should happen for this operation."""
    key = (op.method, op.path)
    return bool(detail_type(op) or list_type(op) or key in WRITES or key in OTHER_READS)


def fill(path: str, world: World, targets: dict[str, str] | None = None) -> str:
    def value(match: re.Match[str]) -> str:
        param = match.group(1)
        if targets and param in targets:
            return str(world[targets[param]])
        kind = type_of_param(param) or EXTRA_PARAMS.get(param)
        if kind is None:
            raise KeyError(f"the matrix cannot fill {{{param}}}: name it in expectations.py")
        if kind == "role":
            from tandem.accounts.models import Role

            return str(Role.objects.order_by("pk").first().pk)  # type: ignore[union-attr]
        return str(world[kind])

    return API + PARAM.sub(value, path)


def _request(client: Client, method: str, url: str, body: dict | None) -> Any:
    data = json.dumps(body) if body is not None else None
    return client.generic(method, url, data=data or "", content_type="application/json")


def _audit_count() -> int:
    with system_context("isolation matrix: count audit entries"):
        return AuditEntry.objects.count()


def _ids(response: Any) -> set[int]:
    return {item["id"] for item in response.json()["items"]}


def _as(persona: str, world: World) -> Client:
    return login_client(Client(), world, persona)


@transaction.atomic
def _isolated(func: Any, *args: Any) -> Any:
    """Run one persona's attempt in a savepoint that is rolled back afterwards."""
    try:
        return func(*args)
    finally:
        transaction.set_rollback(True)


def check_operation(op: Operation, world: World, personas: tuple[str, ...] = PERSONAS) -> list[str]:
    """Every way ``op`` breaks the expectations, as readable lines (empty when it holds)."""
    problems: list[str] = []
    for persona in personas:
        problems.extend(_isolated(_check_one, op, world, persona))
    return problems


def _check_one(op: Operation, world: World, persona: str) -> Iterator[str]:
    return list(_check(op, world, persona))


def _check(op: Operation, world: World, persona: str) -> Iterator[str]:
    client = _as(persona, world)
    key = (op.method, op.path)
    who = f"{op} as {persona}"

    if kind := detail_type(op):
        for name in OBJECTS[kind]:
            url = fill(op.path, world, {PARAM.findall(op.path)[0]: name})
            status = client.get(url).status_code
            if persona == "anonymous":
                expected = {401}
            elif persona not in VIEWERS[kind]:
                expected = {403}
            elif name in FORBIDDEN[persona]:
                expected = {404}
            else:
                expected = {200}
            if status not in expected:
                yield f"{who}: {name} answered {status}, expected {sorted(expected)}"
        return

    if kind := list_type(op):
        response = client.get(API + op.path + "?limit=1000")
        if persona == "anonymous":
            if response.status_code != 401:
                yield f"{who}: answered {response.status_code}, expected 401"
            return
        if persona not in VIEWERS[kind]:
            if response.status_code != 403:
                yield f"{who}: answered {response.status_code}, expected 403"
            return
        if response.status_code != 200:
            yield f"{who}: answered {response.status_code}, expected 200"
            return
        returned = _ids(response)
        for name in OBJECTS[kind]:
            pk = world[name]
            if name in FORBIDDEN[persona] and pk in returned:
                yield f"{who}: LEAK, the list contains {name} (id {pk})"
            if name not in FORBIDDEN[persona] and pk not in returned:
                yield f"{who}: the list lacks {name} (id {pk}), which it may see"
        if response.json()["count"] != len(returned):
            yield f"{who}: count {response.json()['count']} differs from {len(returned)} items"
        return

    if key in OTHER_READS:
        url = fill(op.path, world)
        response = client.get(url)
        allowed = OTHER_READS[key]
        if persona == "anonymous":
            if response.status_code != 401:
                yield f"{who}: answered {response.status_code}, expected 401"
        elif persona in allowed:
            if response.status_code != 200:
                yield f"{who}: answered {response.status_code}, expected 200"
            else:
                yield from _check_read_content(op, world, persona, response)
        elif response.status_code not in DENIED:
            yield f"{who}: answered {response.status_code}, expected a refusal"
        return

    if key in WRITES:
        spec = WRITES[key]
        url = fill(op.path, world, spec.get("target"))
        body = spec["body"](world, persona) if spec["body"] else None
        before = _audit_count()
        response = _request(client, op.method, url, body)
        wrote = _audit_count() != before
        if persona == "anonymous":
            if response.status_code != 401:
                yield f"{who}: answered {response.status_code}, expected 401"
        elif persona in spec["allowed"]:
            if response.status_code not in (200, 201, 204):
                answer = f"{response.status_code} {response.content[:200]!r}"
                yield f"{who}: answered {answer}, expected success"
            elif not wrote:
                yield f"{who}: succeeded without an audit entry"
        elif response.status_code not in DENIED:
            answer = f"{response.status_code} {response.content[:200]!r}"
            yield f"{who}: answered {answer}, expected a refusal"
        if persona not in spec["allowed"] and wrote:
            yield f"{who}: was refused but wrote something"
        return

    yield f"{op}: the matrix has no expectation for it; add it to tests/isolation/expectations.py"


def _audit_leak(
    persona: str, world: World, entry: dict[str, Any], forbidden_tenants: set[int]
) -> str | None:
    """Why ``persona`` must not read this audit entry, or None if it may."""
    if entry["tenant_id"] is None:
        # The instance chain: of the personas, only Northwind's admin reads any of it, and
        # only the entries about Northwind's own people (the operator is no persona).
        if persona == "provider_admin" and entry["provider_id"] == world["provider"]:
            return None
        return f"of no tenant (provider {entry['provider_id']})"
    if entry["tenant_id"] in forbidden_tenants:
        return f"of tenant {entry['tenant_id']}"
    if persona.startswith("provider") and entry["party_id"] != world["party"]:
        return "of another party"
    return None


def _check_read_content(op: Operation, world: World, persona: str, response: Any) -> Iterator[str]:
    """Leak checks for reads whose rows are not one world type."""
    who = f"{op} as {persona}"
    forbidden_tenants = {world[n] for n in ("tenant", "other_tenant") if n in FORBIDDEN[persona]}
    if op.path == "/audit":
        for item in response.json()["items"]:
            if leak := _audit_leak(persona, world, item, forbidden_tenants):
                yield f"{who}: LEAK, audit entry {item['id']} {leak}"
    if op.path == "/audit/export":
        for line in b"".join(response.streaming_content).decode().splitlines():
            entry = json.loads(line)
            if leak := _audit_leak(persona, world, entry, forbidden_tenants):
                yield f"{who}: LEAK, exported entry #{entry['seq']} {leak}"
    if op.path == "/tickets/{ticket_id}/comments" and persona == "requester":
        tiers = {item["visibility"] for item in response.json()["items"]}
        if tiers - {"public"}:
            yield f"{who}: LEAK, a requester reads {sorted(tiers - {'public'})} notes"
    if op.path == "/tenants/{tenant_id}/events":
        for event in response.json()["events"]:
            if event["event"].get("_tenant") != world["tenant"]:
                yield f"{who}: LEAK, an archived event of tenant {event['event'].get('_tenant')}"
            # A monitoring engagement narrowed to HQ reads the events of HQ's devices only
            # (the world's archived events name a host that is no device).
            elif persona == "narrowed_monitoring_tech" and event["event"].get("_host") != (
                "acme-hq-db01"
            ):
                yield f"{who}: LEAK, an event of host {event['event'].get('_host')} outside HQ"
    if op.path == "/tokens" and persona != "owner" and world["token"] in _ids(response):
        yield f"{who}: LEAK, lists the owner's token"
