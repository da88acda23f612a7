"""The policy page's forms: the tenant's IT sets each level's policy, adds windows and rings
from the browser (not only through the API), with the reason shown when input is refused
and nothing changed; out-of-reach targets are 404."""

from __future__ import annotations

from django.utils import timezone
from tests.personas import World

from tandem.audit.models import AuditEntry
from tandem.core.scoping import system_context
from tandem.patching.models import MaintenanceWindow, PatchPolicy, PatchRing
from tandem.patching.tests.support import report, states


def _windows(world: World) -> list[MaintenanceWindow]:
    with system_context("test: windows"):
        # The persona world's own window is not this test's.
        return list(
            MaintenanceWindow.objects.filter(tenant_id=world["tenant"]).exclude(
                pk=world["patch_window"]
            )
        )


def _policies(world: World) -> dict[str, PatchPolicy]:
    with system_context("test: policies"):
        return {p.level: p for p in PatchPolicy.objects.filter(tenant_id=world["tenant"])}


def _window_post(name: str, rrule: str = "FREQ=WEEKLY;BYDAY=SA") -> dict[str, str]:
    start = (timezone.now() + timezone.timedelta(days=1)).strftime("%Y-%m-%dT02:00")
    return {
        "window-name": name,
        "window-rrule": rrule,
        "window-first_start": start,
        "window-time_zone": "Europe/Berlin",
        "window-duration_minutes": "240",
    }


def test_the_tenants_it_adds_a_window_and_a_ring_and_sets_the_tenant_policy(
    as_persona, world
) -> None:  # type: ignore[no-untyped-def]
    report(world)
    owner = as_persona("owner")
    base = f"/tenants/{world['tenant']}/patching/"
    page = owner.get(base + "policies/")
    assert page.status_code == 200
    assert b"Add a window" in page.content and b"Edit the tenant-wide policy" in page.content

    added = owner.post(base + "windows/new/", _window_post("Saturday night"))
    assert added.status_code == 302
    [window] = _windows(world)
    assert (window.name, window.time_zone, window.duration_minutes) == (
        "Saturday night",
        "Europe/Berlin",
        240,
    )
    ring = owner.post(
        base + "rings/new/",
        {
            "ring-name": "Pilot",
            "ring-order": "0",
            "ring-deferral_days": "2",
            "ring-min_successes": "1",
            "ring-max_failure_percent": "10",
        },
    )
    assert ring.status_code == 302
    with system_context("test: rings"):
        pilot = PatchRing.objects.get(tenant_id=world["tenant"], name="Pilot")
    assert pilot.deferral_days == 2

    form = owner.get(base + "policies/edit/")
    assert form.status_code == 200 and b"Saturday night" in form.content
    saved = owner.post(
        base + "policies/edit/",
        {
            "security_unknown": "auto",
            "maintenance_window_id": str(window.pk),
            "ring_id": str(pilot.pk),
            "reboot_mode": "always",
            "reboot_deadline_hours": "0",
            "excluded_packages": "",
        },
    )
    assert saved.status_code == 302, saved.content
    policy = _policies(world)["tenant"]
    assert policy.security_unknown == "auto"
    assert policy.maintenance_window_id == window.pk and policy.ring_id == pilot.pk
    # 0 is a value ("reboot at once"), an untouched choice inherits.
    assert policy.reboot_deadline_hours == 0 and policy.security_critical is None
    # The tenant's rule approves the unrated security update; curl (a bug fix) still waits.
    assert states(world)["openssl"].approval == "auto"
    assert states(world)["curl"].approval == "awaiting"
    with system_context("test: audit"):
        assert AuditEntry.objects.filter(action="patching.set_patch_policy").exists()
    # The form shows what is stored when opened again.
    again = owner.get(base + "policies/edit/")
    assert b'value="auto" selected' in again.content


def test_a_group_policy_and_a_device_policy_from_their_links(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    report(world)
    owner = as_persona("owner")
    base = f"/tenants/{world['tenant']}/patching/policies/edit/"
    group = f"{base}?level=asset_group&target_id={world['asset_group']}"
    assert owner.get(group).status_code == 200
    saved = owner.post(group, {"excluded_packages": "curl\n\n", "bugfix": "auto"})
    assert saved.status_code == 302
    assert states(world)["curl"].approval == "excluded"
    assert _policies(world)["asset_group"].excluded_packages == ["curl"]

    device_page = owner.get(f"/devices/{world['device']}/")
    link = f"?level=device&amp;target_id={world['device']}".encode()
    assert link in device_page.content
    device = f"{base}?level=device&target_id={world['device']}"
    assert owner.post(device, {"reboot_mode": "never"}).status_code == 302
    assert _policies(world)["device"].reboot_mode == "never"


def test_refused_input_says_why_and_changes_nothing(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    base = f"/tenants/{world['tenant']}/patching/"
    bad_rule = owner.post(base + "windows/new/", _window_post("Never", rrule="FREQ=SOMETIMES"))
    assert bad_rule.status_code == 422
    assert b"Add a window" in bad_rule.content and b'class="error"' in bad_rule.content
    bad_zone = owner.post(
        base + "windows/new/", {**_window_post("Mars"), "window-time_zone": "Mars/Olympus"}
    )
    assert bad_zone.status_code == 422
    assert _windows(world) == []
    empty = owner.post(base + "rings/new/", {"ring-name": ""})
    assert empty.status_code == 422
    bad_choice = owner.post(base + "policies/edit/", {"reboot_mode": "sometimes"})
    assert bad_choice.status_code == 422
    assert "tenant" not in _policies(world)
    # Another tenant's device, or a level that does not exist: as missing as no device.
    other = f"{base}policies/edit/?level=device&target_id={world['other_device']}"
    assert owner.get(other).status_code == 404
    assert owner.post(other, {"reboot_mode": "never"}).status_code == 404
    assert owner.get(f"{base}policies/edit/?level=planet&target_id=1").status_code == 404
    assert owner.get(f"{base}policies/edit/?level=site").status_code == 404
    assert _policies(world) == {}


def test_a_provider_reads_the_policies_but_does_not_set_them(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    admin = as_persona("provider_admin")
    base = f"/tenants/{world['tenant']}/patching/"
    page = admin.get(base + "policies/")
    assert page.status_code == 200 and b"Add a window" not in page.content
    assert admin.post(base + "policies/edit/", {"reboot_mode": "never"}).status_code == 404
    assert admin.post(base + "windows/new/", _window_post("Theirs")).status_code == 404
    assert _policies(world) == {} and _windows(world) == []
