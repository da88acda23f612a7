"""The devices API: search and filters, a provider's list across its client tenants, one
device, its changes (clear 422s, nothing written) and its retirement."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from tandem.assets.models import Device
from tandem.audit.models import AuditEntry
from tandem.core.scoping import system_context

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _names(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["items"]]


def _send(client, method: str, url: str, body=None):  # type: ignore[no-untyped-def]
    data = json.dumps(body) if body is not None else None
    return client.generic(method, API + url, data=data, content_type="application/json")


def _seen(world, name: str, ago: dt.timedelta | None) -> None:  # type: ignore[no-untyped-def]
    with system_context("test: a check-in"):
        Device.objects.filter(pk=world[name]).update(
            last_seen_at=None if ago is None else timezone.now() - ago
        )


def _audit_count() -> int:
    with system_context("test: count audit entries"):
        return AuditEntry.objects.count()


def test_search_ignores_case_and_matches_hostname_name_or_serial(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    assert _names(client.get(f"{API}/devices?q=DB01")) == ["acme-hq-db01"]
    assert _names(client.get(f"{API}/devices?q=sn-acme-branch")) == ["acme-branch-pc07"]
    assert _names(client.get(f"{API}/devices?q=nothing-like-it")) == []
    # Another tenant's device is never found, whatever the search.
    assert _names(client.get(f"{API}/devices?q=globex")) == []


def test_filters(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    assert _names(client.get(f"{API}/devices?os_family=windows")) == ["acme-branch-pc07"]
    assert _names(client.get(f"{API}/devices?site_id={world['site']}")) == ["acme-hq-db01"]
    assert _names(
        client.get(f"{API}/devices?asset_group_id={world['asset_group_out_of_scope']}")
    ) == ["acme-branch-pc07"]
    assert _names(client.get(f"{API}/devices?protected=true")) == []
    _seen(world, "device", dt.timedelta(minutes=2))
    _seen(world, "device_out_of_scope", dt.timedelta(hours=3))
    assert _names(client.get(f"{API}/devices?connectivity=online")) == ["acme-hq-db01"]
    # Offline: silent too long, or never seen; by last check-in, never-seen last.
    assert _names(client.get(f"{API}/devices?connectivity=offline")) == [
        "acme-branch-pc07",
        "acme-spare-laptop",
    ]
    assert _names(client.get(f"{API}/devices")) == [
        "acme-hq-db01",
        "acme-branch-pc07",
        "acme-spare-laptop",
    ]
    assert _names(client.get(f"{API}/devices?ordering=name")) == [
        "acme-branch-pc07",
        "acme-hq-db01",
        "acme-spare-laptop",
    ]
    item = client.get(f"{API}/devices/{world['device']}").json()
    assert item["connectivity"] == "online"
    assert client.get(f"{API}/devices?os_family=beos").status_code == 422


def test_the_offline_threshold_is_a_setting(as_persona, world, settings) -> None:  # type: ignore[no-untyped-def]
    _seen(world, "device", dt.timedelta(minutes=20))
    client = as_persona("owner")
    assert client.get(f"{API}/devices/{world['device']}").json()["connectivity"] == "offline"
    settings.DEVICE_OFFLINE_MINUTES = 30
    assert client.get(f"{API}/devices/{world['device']}").json()["connectivity"] == "online"


def test_a_provider_lists_its_devices_across_tenants(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("provider_tech")
    assert sorted(_names(client.get(f"{API}/devices"))) == ["acme-hq-db01", "globex-plc-gateway"]
    assert _names(client.get(f"{API}/devices?tenant_id={world['other_tenant']}")) == [
        "globex-plc-gateway"
    ]
    assert client.get(f"{API}/devices/{world['device_out_of_scope']}").status_code == 404


def test_retired_devices_are_listed_on_asking(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    assert _send(client, "POST", f"/devices/{world['device_unplaced']}/retire").status_code == 200
    assert "acme-spare-laptop" not in _names(client.get(f"{API}/devices"))
    assert _names(client.get(f"{API}/devices?status=retired")) == ["acme-spare-laptop"]
    again = _send(client, "POST", f"/devices/{world['device_unplaced']}/retire")
    assert again.status_code == 422
    assert "retired already" in again.content.decode()


def test_patch_changes_what_it_names_and_clears_with_null(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = f"/devices/{world['device']}"
    response = _send(client, "PATCH", url, {"name": "Main database", "protected": True})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["protected"], body["site_id"]) == (
        "Main database",
        True,
        world["site"],
    )
    body = _send(client, "PATCH", url, {"site_id": None, "asset_group_id": None}).json()
    assert (body["site_id"], body["asset_group_id"]) == (None, None)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"site_id": "other_site"}, "site_id", "No such site in this tenant."),
        ({"site_id": 987654}, "site_id", "No such site in this tenant."),
        ({"asset_group_id": "other_asset_group"}, "asset_group_id", "No such asset group"),
        ({"asset_group_id": "asset_group_out_of_scope"}, "asset_group_id", "another site"),
        ({"protected": None}, "protected", "true or false"),
        ({"name": ""}, "name", ""),
        ({"hostname": "forged"}, "hostname", ""),
    ],
)
def test_bad_patches_answer_422_and_write_nothing(as_persona, world, body, field, message) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    values = {k: world[v] if isinstance(v, str) and v in world.ids else v for k, v in body.items()}
    before = _audit_count()
    response = _send(client, "PATCH", f"/devices/{world['device']}", values)
    assert response.status_code == 422, response.content
    assert field in response.content.decode() and message in response.content.decode()
    assert _audit_count() == before


def test_provider_admin_may_not_protect_and_technicians_may_not_change(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    url = f"/devices/{world['device']}"
    admin = as_persona("provider_admin")
    assert _send(admin, "PATCH", url, {"name": "db"}).status_code == 200
    assert _send(admin, "PATCH", url, {"protected": True}).status_code == 403
    # Out of scope: as if it did not exist.
    hidden = f"/devices/{world['device_out_of_scope']}"
    assert _send(admin, "PATCH", hidden, {"name": "x"}).status_code == 404
    tech = as_persona("provider_tech")  # the same test client, signed in anew
    assert _send(tech, "PATCH", url, {"name": "db"}).status_code == 403
