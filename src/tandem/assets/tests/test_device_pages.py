"""The device pages: a tenant's list with search and filters, the cross-tenant list, the
device page with its sections, the edit form and the retirement's confirmation."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tandem.assets.models import Device
from tandem.assets.queries import _SECTIONS, DeviceSection, register_device_section
from tandem.core.scoping import system_context

pytestmark = pytest.mark.django_db


def _text(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    return response.content.decode()  # type: ignore[no-any-return]


def _device(world, name: str = "device") -> Device:  # type: ignore[no-untyped-def]
    with system_context("test: a device"):
        return Device.objects.get(pk=world[name])


def test_the_tenant_list_searches_and_filters(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = reverse("assets:devices", args=[world["tenant"]])
    page = _text(client.get(url))
    assert "acme-hq-db01" in page and "acme-branch-pc07" in page and "3 devices" in page
    assert "globex-plc-gateway" not in page
    page = _text(client.get(url, {"q": "PC07"}))
    assert "acme-branch-pc07" in page and "acme-hq-db01" not in page
    page = _text(client.get(url, {"site": world["site"]}))
    assert "acme-hq-db01" in page and "acme-branch-pc07" not in page
    # A value that is no choice is ignored, as the desk's filters are.
    page = _text(client.get(url, {"site": world["other_site"], "os_family": "beos"}))
    assert "3 devices" in page
    assert reverse("assets:devices", args=[world["tenant"]]) in page  # the tenant menu entry


def test_a_provider_sees_its_scope_only_on_the_lists(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("provider_tech")
    page = _text(client.get(reverse("assets:devices", args=[world["tenant"]])))
    assert "acme-hq-db01" in page and "acme-branch-pc07" not in page
    # The cross-tenant list: Acme's HQ device and Globex's, with their tenants.
    page = _text(client.get(reverse("assets:all-devices")))
    assert "acme-hq-db01" in page and "globex-plc-gateway" in page and "Globex Industries" in page
    assert "acme-spare-laptop" not in page
    assert reverse("assets:all-devices") in page  # the workspace menu entry


def test_the_device_page_shows_identity_placement_and_sections(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = _text(as_persona("owner").get(reverse("assets:device", args=[world["device"]])))
    for text in (
        "acme-hq-db01",
        "hw-acme-hq-db01",
        "SN-ACME-HQ-DB01",
        "Acme HQ site",
        "Acme HQ servers",
    ):
        assert text in page
    assert "Never seen" in page
    # The agents app's sections, until it fills them.
    assert "Inventory" in page and "No inventory reported yet" in page
    assert "Pending updates" in page
    assert reverse("assets:device-edit", args=[world["device"]]) in page


def test_another_app_adds_a_section_without_assets_knowing_it(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    def inventory(principal, device):  # type: ignore[no-untyped-def]
        # Any template will do: the desk's tickets section, given no tickets.
        return DeviceSection(
            key="inventory",
            title="Inventory",
            template="servicedesk/tickets/_device_tickets.html",
            context={"tickets": [], "more": False},
        )

    register_device_section(inventory)
    try:
        page = _text(as_persona("owner").get(reverse("assets:device", args=[world["device"]])))
    finally:
        _SECTIONS.remove(inventory)
    assert "No inventory reported yet" not in page
    # The section renders in place of the placeholder (the device has tickets of its own).
    assert page.count("No tickets you may see name this device.") == 1


def test_edit_saves_and_refuses_bad_input(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = reverse("assets:device-edit", args=[world["device"]])
    form = _text(client.get(url))
    assert "Protected" in form
    rejected = client.post(
        url,
        {
            "name": "db",
            "site_id": world["site"],
            "asset_group_id": world["asset_group_out_of_scope"],
        },
    )
    assert rejected.status_code == 422
    assert "another site" in rejected.content.decode()
    assert _device(world).name == "acme-hq-db01"
    done = client.post(url, {"name": "Main DB", "site_id": world["site"], "protected": "on"})
    assert done.status_code == 302
    saved = _device(world)
    assert (saved.name, saved.asset_group_id, saved.protected) == ("Main DB", None, True)


def test_a_provider_admin_edits_without_the_protection(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("provider_admin")
    url = reverse("assets:device-edit", args=[world["device"]])
    assert "Protected" not in _text(client.get(url))
    # Its form offers Northwind's sites only: the Branch site is no choice.
    rejected = client.post(url, {"name": "db", "site_id": world["site_out_of_scope"]})
    assert rejected.status_code == 422
    assert _device(world).site_id == world["site"]


def test_retire_needs_the_tick(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = reverse("assets:device-retire", args=[world["device"]])
    assert "Retire" in _text(client.get(url))
    refused = client.post(url, {})
    assert refused.status_code == 422 and "Tick the box" in refused.content.decode()
    assert _device(world).status == "active"
    assert client.post(url, {"confirm": "yes"}).status_code == 302
    assert _device(world).status == "retired"
    page = _text(client.get(reverse("assets:device", args=[world["device"]])))
    assert "Retired" in page and "Retire…" not in page
