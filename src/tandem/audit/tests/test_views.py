"""The audit log page: entries, filters, pagination, chain state and JSON Lines export."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
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

    first = client.get(_log(world)).content.decode()
    assert "Page 1 of 2" in first
    assert first.count("<code>tenancy.create_site</code>") == 50  # newest first
    second = client.get(_log(world), {"page": 2}).content.decode()
    assert "Page 2 of 2" in second


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
