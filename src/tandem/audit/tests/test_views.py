"""The audit log page: entries, filters, pagination, chain state and JSON Lines export."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from tandem.audit.models import AuditEntry
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.servicedesk.config import services as config_services
from tandem.tenancy import services as tenancy_services
from tandem.tenancy.models import Tenant

pytestmark = pytest.mark.django_db


def _log(world, key: str = "tenant") -> str:  # type: ignore[no-untyped-def]
    return reverse("audit:log", args=[world[key]])


def test_owner_sees_the_log_and_a_verified_chain(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    response = as_persona("owner").get(_log(world))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="chain-state"' in page
    assert "verified" in page
    assert "none was altered, removed or reordered" in page
    assert "tenancy.grant_engagement" in page
    assert "Export JSON Lines" in page
    assert "→" in page  # changes shown as before → after


def test_a_provider_admin_sees_only_its_own_partys_entries(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = as_persona("provider_admin").get(_log(world)).content.decode()

    assert 'id="chain-state"' not in page  # verifying reveals the chain's size: owners only
    assert "tenancy.grant_engagement" not in page  # the owner's (system's) actions


def test_the_log_is_not_found_outside_the_tenant(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    assert as_persona("other_tenant_owner").get(_log(world)).status_code == 404
    assert as_persona("provider_tech").get(_log(world)).status_code == 404
    assert as_persona("internal_tech").get(_log(world)).status_code == 404
    export = reverse("audit:export", args=[world["tenant"]])
    assert as_persona("other_tenant_owner").get(export).status_code == 404


def test_filters_narrow_the_entries(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")

    page = client.get(_log(world), {"action": "tenancy.suspend_engagement"}).content.decode()

    assert "tenancy.suspend_engagement" in page
    assert "<code>tenancy.create_site</code>" not in page
    partial = client.get(
        _log(world), {"action": "tenancy.create_site"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert partial.lstrip().startswith('<div id="audit-results">')
    assert "<code>tenancy.create_site</code>" in partial


def test_the_log_is_paginated_by_fifty(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    actor = system_principal("test: fill the log")
    with system_context("test: the tenant"):
        tenant = Tenant.objects.get(pk=world["tenant"])
    for i in range(50):
        tenancy_services.create_site(actor=actor, tenant=tenant, name=f"Kiosk {i:02d}")
    client = as_persona("owner")
    # The world's own entries come first (each app's part of the world adds some).
    with system_context("test: count the tenant's entries"):
        pages = -(-AuditEntry.objects.filter(tenant=tenant).count() // 50)
    assert pages >= 2

    first = client.get(_log(world)).content.decode()
    assert f"Page 1 of {pages}" in first
    assert first.count("<code>tenancy.create_site</code>") == 50  # newest first
    second = client.get(_log(world), {"page": 2}).content.decode()
    assert f"Page 2 of {pages}" in second


def test_export_streams_json_lines_of_this_tenant_only(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    response = as_persona("owner").get(reverse("audit:export", args=[world["tenant"]]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    lines = b"".join(response.streaming_content).decode().splitlines()
    entries = [json.loads(line) for line in lines]
    assert entries
    assert {e["tenant_id"] for e in entries} == {world["tenant"]}
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert all(len(e["entry_hash"]) == 64 for e in entries)


# --- Readable entries: names instead of ids, text instead of Python values -------------------


def _row_of(page: str, action: str) -> str:
    start = page.index(f"<code>{action}</code>")
    return page[page.rindex("<tr>", 0, start) : page.index("</tr>", start)]


def test_changes_name_parties_areas_and_calendars_instead_of_ids(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    """The owner read ``party_id 3 → 5`` and ``{'0': [['08:00', '17:00']], ...}``."""
    from tandem.tenancy.models import Party

    with system_context("test"):
        names = dict(Party.objects.filter(tenant_id=world["tenant"]).values_list("pk", "name"))
    pages = [as_persona("owner").get(_log(world), {"page": n}).content.decode() for n in (1, 2, 3)]
    page = "".join(pages)
    handoff = _row_of(page, "servicedesk.handoff_ticket")
    assert names[world["second_party"]] in handoff and "Party" in handoff
    assert "party_id" not in handoff
    matrix = _row_of(page, "servicedesk.add_matrix_row")
    assert "Responsible" in matrix and "Service area" in matrix and "Responsibility row" in matrix
    assert not any(f">{pk}<" in matrix for pk in names)  # no bare party ids
    calendar = _row_of(page, "sla.create_calendar")
    assert re.search(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun): \d\d:\d\d–\d\d:\d\d", calendar)
    assert "{" not in calendar and "[[" not in calendar
    policy = _row_of(page, "sla.create_policy")
    assert "first response" in policy and "{" not in policy and "&#x27;" not in policy


def test_readable_names_only_what_the_reader_may_see(world) -> None:  # type: ignore[no-untyped-def]
    """A provider reading an entry that names another provider's party or a site outside its
    engagement sees bare ids there, as everywhere else in the product."""
    from tandem.accounts.models import User
    from tandem.accounts.principals import resolve_principal
    from tandem.audit.models import AuditEntry
    from tandem.audit.references import readable
    from tandem.core.scoping import principal_scope
    from tandem.tenancy.models import Party, Site

    with system_context("test"):
        acme = Tenant.objects.get(pk=world["tenant"])
        party_names = dict(Party.objects.values_list("pk", "name"))
        site_names = dict(Site.objects.values_list("pk", "name"))
    entry = AuditEntry(
        tenant=acme,
        action="test.readable",
        target_type="tenancy.Tenant",
        changes={
            "party_id": [world["party"], world["second_party"]],
            "site_ids": [None, [world["site"], world["site_out_of_scope"], world["other_site"]]],
        },
    )
    owner = resolve_principal(User.objects.get(pk=world["user:owner"]))
    northwind = resolve_principal(User.objects.get(pk=world["user:provider_tech"]))

    def shown(principal):  # type: ignore[no-untyped-def]
        with principal_scope(principal):
            rows = readable(principal, acme, [entry])[0].changes
        return {row.label: (row.before, row.after) for row in rows}

    as_owner = shown(owner)
    assert as_owner["Party"] == (party_names[world["party"]], party_names[world["second_party"]])
    # Globex's site is not Acme's: not named even for Acme's owner.
    assert as_owner["Sites"] == (
        None,
        f"{site_names[world['site']]}, {site_names[world['site_out_of_scope']]}, "
        f"#{world['other_site']}",
    )
    as_northwind = shown(northwind)
    # Sentinel's party and the branch site are outside Northwind's engagement.
    assert as_northwind["Party"] == (party_names[world["party"]], f"#{world['second_party']}")
    assert as_northwind["Sites"] == (
        None,
        f"{site_names[world['site']]}, #{world['site_out_of_scope']}, #{world['other_site']}",
    )


def test_the_log_page_runs_a_fixed_number_of_queries(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    """Naming is one query per kind of thing on the page, not one per entry: a page of 50
    entries that each name a site costs what a page of a dozen does."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    actor = system_principal("test")
    with system_context("test"):
        acme = Tenant.objects.get(pk=world["tenant"])
    sites = [world["site"], world["site_out_of_scope"]]
    for n in range(60):
        tenancy_services.create_asset_group(
            actor=actor, tenant=acme, name=f"Query group {n}", site_id=sites[n % 2]
        )
    for n in range(3):
        config_services.create_category(
            actor=actor,
            tenant=acme,
            name=f"Query category {n}",
            service_area_id=world["service_area"],
        )
    client = as_persona("owner")
    client.get(_log(world))  # the session and the principal's accesses, cached per request
    only_groups = {"action": "tenancy.create_assetgroup"}
    with CaptureQueriesContext(connection) as fifty:
        first = client.get(_log(world), only_groups).content.decode()
    with CaptureQueriesContext(connection) as rest:
        second = client.get(_log(world), {**only_groups, "page": 2}).content.decode()
    rows = "<code>tenancy.create_assetgroup</code>"
    assert first.count(rows) == 50 and 10 <= second.count(rows) < 50
    assert "Acme Branch site" in first and "site_id" not in first  # named, not numbered
    assert len(fifty) == len(rest), "\n".join(q["sql"][:150] for q in fifty)
    # The unfiltered page names several kinds (sites, service areas, parties, ...): still a
    # fixed ceiling.
    with CaptureQueriesContext(connection) as mixed:
        page = client.get(_log(world)).content.decode()
    assert "Query category 2" in page
    assert len(mixed) <= 22, "\n".join(q["sql"][:150] for q in mixed)
