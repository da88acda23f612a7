"""Deleting a maintenance window or a ring (decision 0031): the tenant's IT deletes one no
policy uses (audited with what it was); while a policy uses it the API answers 422 naming
every such policy, the page shows the same reason, and nothing changes. A provider may not
delete, and another tenant's window is not found."""

from __future__ import annotations

from tests.personas import World

from tandem.audit.models import AuditEntry
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.patching import services
from tandem.patching.models import MaintenanceWindow, PatchRing
from tandem.tenancy.models import Site, Tenant

SYSTEM = system_principal("test: window and ring deletion")


def _acme(world: World) -> Tenant:
    with system_context("test"):
        return Tenant.objects.get(pk=world["tenant"])


def _exists(model: type[MaintenanceWindow] | type[PatchRing], pk: int) -> bool:
    with system_context("test"):
        return model.objects.filter(pk=pk).exists()


def _audited(action: str, pk: int) -> list[AuditEntry]:
    with system_context("test"):
        return list(AuditEntry.objects.filter(action=action, target_id=str(pk)))


def test_a_window_used_by_policies_is_refused_with_their_names_then_deleted(
    as_persona, world
) -> None:  # type: ignore[no-untyped-def]
    acme = _acme(world)
    with system_context("test"):
        site = Site.objects.get(pk=world["site"])
    window = world["patch_window"]
    services.set_patch_policy(
        actor=SYSTEM, tenant=acme, level="tenant", settings={"maintenance_window_id": window}
    )
    services.set_patch_policy(
        actor=SYSTEM,
        tenant=acme,
        level="site",
        site=site,
        settings={"maintenance_window_id": window},
    )
    owner = as_persona("owner")
    url = f"/api/v1/patching/tenants/{world['tenant']}/windows/{window}"
    refused = owner.delete(url)
    assert refused.status_code == 422
    reason = refused.json()["detail"]
    text = reason if isinstance(reason, str) else str(reason)
    assert "World window" in text and "2 policies" in text
    assert "tenant" in text and f"site {site.name}" in text
    assert _exists(MaintenanceWindow, window) and not _audited(
        "patching.delete_maintenance_window", window
    )

    # A provider technician reads the policies but may not change them.
    assert as_persona("provider_tech").delete(url).status_code in (403, 404)

    # Both levels inherit again: the window goes, and the audit says what it was.
    for level, targets in (("tenant", {}), ("site", {"site": site})):
        services.set_patch_policy(
            actor=SYSTEM,
            tenant=acme,
            level=level,
            settings={"maintenance_window_id": None},
            **targets,
        )
    owner = as_persona("owner")
    assert owner.delete(url).status_code == 204
    assert not _exists(MaintenanceWindow, window)
    [entry] = _audited("patching.delete_maintenance_window", window)
    assert entry.changes["name"] == ["World window", None]
    assert owner.delete(url).status_code == 404


def test_the_policy_page_deletes_a_ring_or_says_why_not(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    acme = _acme(world)
    ring = world["patch_ring"]
    services.set_patch_policy(actor=SYSTEM, tenant=acme, level="tenant", settings={"ring_id": ring})
    owner = as_persona("owner")
    base = f"/tenants/{world['tenant']}/patching/"
    page = owner.get(base + "policies/")
    assert f'action="/tenants/{world["tenant"]}/patching/rings/{ring}/delete/"' in (
        page.content.decode()
    )
    refused = owner.post(base + f"rings/{ring}/delete/")
    assert refused.status_code == 422
    assert "The ring World ring is used by 1 policy: tenant." in refused.content.decode()
    assert _exists(PatchRing, ring)

    services.set_patch_policy(actor=SYSTEM, tenant=acme, level="tenant", settings={"ring_id": None})
    deleted = owner.post(base + f"rings/{ring}/delete/", follow=True)
    assert deleted.status_code == 200 and "Ring World ring deleted." in deleted.content.decode()
    assert not _exists(PatchRing, ring)
    assert _audited("patching.delete_patch_ring", ring)


def test_another_tenants_window_and_ring_are_not_found(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    other = as_persona("other_tenant_owner")
    api = f"/api/v1/patching/tenants/{world['other_tenant']}"
    assert other.delete(f"{api}/windows/{world['patch_window']}").status_code == 404
    assert other.delete(f"{api}/rings/{world['patch_ring']}").status_code == 404
    page = f"/tenants/{world['other_tenant']}/patching/windows/{world['patch_window']}/delete/"
    assert other.post(page).status_code == 404
    assert _exists(MaintenanceWindow, world["patch_window"])
    assert _exists(PatchRing, world["patch_ring"])
