"""Patching end to end on the persona world: states kept in step with the agent, policies
and their sources, approvals by the matrix's party only, the provider's queue, advisories,
windows and install plans. Dates come from "now" (the suite also runs a year shifted)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone
from tests.personas import World, user_of

from tandem.accounts.principals import resolve_principal
from tandem.assets.models import Device
from tandem.audit.models import AuditEntry
from tandem.core.errors import InvalidInput
from tandem.core.models import OutboxEvent
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.patching import queries, scheduling, services
from tandem.patching.cli import cmd_import_advisories
from tandem.patching.models import UpdateCatalogueEntry
from tandem.patching.tests.support import (
    missing_entry,
    northwind_patches_hq_servers,
    report,
    states,
)
from tandem.tenancy.models import Tenant

SYSTEM = system_principal("test: patching")


def _acme(world: World) -> Tenant:
    with system_context("test"):
        return Tenant.objects.get(pk=world["tenant"])


def _device(world: World) -> Device:
    with system_context("test"):
        return Device.objects.select_related("tenant").get(pk=world["device"])


def test_a_check_in_makes_the_catalogue_and_the_devices_missing_updates(world) -> None:  # type: ignore[no-untyped-def]
    report(world)
    found = states(world)
    assert sorted(found) == ["curl", "openssl"]
    openssl = found["openssl"]
    assert openssl.status == "missing" and openssl.installed_at is None
    assert openssl.entry.classification == "security" and openssl.entry.severity == "unknown"
    assert openssl.entry.source.startswith("Debian-Security")
    assert found["curl"].entry.classification == "bugfix"
    # Nothing installs unapproved: the built-in policy asks a person.
    assert {s.approval for s in found.values()} == {"awaiting"}
    with system_context("test"):
        events = OutboxEvent.objects.filter(type="device.pending_updates_changed").count()
    # The same inventory again: the set did not change, so no event and no new state.
    report(world)
    with system_context("test"):
        assert OutboxEvent.objects.filter(type="device.pending_updates_changed").count() == events
    assert sorted(states(world)) == ["curl", "openssl"]


def test_installed_when_the_software_reaches_the_candidate_superseded_when_replaced(world) -> None:  # type: ignore[no-untyped-def]
    report(world)
    report(
        world,
        installed={"openssl": "3.0.11-1~deb12u2", "curl": "7.88.1-10", "bash": "5.2.15-2"},
        updates={"curl": ("7.88.1-10", "7.88.1-10+deb12u6", False)},
    )
    with system_context("test"):
        rows = {
            (s.entry.package, s.entry.version): s
            for s in states(world)["openssl"]
            .__class__.objects.filter(device_id=world["device"])
            .select_related("entry")
        }
    assert rows[("openssl", "3.0.11-1~deb12u2")].status == "installed"
    assert rows[("openssl", "3.0.11-1~deb12u2")].installed_at is not None
    assert rows[("curl", "7.88.1-10+deb12u5")].status == "superseded"
    assert rows[("curl", "7.88.1-10+deb12u6")].status == "missing"


def test_policies_inherit_and_the_api_says_where_each_setting_comes_from(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    report(world)
    owner = as_persona("owner")
    url = f"/api/v1/patching/tenants/{world['tenant']}/policies"
    answer = owner.put(
        url,
        {"level": "tenant", "settings": {"security_unknown": "auto", "reboot_mode": "always"}},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    # The tenant's rule now approves the security update by policy; curl still waits.
    assert states(world)["openssl"].approval == "auto"
    assert states(world)["curl"].approval == "awaiting"
    answer = owner.put(
        url,
        {
            "level": "asset_group",
            "target_id": world["asset_group"],
            "settings": {"reboot_mode": "never"},
            "excluded_packages": ["curl"],
        },
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    assert states(world)["curl"].approval == "excluded"
    effective = owner.get(f"/api/v1/patching/devices/{world['device']}/effective-policy").json()
    assert effective["values"]["reboot_mode"] == "never"
    assert effective["sources"]["reboot_mode"] == "asset group Acme HQ servers"
    assert effective["sources"]["security_unknown"] == "tenant"
    assert effective["sources"]["ring_id"] == "default"
    assert effective["excluded_packages"] == {"curl": ["asset group Acme HQ servers"]}
    # Bad input: a clear error and nothing changed.
    refused = owner.put(
        url,
        {"level": "site", "settings": {"reboot_mode": "never"}},
        content_type="application/json",
    )
    assert refused.status_code == 422 and "target" in refused.content.decode()
    # A provider's admin reads policies but does not set them.
    admin = as_persona("provider_admin")
    assert admin.get(url).status_code == 200
    assert (
        admin.put(
            url, {"level": "tenant", "settings": {}}, content_type="application/json"
        ).status_code
        == 403
    )


def test_only_the_party_the_matrix_names_approves_and_who_approved_is_kept(
    as_persona, world
) -> None:  # type: ignore[no-untyped-def]
    northwind_patches_hq_servers(world)
    entry = missing_entry(world)
    url = f"/api/v1/patching/devices/{world['device']}/decisions"
    body = {"entry_ids": [entry], "approve": True, "reason": "Patch Tuesday"}
    # Acme's own IT holds the permission but is not the party the matrix names.
    refused = as_persona("internal_tech").post(url, body, content_type="application/json")
    assert refused.status_code == 403
    assert "Northwind" in refused.json()["detail"]
    assert states(world)["openssl"].approval == "awaiting"
    # Northwind's technician approves; the state records who, for which party, when.
    approved = as_persona("provider_tech").post(url, body, content_type="application/json")
    assert approved.status_code == 200, approved.content
    state = states(world)["openssl"]
    assert state.approval == "approved" and state.approved_party_id == world["party"]
    assert state.approved_by_id == user_of(world, "provider_tech").pk
    assert state.approval_reason == "Patch Tuesday" and state.approved_at is not None
    with system_context("test"):
        entry_row = AuditEntry.objects.filter(action="patching.approve_updates").latest("id")
        assert entry_row.party_id == world["party"]
    # Narrow IT does not even see the device.
    assert (
        as_persona("out_of_scope_tech").post(url, body, content_type="application/json").status_code
        == 404
    )


def test_the_providers_queue_lists_what_its_party_must_decide_across_tenants(
    as_persona, world
) -> None:  # type: ignore[no-untyped-def]
    northwind_patches_hq_servers(world)
    report(world)
    listed = as_persona("provider_tech").get("/api/v1/patching/approvals").json()
    assert {(i["device_id"], i["package"]) for i in listed} == {
        (world["device"], "openssl"),
        (world["device"], "curl"),
    }
    assert {i["party_name"] for i in listed} == {"Northwind MSP"}
    # Acme's IT is not the approving party for these: its queue is empty of them.
    assert as_persona("internal_tech").get("/api/v1/patching/approvals").json() == []
    page = as_persona("provider_tech").get("/patching/approvals/").content.decode()
    assert "Acme Corp" in page and "openssl" in page


def test_without_a_matrix_row_the_tenants_it_approves(world) -> None:  # type: ignore[no-untyped-def]
    entry = missing_entry(world)
    tech = resolve_principal(user_of(world, "internal_tech"))
    services.decide_updates(actor=tech, device=_device(world), entry_ids=[entry], approve=False)
    state = states(world)["openssl"]
    assert state.approval == "rejected" and state.approved_party_id == world["internal_party"]
    with pytest.raises(InvalidInput, match="Not missing"):
        services.decide_updates(
            actor=tech, device=_device(world), entry_ids=[999_999], approve=True
        )


def test_advisories_set_severity_and_cves_and_bad_files_change_nothing(world) -> None:  # type: ignore[no-untyped-def]
    report(world)
    tracker = {
        "openssl": {
            "CVE-2031-0001": {
                "releases": {
                    "bookworm": {
                        "status": "resolved",
                        "fixed_version": "3.0.11-1~deb12u2",
                        "urgency": "high",
                    }
                }
            }
        }
    }
    assert services.import_debian_advisories(actor=SYSTEM, data=tracker, release="bookworm") == 1
    entry = states(world)["openssl"].entry
    assert entry.severity == "high" and entry.cve_ids == ["CVE-2031-0001"]
    released = (timezone.now() - dt.timedelta(days=3)).date()
    csv_text = (
        "os_family,package,version,severity,cve_ids,released_on\n"
        f"linux,curl,7.88.1-10+deb12u5,critical,CVE-2031-0100,{released.isoformat()}\n"
    )
    assert services.import_advisory_csv(actor=SYSTEM, text=csv_text) == 1
    curl = states(world)["curl"].entry
    assert curl.severity == "critical" and curl.classification == "security"
    assert curl.released_at is not None and curl.released_at.date() == released
    with pytest.raises(InvalidInput, match="unknown severity"):
        services.import_advisory_csv(
            actor=SYSTEM,
            text="os_family,package,version,severity,cve_ids,released_on\nlinux,curl,7.88.1-10+deb12u5,dire,,\n",
        )
    with system_context("test"):
        assert UpdateCatalogueEntry.objects.get(pk=curl.pk).severity == "critical"


def test_windows_are_checked_and_approved_updates_are_planned_inside_them(
    as_persona, world
) -> None:  # type: ignore[no-untyped-def]
    report(world)
    owner = as_persona("owner")
    base = f"/api/v1/patching/tenants/{world['tenant']}"
    bad = owner.post(
        f"{base}/windows",
        {
            "name": "Bad",
            "rrule": "FREQ=SOMETIMES",
            "first_start": "2031-01-04T22:00:00",
            "time_zone": "Europe/Berlin",
            "duration_minutes": 60,
        },
        content_type="application/json",
    )
    assert bad.status_code == 422 and "recurrence rule" in bad.content.decode()
    first = (timezone.now() - dt.timedelta(days=30)).replace(
        tzinfo=None, hour=22, minute=0, second=0, microsecond=0
    )
    made = owner.post(
        f"{base}/windows",
        {
            "name": "Nightly",
            "rrule": "FREQ=DAILY",
            "first_start": first.isoformat(),
            "time_zone": "Europe/Berlin",
            "duration_minutes": 120,
        },
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    window = made.json()
    assert window["next_start"] is not None
    owner.put(
        f"{base}/policies",
        {
            "level": "tenant",
            "settings": {
                "security_unknown": "auto",
                "maintenance_window_id": window["id"],
                "reboot_mode": "always",
            },
        },
        content_type="application/json",
    )
    now = timezone.now()
    with system_context("test: planning"):
        devices, candidates = queries.install_plan_inputs(world["tenant"], now)
    plans = scheduling.plan_installs(devices=devices, candidates=candidates, now=now)
    assert [p.device_id for p in plans] == [world["device"]]
    plan = plans[0]
    assert [p.package for p in plan.packages] == ["openssl"]  # curl waits for a person
    assert plan.window_end - plan.window_start <= dt.timedelta(hours=2)
    assert plan.reboot_mode == "always" and plan.reboot_deadline is not None


def test_job_feedback_is_kept_on_the_state(world) -> None:  # type: ignore[no-untyped-def]
    entry = missing_entry(world)
    services.record_install_feedback(
        actor=SYSTEM,
        device=_device(world),
        entry_ids=[entry],
        outcome="failed",
        message="dpkg lock",
    )
    state = states(world)["openssl"]
    assert (state.last_job_outcome, state.last_job_message) == ("failed", "dpkg lock")
    with pytest.raises(InvalidInput):
        services.record_install_feedback(
            actor=SYSTEM, device=_device(world), entry_ids=[entry], outcome="maybe"
        )


def test_pages_show_the_dashboard_and_the_device_section(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    report(world)
    owner = as_persona("owner")
    board = owner.get(f"/tenants/{world['tenant']}/patching/").content.decode()
    assert "acme-hq-db01" in board and "2 missing update(s) await approval" in board
    device_page = owner.get(f"/devices/{world['device']}/").content.decode()
    assert "Updates" in device_page and "3.0.11-1~deb12u2" in device_page
    assert "Approve selected" in device_page  # Acme's IT approves here (no matrix row)
    policies = owner.get(f"/tenants/{world['tenant']}/patching/policies/").content.decode()
    assert "every update waits for approval" in policies
    # Approving from the page, as the device page's form does.
    entry = states(world)["openssl"].entry_id
    owner.post(
        f"/devices/{world['device']}/updates/decide/", {"entry_ids": [entry], "decision": "approve"}
    )
    assert states(world)["openssl"].approval == "approved"


def test_the_import_command_reads_a_tracker_file(tmp_path, world) -> None:  # type: ignore[no-untyped-def]
    report(world)
    path = tmp_path / "tracker.json"
    path.write_text(
        json.dumps(
            {
                "openssl": {
                    "CVE-2031-0009": {
                        "releases": {
                            "bookworm": {
                                "status": "resolved",
                                "fixed_version": "3.0.11-1~deb12u2",
                                "urgency": "medium",
                            }
                        }
                    }
                }
            }
        )
    )

    class Args:
        file = str(path)
        format = "debian"
        release = "bookworm"

    assert cmd_import_advisories(Args()) == 0  # type: ignore[arg-type]
    assert states(world)["openssl"].entry.cve_ids == ["CVE-2031-0009"]


def test_a_later_ring_waits_for_the_ring_before_it_to_pass_its_gate(world) -> None:  # type: ignore[no-untyped-def]
    report(world)
    acme = _acme(world)
    pilot = services.create_patch_ring(actor=SYSTEM, tenant=acme, name="Pilot", min_successes=1)
    broad = services.create_patch_ring(
        actor=SYSTEM, tenant=acme, name="Broad", order=1, deferral_days=2
    )
    services.set_patch_policy(
        actor=SYSTEM,
        tenant=acme,
        level="device",
        device=_device(world),
        settings={"security_unknown": "auto", "ring_id": broad.pk},
    )
    now = timezone.now()
    with system_context("test: planning"):
        _, candidates = queries.install_plan_inputs(world["tenant"], now)
    (openssl,) = [c for c in candidates if c.package == "openssl"]
    # Nobody in the pilot ring installed it yet: held back; and deferred by the ring's days.
    assert openssl.held_back
    assert openssl.installable_from is not None
    assert openssl.installable_from - states(world)["openssl"].missing_since == dt.timedelta(days=2)
    # In the pilot ring itself, nothing holds it back.
    services.set_patch_policy(
        actor=SYSTEM,
        tenant=acme,
        level="device",
        device=_device(world),
        settings={"security_unknown": "auto", "ring_id": pilot.pk},
    )
    with system_context("test: planning"):
        _, candidates = queries.install_plan_inputs(world["tenant"], now)
    assert not [c for c in candidates if c.package == "openssl"][0].held_back
