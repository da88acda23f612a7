"""Device writes: enrolment (register_device), changes and retirement. Each refusal names
its field and writes nothing; each write is audited and records its event."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.assets import services
from tandem.assets.models import Device
from tandem.audit.models import AuditEntry
from tandem.core.errors import InvalidInput
from tandem.core.models import OutboxEvent
from tandem.core.principal import system_principal
from tandem.core.scoping import principal_scope, system_context
from tandem.tenancy.models import AssetGroup, Site, Tenant

pytestmark = pytest.mark.django_db


def _get(model, pk):  # type: ignore[no-untyped-def]
    with system_context("test: load a row"):
        return model.objects.get(pk=pk)


def _events(kind: str) -> list[OutboxEvent]:
    with system_context("test: the outbox"):
        return list(OutboxEvent.objects.filter(type=kind).order_by("id"))


def _audit(action: str) -> list[AuditEntry]:
    with system_context("test: the audit log"):
        return list(AuditEntry.objects.filter(action=action).order_by("id"))


@pytest.fixture
def system():  # type: ignore[no-untyped-def]
    return system_principal("test: enrolment")


def test_register_places_the_device_and_records_its_enrolment(world, system) -> None:  # type: ignore[no-untyped-def]
    acme = _get(Tenant, world["tenant"])
    hq, servers = _get(Site, world["site"]), _get(AssetGroup, world["asset_group"])
    device = services.register_device(
        actor=system,
        tenant=acme,
        site=hq,
        asset_group=servers,
        hostname=" web01 ",
        hardware_id="abc-123",
        os_family="linux",
        os_name="Debian GNU/Linux",
        os_version="12",
    )
    assert (device.name, device.hostname, device.status) == ("web01", "web01", "active")
    assert device.site_id == hq.pk and device.asset_group_id == servers.pk
    (entry,) = [e for e in _audit("assets.register_device") if e.target_id == str(device.pk)]
    assert entry.changes["hardware_id"] == [None, "abc-123"]
    (event,) = [e for e in _events("device.enrolled") if e.payload["device_id"] == device.pk]
    assert event.payload["reenrolled"] is False and event.tenant_id == acme.pk


def test_the_same_hardware_is_refused_unless_re_enrolment_is_asked_for(world, system) -> None:  # type: ignore[no-untyped-def]
    acme = _get(Tenant, world["tenant"])
    with pytest.raises(InvalidInput) as refused:
        services.register_device(
            actor=system, tenant=acme, hostname="x", hardware_id="hw-acme-hq-db01"
        )
    assert "already enrolled" in refused.value.field_errors["hardware_id"][0]

    again = services.register_device(
        actor=system,
        tenant=acme,
        hostname="acme-hq-db01-new",
        hardware_id="hw-acme-hq-db01",
        replace_existing=True,
    )
    assert again.pk == world["device"]  # the same device, its history and tickets kept
    assert again.hostname == "acme-hq-db01-new" and again.site_id is None
    # The newest: the persona world's agent already enrolled this device once
    # (tandem.agents.tests.world).
    entry = _audit("assets.reenrol_device")[-1]
    assert entry.changes["hostname"] == ["acme-hq-db01", "acme-hq-db01-new"]
    assert entry.changes["site_id"] == [world["site"], None]
    # Another tenant may hold the same hardware id: ids are unique per tenant.
    globex = _get(Tenant, world["other_tenant"])
    other = services.register_device(
        actor=system, tenant=globex, hostname="y", hardware_id="hw-acme-hq-db01"
    )
    assert other.tenant_id == globex.pk


def test_register_refuses_another_tenants_site_and_a_group_of_another_site(world, system) -> None:  # type: ignore[no-untyped-def]
    acme = _get(Tenant, world["tenant"])
    with system_context("test: count"):
        before = Device.objects.count()
    with pytest.raises(InvalidInput) as refused:
        services.register_device(
            actor=system, tenant=acme, hostname="x", site=_get(Site, world["other_site"])
        )
    assert refused.value.field_errors == {"site_id": ["Not of this tenant."]}
    with pytest.raises(InvalidInput) as refused:
        services.register_device(
            actor=system,
            tenant=acme,
            hostname="x",
            site=_get(Site, world["site"]),
            asset_group=_get(AssetGroup, world["asset_group_out_of_scope"]),
        )
    assert "another site" in refused.value.field_errors["asset_group_id"][0]
    with pytest.raises(InvalidInput) as refused:
        services.register_device(actor=system, tenant=acme)
    assert "name" in refused.value.field_errors
    with system_context("test: count"):
        assert Device.objects.count() == before


def test_update_renames_places_and_protects(world) -> None:  # type: ignore[no-untyped-def]
    owner = resolve_principal(user_of(world, "owner"))
    device = _get(Device, world["device_unplaced"])
    with principal_scope(owner):
        saved = services.update_device(
            actor=owner,
            device=device,
            name="Spare laptop",
            site_id=world["site_out_of_scope"],
            asset_group_id=world["asset_group_out_of_scope"],
            protected=True,
        )
    assert (saved.name, saved.site_id, saved.protected) == (
        "Spare laptop",
        world["site_out_of_scope"],
        True,
    )
    (entry,) = [e for e in _audit("assets.change_device") if e.target_id == str(device.pk)]
    assert entry.changes["protected"] == [False, True]
    (event,) = [e for e in _events("device.updated") if e.payload["device_id"] == device.pk]
    assert event.payload["fields"] == ["asset_group_id", "name", "protected", "site_id"]
    # Clearing the site and group with None.
    with principal_scope(owner):
        cleared = services.update_device(
            actor=owner, device=saved, site_id=None, asset_group_id=None
        )
    assert cleared.site_id is None and cleared.asset_group_id is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"site_id": "other_site"}, "site_id", "No such site in this tenant."),
        ({"site_id": 999_999}, "site_id", "No such site in this tenant."),
        (
            {"asset_group_id": "other_asset_group"},
            "asset_group_id",
            "No such asset group in this tenant.",
        ),
        ({"asset_group_id": "asset_group_out_of_scope"}, "asset_group_id", "another site"),
        ({"name": "  "}, "name", "Name the device."),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(world, changes, field, message) -> None:  # type: ignore[no-untyped-def]
    owner = resolve_principal(user_of(world, "owner"))
    device = _get(Device, world["device"])
    values = {
        k: world[v] if isinstance(v, str) and v in world.ids else v for k, v in changes.items()
    }
    with principal_scope(owner), pytest.raises(InvalidInput) as refused:
        services.update_device(actor=owner, device=device, **values)
    assert message in refused.value.field_errors[field][0]
    fresh = _get(Device, world["device"])
    assert (fresh.name, fresh.site_id, fresh.asset_group_id) == (
        device.name,
        device.site_id,
        device.asset_group_id,
    )


def test_a_provider_admin_changes_within_its_scope_but_never_the_protection(world) -> None:  # type: ignore[no-untyped-def]
    admin = resolve_principal(user_of(world, "provider_admin"))
    device = _get(Device, world["device"])
    with principal_scope(admin):
        assert services.update_device(actor=admin, device=device, name="db01").name == "db01"
        with pytest.raises(PermissionDenied):
            services.update_device(actor=admin, device=device, protected=True)
        # Northwind sees HQ only: the Branch site is no site it can name.
        with pytest.raises(InvalidInput) as refused:
            services.update_device(actor=admin, device=device, site_id=world["site_out_of_scope"])
        assert refused.value.field_errors == {"site_id": ["No such site in this tenant."]}
        # Clearing the site would move the device out of its scope: refused too.
        with pytest.raises(InvalidInput):
            services.update_device(actor=admin, device=device, site_id=None, asset_group_id=None)
    assert _get(Device, world["device"]).site_id == world["site"]


def test_retire_once(world) -> None:  # type: ignore[no-untyped-def]
    owner = resolve_principal(user_of(world, "owner"))
    device = _get(Device, world["device"])
    with principal_scope(owner):
        retired = services.retire_device(actor=owner, device=device)
        assert retired.status == "retired"
        with pytest.raises(InvalidInput):
            services.retire_device(actor=owner, device=retired)
        with pytest.raises(InvalidInput):
            services.update_device(actor=owner, device=retired, name="back")
    assert [e.payload["device_id"] for e in _events("device.retired")] == [device.pk]
    assert len(_audit("assets.retire_device")) == 1


def test_a_technician_cannot_change_devices(world) -> None:  # type: ignore[no-untyped-def]
    tech = resolve_principal(user_of(world, "provider_tech"))
    with principal_scope(tech), pytest.raises(PermissionDenied):
        services.update_device(actor=tech, device=_get(Device, world["device"]), name="x")
