"""Every page, found from the URL registry, as every persona: reach, 404s and text leaks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.apps import apps as django_apps
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tandem.audit.models import AuditEntry
from tandem.core import policies
from tandem.core.actions import action_of
from tandem.core.scoping import system_context
from tests.isolation.expectations import (
    EXTRA_PARAMS,
    FORBIDDEN,
    LEAK_CHECKED_TYPES,
    LEAK_MODELS,
    OBJECTS,
    PAGE_TARGETS,
    PAGES,
    PUBLIC_PAGES,
)
from tests.personas import PERSONAS, World, login_client

PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


@dataclass(frozen=True)
class Page:
    name: str
    route: str
    action: str | None

    def __str__(self) -> str:
        return f"{self.name} /{self.route}"


def _walk(patterns: list, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:  # type: ignore[type-arg]
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def pages() -> list[Page]:
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith(("api/", "static/")):
            continue
        found.append(Page(pattern.name or route, route, action_of(pattern.callback)))
    return sorted(found, key=lambda p: p.route)


PAGES_FOUND = pages()
CHECKED = [p for p in PAGES_FOUND if p.name not in PUBLIC_PAGES]


def _kind(param: str) -> str | None:
    name = param.removesuffix("_id")
    return name if name in OBJECTS else EXTRA_PARAMS.get(param)


def _url(page: Page, world: World, targets: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        param = match.group(1)
        if param in targets:
            return str(world[targets[param]])
        kind = _kind(param)
        if kind is None:
            raise KeyError(f"the page matrix cannot fill <{param}>")
        return str(world[kind])

    return "/" + PARAM.sub(value, page.route)


def _object_params(page: Page) -> list[str]:
    return [p for p in PARAM.findall(page.route) if p.removesuffix("_id") in OBJECTS]


def _names(world: World) -> dict[str, str]:
    """Display names of the world objects whose names are checked for leaks."""
    from tandem.servicedesk.tickets.models import Ticket
    from tandem.tenancy.models import AssetGroup, Engagement, Site, Tenant

    models = {
        "tenant": Tenant,
        "site": Site,
        "asset_group": AssetGroup,
        "engagement": Engagement,
        "ticket": Ticket,
    }
    models.update({kind: django_apps.get_model(label) for kind, label in LEAK_MODELS.items()})
    names = {}
    with system_context("page matrix: display names"):
        for kind in LEAK_CHECKED_TYPES:
            for name in OBJECTS[kind]:
                row = models[kind].objects.get(pk=world[name])
                names[name] = row.subject if kind == "ticket" else row.name
    return names


def _audit_count() -> int:
    with system_context("page matrix: count audit entries"):
        return AuditEntry.objects.count()


def _is_login_redirect(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 302 and response["Location"].startswith("/login/")


def _reached(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code in (200, 405) or (
        response.status_code == 302 and not _is_login_redirect(response)
    )


@transaction.atomic
def _attempt(client: Client, method: str, url: str) -> tuple[object, bool]:
    """One request in a savepoint that is rolled back; returns it and whether it wrote."""
    try:
        before = _audit_count()
        response = client.get(url) if method == "GET" else client.post(url, {})
        return response, _audit_count() != before
    finally:
        transaction.set_rollback(True)


def check_page(page: Page, world: World, personas: tuple[str, ...] = PERSONAS) -> list[str]:
    problems: list[str] = []
    names = _names(world)
    targets = PAGE_TARGETS.get(page.name, {})
    home_url = _url(page, world, targets)
    for persona in personas:
        client = login_client(Client(), world, persona)
        who = f"{page} as {persona}"
        response, _ = _attempt(client, "GET", home_url)
        if response.status_code >= 500:
            problems.append(f"{who}: GET crashed with {response.status_code}")
            continue
        if persona == "anonymous":
            if not _is_login_redirect(response):
                problems.append(f"{who}: answered {response.status_code}, expected the login page")
        elif persona in PAGES.get(page.name, frozenset()):
            if not _reached(response):
                problems.append(f"{who}: answered {response.status_code}, expected to reach it")
        elif response.status_code not in (403, 404, 405):
            # 405 is a POST-only URL refusing a GET: the same for every object, so no leak.
            problems.append(f"{who}: answered {response.status_code}, expected 404")
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            text = response.content.decode()
            for name, label in names.items():
                if name in FORBIDDEN[persona] and label in text:
                    problems.append(f"{who}: LEAK, the page shows {label!r} ({name})")
        # Every object this page can take: the forbidden ones must be 404 for GET and POST,
        # and a refused POST writes nothing.
        for param in _object_params(page):
            kind = param.removesuffix("_id")
            for name in OBJECTS[kind]:
                if persona == "anonymous" or name not in FORBIDDEN[persona]:
                    continue
                url = _url(page, world, {**targets, param: name})
                for method in ("GET", "POST"):
                    attempt, wrote = _attempt(client, method, url)
                    refusals = (403, 404, 405) if method == "GET" else (403, 404)
                    if attempt.status_code not in refusals:
                        status = attempt.status_code
                        problems.append(f"{who}: {method} on {name} got {status}, expected 404")
                    if wrote:
                        problems.append(f"{who}: {method} on {name} wrote something")
        if persona not in PAGES.get(page.name, frozenset()) and persona != "anonymous":
            attempt, wrote = _attempt(client, "POST", home_url)
            if wrote:
                problems.append(f"{who}: a refused POST wrote something")
    return problems


@pytest.mark.parametrize("page", CHECKED, ids=str)
def test_page_holds_for_every_persona(page: Page, world) -> None:  # type: ignore[no-untyped-def]
    problems = check_page(page, world)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", [p for p in PAGES_FOUND if p.name in PUBLIC_PAGES], ids=str)
def test_public_pages_do_not_crash_or_leak(page: Page, world) -> None:  # type: ignore[no-untyped-def]
    names = _names(world)
    for persona in PERSONAS:
        client = login_client(Client(), world, persona)
        try:
            url = _url(page, world, {})
        except KeyError:
            url = "/" + PARAM.sub("x", page.route)
        response = client.get(url)
        assert response.status_code < 500, f"{page} as {persona}: {response.status_code}"
        if response.status_code == 200:
            text = response.content.decode()
            leaked = [
                label for n, label in names.items() if n in FORBIDDEN[persona] and label in text
            ]
            assert not leaked, f"{page} as {persona} shows {leaked}"


def test_every_page_declares_a_registered_action() -> None:
    missing = [str(p) for p in PAGES_FOUND if p.action is None]
    unknown = [
        f"{p}: {p.action}"
        for p in PAGES_FOUND
        if p.action and p.action not in policies.registered_actions()
    ]
    assert not missing, f"pages without a declared action: {missing}"
    assert not unknown, f"pages declaring an action with no policy: {unknown}"


def test_every_page_has_an_expectation() -> None:
    missing = [str(p) for p in PAGES_FOUND if p.name not in PAGES and p.name not in PUBLIC_PAGES]
    assert not missing, f"add these pages to tests/isolation/expectations.py: {missing}"


def test_page_matrix_fails_when_a_policy_is_loosened(world) -> None:  # type: ignore[no-untyped-def]
    page = next(p for p in PAGES_FOUND if p.name == "sites")
    old = policies.replace_policy("tenancy.view_site", lambda principal, obj: True)
    try:
        problems = check_page(page, world, ("out_of_scope_tech",))
    finally:
        policies.replace_policy("tenancy.view_site", old)
    assert any("LEAK" in p and "Acme HQ site" in p for p in problems), problems
