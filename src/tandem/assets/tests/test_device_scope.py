"""Who sees which device (decision 0026): the tenant's own IT all of its devices, a provider
those inside its engagement's sites and asset groups, nobody another tenant's."""

from __future__ import annotations

import pytest
from django.db.models import Q
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.assets.models import Device
from tandem.assets.policies import PROTECT_DEVICE, device_scope, visible_devices
from tandem.assets.services import register_device
from tandem.core.policies import allowed
from tandem.core.principal import TenantAccess, system_principal
from tandem.core.scoping import principal_scope, system_context
from tandem.tenancy.models import Site, Tenant

pytestmark = pytest.mark.django_db

NAMES = ("device", "device_out_of_scope", "device_unplaced", "other_device")


def _seen(world, persona: str) -> set[str]:  # type: ignore[no-untyped-def]
    principal = resolve_principal(user_of(world, persona))
    with principal_scope(principal):
        ids = set(visible_devices(principal).values_list("pk", flat=True))
    return {name for name in NAMES if world[name] in ids}


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("owner", {"device", "device_out_of_scope", "device_unplaced"}),
        ("internal_tech", {"device", "device_out_of_scope", "device_unplaced"}),
        # Northwind: Acme's HQ site, and all of Globex.
        ("provider_tech", {"device", "other_device"}),
        # Narrow IT: Acme's Branch site only; an unplaced device is nobody's to guess.
        ("out_of_scope_tech", {"device_out_of_scope"}),
        # Sentinel: all of Acme, placed or not.
        ("second_provider_tech", {"device", "device_out_of_scope", "device_unplaced"}),
        ("other_tenant_owner", {"other_device"}),
        ("requester", set()),
        ("suspended_provider_tech", set()),
    ],
)
def test_each_persona_sees_the_devices_of_its_scope(world, persona, expected) -> None:  # type: ignore[no-untyped-def]
    assert _seen(world, persona) == expected


def _access(**scope) -> TenantAccess:  # type: ignore[no-untyped-def]
    return TenantAccess(
        tenant_id=1,
        membership_id=1,
        role_key="provider-technician",
        permissions=frozenset(),
        provider_id=7,
        party_id=3,
        **scope,
    )


def test_an_engagement_naming_sites_and_groups_needs_both() -> None:
    assert device_scope(_access()) == Q()
    both = device_scope(_access(site_ids=frozenset({2}), asset_group_ids=frozenset({5})))
    assert both == Q(site_id__in=[2]) & Q(asset_group_id__in=[5])
    # The tenant's own people are never narrowed.
    internal = TenantAccess(
        tenant_id=1,
        membership_id=1,
        role_key="internal-technician",
        permissions=frozenset(),
        party_id=3,
        site_ids=frozenset({2}),
    )
    assert device_scope(internal) == Q()


def test_only_the_tenants_own_it_may_protect_a_device(world) -> None:  # type: ignore[no-untyped-def]
    with system_context("test: a device"):
        device = Device.objects.get(pk=world["device"])
    owner = resolve_principal(user_of(world, "owner"))
    admin = resolve_principal(user_of(world, "provider_admin"))
    assert allowed(owner, PROTECT_DEVICE, device)
    assert allowed(admin, "assets.change_device", device)
    assert not allowed(admin, PROTECT_DEVICE, device)


def test_a_device_placed_later_at_a_providers_site_becomes_visible_to_it(world) -> None:  # type: ignore[no-untyped-def]
    actor = system_principal("test: enrol")
    with system_context("test: tenant and site"):
        acme = Tenant.objects.get(pk=world["tenant"])
        hq = Site.objects.get(pk=world["site"])
    device = register_device(actor=actor, tenant=acme, hostname="acme-hq-new", site=hq)
    tech = resolve_principal(user_of(world, "provider_tech"))
    with principal_scope(tech):
        assert visible_devices(tech).filter(pk=device.pk).exists()
