"""Being a requester of a tenant is not being its IT: a provider technician who also holds
the Requester role at the same tenant reads no more than its provider's share."""

from __future__ import annotations

import json

import pytest
from tests.personas import user_of

from tandem.accounts.models import Role
from tandem.accounts.services import add_membership
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.tenancy.models import Tenant

pytestmark = pytest.mark.django_db


def _also_a_requester(world, persona: str) -> None:  # type: ignore[no-untyped-def]
    with system_context("test: a provider technician is a requester of the tenant too"):
        add_membership(
            actor=system_principal("test"),
            user=user_of(world, persona),
            role=Role.objects.get(key="requester"),
            tenant=Tenant.objects.get(pk=world["tenant"]),
        )


def test_a_requester_access_opens_no_internal_time(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/tickets/{world['ticket']}/time"
    logged = as_persona("internal_tech").post(
        url,
        data=json.dumps({"minutes": 42, "note": "Internal disk analysis"}),
        content_type="application/json",
    )
    assert logged.status_code == 201
    _also_a_requester(world, "provider_tech")

    northwind = as_persona("provider_tech")  # the browser session: every access it holds
    answer = northwind.get(url)
    assert answer.status_code == 200
    assert answer.json()["items"] == []
    # The ticket page agrees (it always did): no internal time there either.
    page = northwind.get(f"/tickets/{world['ticket']}/").content.decode()
    assert "Internal disk analysis" not in page
    # The tenant's own IT still reads it.
    items = as_persona("owner").get(url).json()["items"]
    assert [e["note"] for e in items] == ["Internal disk analysis"]


def test_a_requester_access_opens_no_other_partys_sla_terms(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    _also_a_requester(world, "provider_tech")
    url = f"/api/v1/tenants/{world['tenant']}/sla-policies"
    names = {p["name"] for p in as_persona("provider_tech").get(url).json()["items"]}
    assert names == {"Northwind SLA"}
