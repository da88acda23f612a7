"""Patch compliance on the persona world (decision 0033): the figures move with what the
agent reports, the preset is the tenant IT's to set (audited, bad input changes nothing),
and the page, the CSV and the API show the same figures. Dates come from "now"."""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.utils import timezone
from tests.personas import World

from tandem.assets.models import Device
from tandem.audit.models import AuditEntry
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context, within_tenant
from tandem.patching import queries, services
from tandem.patching.tests.support import INSTALLED, UPDATES, northwind_patches_hq_servers, report
from tandem.tenancy.models import Tenant

SYSTEM = system_principal("test: compliance")
DAY = dt.timedelta(days=1)


def _acme(world: World) -> Tenant:
    with system_context("test"):
        return Tenant.objects.get(pk=world["tenant"])


def _figures(world: World, now: dt.datetime) -> queries.TenantCompliance:
    with within_tenant(world["tenant"]):
        return queries.compliance_for_tenant(world["tenant"], now)


def _hq(found: queries.TenantCompliance, world: World):  # type: ignore[no-untyped-def]
    return next(d for d in found.evaluation.devices if d.device_id == world["device"])


def test_an_unrated_security_update_overdue_fails_the_device_until_it_is_installed(
    world,
) -> None:  # type: ignore[no-untyped-def]
    acme = _acme(world)
    # Look three weeks ahead: the openssl update (security, no severity: high under Cyber
    # Essentials) is then missing for longer than 14 days; a 30-day staleness keeps the
    # device in scope although its last check-in is as old.
    services.set_compliance_settings(
        actor=SYSTEM, tenant=acme, preset="cyber_essentials", staleness_days=30
    )
    report(world)
    later = timezone.now() + 21 * DAY
    found = _figures(world, later)
    assert found.in_scope >= 1
    hq = _hq(found, world)
    assert hq.current is False and hq.overdue["high"] == 1
    assert found.percent_current is not None and found.percent_current < 100
    failing_before = found.in_scope - found.current

    # Today the update is young: nothing is overdue on the device.
    assert _hq(_figures(world, timezone.now()), world).current is True

    # The agent installs it: the next inventory has openssl at the candidate.
    upgraded = {**INSTALLED, "openssl": UPDATES["openssl"][1]}
    report(world, installed=upgraded, updates={"curl": UPDATES["curl"]})
    after = _figures(world, later)
    assert _hq(after, world).current is True
    assert after.in_scope - after.current == failing_before - 1
    # Installed within the period: a time to patch for unknown severity, measured.
    assert after.overall.time_to_patch["unknown"].count == 1


def test_cis_preset_ignores_unrated_updates_and_custom_days_apply(world) -> None:  # type: ignore[no-untyped-def]
    acme = _acme(world)
    report(world)
    later = timezone.now() + 21 * DAY
    services.set_compliance_settings(actor=SYSTEM, tenant=acme, preset="cis_7_3", staleness_days=30)
    assert _hq(_figures(world, later), world).current is True
    found = _figures(world, later)
    assert found.evaluation.rule.label == "CIS Controls v8 7.3"


def test_a_device_not_seen_within_the_staleness_threshold_is_out_of_scope(world) -> None:  # type: ignore[no-untyped-def]
    report(world)
    found = _figures(world, timezone.now() + 20 * DAY)  # default staleness: 14 days
    hq = _hq(found, world)
    assert hq.in_scope is False and hq.current is None


def test_the_agents_pending_reboot_becomes_reboot_debt_after_the_threshold(world) -> None:  # type: ignore[no-untyped-def]
    report(world)
    upgraded = {**INSTALLED, "openssl": UPDATES["openssl"][1]}
    report(world, installed=upgraded, updates={"curl": UPDATES["curl"]}, reboot_required=True)
    with system_context("test"):
        device = Device.objects.get(pk=world["device"])
    assert device.reboot_pending is True and device.reboot_pending_since is not None
    assert _figures(world, timezone.now()).reboot_debt == 0
    services.set_compliance_settings(
        actor=SYSTEM, tenant=_acme(world), preset="cyber_essentials", staleness_days=30
    )
    later = _figures(world, timezone.now() + 8 * DAY)
    assert later.reboot_debt == 1 and _hq(later, world).in_reboot_debt
    # The device restarted: the agent says so, and the debt is gone.
    report(world, installed=upgraded, updates={"curl": UPDATES["curl"]}, reboot_required=False)
    with system_context("test"):
        device = Device.objects.get(pk=world["device"])
    assert device.reboot_pending is False and device.reboot_pending_since is None
    assert _figures(world, timezone.now() + 8 * DAY).reboot_debt == 0


def test_breakdown_by_party_follows_the_responsibility_matrix(world) -> None:  # type: ignore[no-untyped-def]
    northwind_patches_hq_servers(world)
    report(world)
    found = _figures(world, timezone.now())
    hq = _hq(found, world)
    assert hq.party_id == world["party"]
    with system_context("test"):
        device = Device.objects.select_related("tenant").get(pk=world["device"])
        assert hq.party_id == queries.approver_of(device).party_id
    assert world["party"] in {g.key for g in found.evaluation.by_party}


def test_settings_are_audited_and_bad_input_changes_nothing(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    url = f"/api/v1/patching/tenants/{world['tenant']}/compliance-settings"
    answer = owner.put(url, {"preset": "custom", "days": 21}, content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["preset"] == "custom" and answer.json()["days"] == 21
    with system_context("test"):
        entry = AuditEntry.objects.filter(action="patching.set_compliance_settings").last()
    assert entry is not None and entry.changes["compliance_days"] == [14, 21]
    for bad in ({"preset": "nist"}, {"preset": "custom", "days": 0}):
        refused = owner.put(url, bad, content_type="application/json")
        assert refused.status_code == 422, refused.content
    assert owner.get(url).json()["days"] == 21
    # A provider's technician reads the figures but may not set the rules.
    tech = as_persona("provider_tech")
    refused = tech.put(url, {"preset": "cis_7_3"}, content_type="application/json")
    assert refused.status_code in (403, 404)
    assert owner.get(url).json()["preset"] == "custom"


def test_page_csv_and_api_show_the_same_figures(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    report(world)
    owner = as_persona("owner")
    base = f"/api/v1/patching/tenants/{world['tenant']}"
    figures = owner.get(f"{base}/compliance").json()
    assert figures["preset"] == "cyber_essentials"
    overall = figures["overall"]
    assert overall["in_scope"] >= 1 and overall["percent_current"] == 100.0
    assert owner.get(f"{base}/compliance?period_days=0").status_code == 422

    page = owner.get(f"/tenants/{world['tenant']}/patching/compliance/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Patch compliance" in text and "Cyber Essentials" in text
    assert f"{overall['current']} of {overall['in_scope']}" in text

    for url in (f"{base}/compliance.csv", f"/tenants/{world['tenant']}/patching/compliance.csv"):
        answer = owner.get(url)
        assert answer["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode())))
        hq = next(r for r in rows if r["device_id"] == str(world["device"]))
        assert hq["in scope"] == "yes" and hq["current"] == "yes"

    summary = owner.get("/patching/compliance/")
    assert summary.status_code == 200 and "Acme" in summary.content.decode()


def test_the_settings_form_saves_and_refuses_bad_days(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    url = f"/tenants/{world['tenant']}/patching/compliance/settings/"
    owner.post(url, {"preset": "essential_eight", "internet_facing_group_id": world["asset_group"]})
    with within_tenant(world["tenant"]):
        chosen = queries.compliance_settings(world["tenant"])
    assert chosen.compliance_preset == "essential_eight"
    assert chosen.internet_facing_group_id == world["asset_group"]
    owner.post(url, {"preset": "custom", "days": "abc"})
    owner.post(url, {"preset": "custom", "days": "900"})
    with within_tenant(world["tenant"]):
        assert queries.compliance_settings(world["tenant"]).compliance_preset == "essential_eight"


def test_the_figures_take_a_fixed_number_of_queries(world, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    report(world)
    with django_assert_max_num_queries(12):
        _figures(world, timezone.now())
