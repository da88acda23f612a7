"""Per-tenant placeholder lists (decision 0051): an installed rule refused only because the
placeholders it expands have no value runs for the tenant that gives them values, and for
no one else; the lists are checked, audited, and shown with the rules that use them."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tandem.alerts.models import Alert
from tandem.alerts.pipeline import DetectionWorker
from tandem.audit.models import AuditEntry
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.detection import queries, rulesets, services
from tandem.detection.engine import load_rules, load_rules_text
from tandem.detection.engine.diskcache import cache_files
from tandem.detection.models import CustomRule, PlaceholderList
from tandem.detection.packs import STARTER
from tandem.logs import streams
from tandem.logs.normalise import normalise_event
from tandem.tenancy.models import Tenant

pytestmark = pytest.mark.django_db

API = "/api/v1"
BREAKGLASS_ID = "5f0c1e2d-3b4a-4c5d-8e6f-000000000051"
BREAKGLASS = f"""title: Password login by a break-glass account
id: {BREAKGLASS_ID}
status: experimental
logsource:
    product: linux
    service: sshd
detection:
    selection:
        event.action: ssh_login
        event.method: password
        user.name|expand: '%breakglass_accounts%'
    condition: selection
level: high
"""
#: Refused for another reason too (a timestamp modifier): it stays refused whatever values.
HOURLY_ID = "5f0c1e2d-3b4a-4c5d-8e6f-000000000052"
HOURLY = f"""title: Login by a break-glass account at night
id: {HOURLY_ID}
logsource:
    product: linux
    service: sshd
detection:
    selection:
        user.name|expand: '%breakglass_accounts%'
        '@timestamp|hour': 3
    condition: selection
level: high
"""
COMMUNITY = Path(
    os.environ.get(
        "TANDEM_SIGMA_RULES", Path(__file__).resolve().parents[4].parent / "shared" / "sigma"
    )
)
CERTIGHOST = (
    COMMUNITY
    / "rules-emerging-threats/2026/Exploits/CVE-2026-54121"
    / "win_security_adcs_certighost_cert_issued_via_chase.yml"
)


@pytest.fixture(autouse=True)
def own_stream(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.LOG_STREAM = "embedded"
    settings.LOG_STREAM_DIR = tmp_path / "stream"
    settings.LOG_STREAM_ACK_WAIT_SECONDS = 1
    settings.DETECTION_CACHE_DIR = tmp_path / "sigma-cache"
    streams.reset_stream()
    yield
    streams.reset_stream()


@pytest.fixture
def site_pack(tmp_path: Path) -> Path:
    """An installed pack of the site's own: one rule waiting for a placeholder, one
    refused for another reason as well."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "VERSION").write_text("1.0\n")
    (folder / "linux_breakglass_password_login.yml").write_text(BREAKGLASS)
    (folder / "linux_breakglass_at_night.yml").write_text(HOURLY)
    return folder


def _tenant(world: Any, name: str) -> Tenant:
    with system_context("test: a tenant"):
        return Tenant.objects.get(pk=world[name])


def _login(user: str) -> dict[str, str]:
    """An RFC 5424 sshd line: ``user`` logged in with a password, a minute ago."""
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat(timespec="seconds")
    text = f"Accepted password for {user} from 203.0.113.9 port 51022 ssh2"
    return {"syslog": f"<38>1 {at.replace('+00:00', 'Z')} acme-hq-db01 sshd 4242 - - {text}"}


def _alerts(tenant_id: int, rule_id: str) -> int:
    with system_context("test: the tenant's alerts"):
        return Alert.objects.filter(tenant_id=tenant_id, rule_id=rule_id).count()


def _post(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_a_rule_waiting_for_a_placeholder_alerts_once_the_tenant_sets_the_list(
    as_persona, world, site_pack
):
    acme, globex = _tenant(world, "tenant"), _tenant(world, "other_tenant")
    installed = rulesets.InstalledRules.load([("starter", STARTER), ("site", site_pack)])
    services.sync_installed_packs(
        actor=system_principal("test: the worker records its packs"),
        rulesets=installed.rulesets,
    )
    worker = DetectionWorker(name="test-worker", rules=rulesets.TenantRules(installed))
    owner = as_persona("owner")
    try:
        # Without values the rule is refused, naming the placeholder, and raises nothing.
        [site] = [r for r in installed.rulesets if r.pack.name == "site"]
        reasons = {r.rule_id: r.reason for r in site.refused}
        assert reasons[BREAKGLASS_ID] == "unresolved placeholder: %breakglass_accounts%"
        assert reasons[HOURLY_ID] == "unsupported modifier: hour"
        summary = owner.get(f"{API}/tenants/{acme.pk}/detection-rules").json()
        [waiting] = summary["placeholder_rules"]
        assert waiting["rule_id"] == BREAKGLASS_ID
        assert waiting["missing"] == ["breakglass_accounts"] and not waiting["runs"]
        page = owner.get(f"/tenants/{acme.pk}/rules/").content.decode()
        assert "Password login by a break-glass account" in page
        assert "Rules refused here for a missing value" in page
        for tenant in (acme, globex):
            streams.append(tenant.pk, None, [_login("breakglass1")])
        worker.drain()
        assert _alerts(acme.pk, BREAKGLASS_ID) == _alerts(globex.pk, BREAKGLASS_ID) == 0

        # Acme lists its break-glass accounts: from the next batch the rule runs for
        # Acme, with Acme's values; Globex, without the list, still does not run it.
        version = queries.rules_version(acme.pk)
        cached = sorted(f.name for f in cache_files(settings.DETECTION_CACHE_DIR))
        response = _post(
            owner,
            f"{API}/tenants/{acme.pk}/placeholder-lists",
            {
                "name": "%breakglass_accounts%",
                "values": ["breakglass1", " svc-emergency* "],
                "description": "Accounts for when the directory is down",
            },
        )
        assert response.status_code == 201, response.content
        assert response.json()["name"] == "breakglass_accounts"
        assert response.json()["values"] == ["breakglass1", "svc-emergency*"]
        assert queries.rules_version(acme.pk) > version
        for tenant in (acme, globex):
            streams.append(
                tenant.pk,
                None,
                [_login("breakglass1"), _login("svc-emergency7"), _login("alice")],
            )
        worker.drain()
        assert _alerts(acme.pk, BREAKGLASS_ID) >= 1
        assert _alerts(globex.pk, BREAKGLASS_ID) == 0
        with system_context("test: the alert's events"):
            hosts = set(
                Alert.objects.filter(tenant_id=acme.pk, rule_id=BREAKGLASS_ID).values_list(
                    "host", flat=True
                )
            )
        assert hosts == {"acme-hq-db01"}
        # The tenant's values are compiled in memory: its list adds no file to the cache
        # folder (decision 0034's cleaning has nothing per tenant to remove).
        assert sorted(f.name for f in cache_files(settings.DETECTION_CACHE_DIR)) == cached
        # The rule refused for another reason stays refused, values or not.
        assert _alerts(acme.pk, HOURLY_ID) == 0
        summary = owner.get(f"{API}/tenants/{acme.pk}/detection-rules").json()
        assert [(r["rule_id"], r["runs"]) for r in summary["placeholder_rules"]] == [
            (BREAKGLASS_ID, True)
        ]
        page = owner.get(f"/tenants/{acme.pk}/rules/").content.decode()
        assert "Running with this tenant's values: Password login by a break-glass" in page
        other = as_persona("other_tenant_owner")
        summary = other.get(f"{API}/tenants/{globex.pk}/detection-rules").json()
        assert summary["placeholder_rules"][0]["missing"] == ["breakglass_accounts"]
    finally:
        worker.close()


def test_values_match_case_insensitively_and_a_pack_turned_off_takes_the_rule_with_it(
    world, site_pack
):
    acme = _tenant(world, "tenant")
    actor = system_principal("test: Acme's lists")
    hook = rulesets.TenantRules(
        rulesets.InstalledRules.load([("starter", STARTER), ("site", site_pack)])
    )
    services.sync_installed_packs(actor=actor, rulesets=hook.installed.rulesets)
    event = normalise_event(_login("BreakGlass1"))
    assert hook.for_tenant(acme.pk).match(event) == []
    row = services.create_placeholder_list(
        actor=actor, tenant=acme, name="breakglass_accounts", values=["breakglass1"]
    )
    assert [m.rule_id for m in hook.for_tenant(acme.pk).match(event)] == [BREAKGLASS_ID]
    # New values replace the old ones on the next batch.
    services.edit_placeholder_list(actor=actor, placeholder_list=row, values=["someone-else"])
    assert hook.for_tenant(acme.pk).match(event) == []
    services.edit_placeholder_list(actor=actor, placeholder_list=row, values=["breakglass*"])
    assert [m.rule_id for m in hook.for_tenant(acme.pk).match(event)] == [BREAKGLASS_ID]
    # The rule belongs to its pack: turning the pack (or the rule) off silences it.
    services.disable_rule(actor=actor, tenant=acme, rule_id=BREAKGLASS_ID, reason="Too noisy")
    assert hook.for_tenant(acme.pk).match(event) == []
    services.enable_rule(actor=actor, tenant=acme, rule_id=BREAKGLASS_ID)
    services.set_pack_enabled(
        actor=actor, tenant=acme, pack_name="site", enabled=False, reason="Not ours"
    )
    assert hook.for_tenant(acme.pk).match(event) == []


@pytest.mark.skipif(
    not CERTIGHOST.is_file(),
    reason=f"the community ruleset is not at {COMMUNITY} (set TANDEM_SIGMA_RULES)",
)
def test_the_community_certighost_rule_runs_with_the_tenants_domain_controllers(world, tmp_path):
    """The community rule the issue names (``%known_cdcs%``), from ../shared/sigma."""
    pack = tmp_path / "community"
    pack.mkdir()
    (pack / CERTIGHOST.name).write_bytes(CERTIGHOST.read_bytes())
    acme, globex = _tenant(world, "tenant"), _tenant(world, "other_tenant")
    hook = rulesets.TenantRules(rulesets.InstalledRules.load([("community", pack)]))
    [refusal] = hook.installed.rulesets[0].refused
    assert refusal.placeholders == ("known_cdcs",)

    def issued(attributes: str) -> dict[str, Any]:
        return {
            "Event": {
                "System": {"EventID": 4887, "Channel": "Security", "Computer": "ca01"},
                "EventData": {"Attributes": attributes},
            }
        }

    services.create_placeholder_list(
        actor=system_principal("test: Acme's DCs"),
        tenant=acme,
        name="known_cdcs",
        values=["dc01.acme.test", "10.0.0.10"],
    )
    rogue, known = issued("cdc:evil.example.net\nrmd:dc01$"), issued("cdc:dc01.acme.test")
    assert [m.rule_id for m in hook.for_tenant(acme.pk).match(rogue)] == [refusal.rule_id]
    assert hook.for_tenant(acme.pk).match(known) == []
    assert hook.for_tenant(globex.pk).match(rogue) == []


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"name": "known cdcs", "values": ["dc1"]}, "name", "between the percent signs"),
        ({"name": "a%b", "values": ["dc1"]}, "name", "between the percent signs"),
        ({"name": "x" * 101, "values": ["dc1"]}, "name", "up to 100"),
        ({"name": "dcs", "values": ["dc1", "  "]}, "values", "Value 2 is empty"),
        ({"name": "dcs", "values": ["d" * 501]}, "values", "longer than 500"),
        ({"name": "dcs", "values": []}, "values", ""),
        ({"name": "dcs", "values": ["v"] * 1001}, "values", ""),
    ],
)
def test_a_list_that_is_not_valid_is_refused_with_the_reason(as_persona, world, body, field, words):
    owner = as_persona("owner")
    response = _post(owner, f"{API}/tenants/{world['tenant']}/placeholder-lists", body)
    assert response.status_code == 422, response.content
    detail = json.dumps(response.json())
    assert field in detail and words in detail, detail
    with system_context("test: nothing stored"):
        assert not PlaceholderList.objects.filter(tenant_id=world["tenant"], name="dcs").exists()


def test_a_list_is_audited_with_its_values_and_a_name_twice_is_a_conflict(as_persona, world):
    owner = as_persona("owner")
    url = f"{API}/tenants/{world['tenant']}/placeholder-lists"
    body = {"name": "admin_workstations", "values": ["PAW-01", "PAW-02"]}
    created = _post(owner, url, body)
    assert created.status_code == 201
    assert _post(owner, url, body).status_code == 409
    row = created.json()
    response = owner.put(
        f"{API}/placeholder-lists/{row['id']}",
        data=json.dumps({"values": ["PAW-01", "PAW-03"], "description": "Privileged access"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["values"] == ["PAW-01", "PAW-03"]
    assert response.json()["changed_label"]
    with system_context("test: the list's history"):
        entry = AuditEntry.objects.filter(action="detection.change_placeholder_list").latest("id")
    assert "PAW-02" in json.dumps(entry.changes) and "PAW-03" in json.dumps(entry.changes)
    page = owner.get(f"/placeholder-lists/{row['id']}/").content.decode()
    assert "PAW-03" in page and "Privileged access" in page
    assert owner.delete(f"{API}/placeholder-lists/{row['id']}").status_code == 204
    with system_context("test: the list's history"):
        entry = AuditEntry.objects.filter(action="detection.delete_placeholder_list").latest("id")
    assert "PAW-03" in json.dumps(entry.changes)
    assert owner.get(f"{API}/placeholder-lists/{row['id']}").status_code == 404


def test_a_custom_rule_may_expand_a_list_which_then_cannot_be_deleted_under_it(as_persona, world):
    owner = as_persona("owner")
    tenant_id = world["tenant"]
    source = BREAKGLASS.replace(BREAKGLASS_ID, "5f0c1e2d-3b4a-4c5d-8e6f-0000000000c1").replace(
        "breakglass_accounts", "acme_world_dcs"
    )
    elsewhere = source.replace("acme_world_dcs", "no_such_list")
    response = _post(
        owner,
        f"{API}/tenants/{tenant_id}/custom-rules",
        {"source": elsewhere, "file_name": "mine.yml"},
    )
    assert response.status_code == 422 and "%no_such_list%" in response.content.decode()
    response = _post(
        owner, f"{API}/tenants/{tenant_id}/custom-rules", {"source": source, "file_name": "a.yml"}
    )
    assert response.status_code == 201, response.content
    [rule] = response.json()
    url = f"{API}/placeholder-lists/{world['placeholder_list']}"
    response = owner.delete(url)
    assert (
        response.status_code == 409
        and "Password login by a break-glass" in response.json()["detail"]
    )
    with system_context("test: the rule"):
        custom = CustomRule.objects.get(pk=rule["id"])
    services.set_custom_rule_enabled(
        actor=system_principal("test"), rule=custom, enabled=False, reason="Replaced"
    )
    assert owner.delete(url).status_code == 204


def test_the_tenant_page_adds_a_list_and_says_what_is_wrong(as_persona, world):
    owner = as_persona("owner")
    url = f"/tenants/{world['tenant']}/rules/placeholder-lists/"
    response = owner.post(url, {"name": "bad name", "values": "dc1\n"})
    assert response.status_code == 422
    assert "between the percent signs" in response.content.decode()
    response = owner.post(
        url, {"name": "known_cdcs", "values": "dc01.acme.test\n\n10.0.0.10\n", "description": "DCs"}
    )
    assert response.status_code == 302
    page = owner.get(f"/tenants/{world['tenant']}/rules/").content.decode()
    assert "%known_cdcs%" in page and "dc01.acme.test" in page
    # The monitoring provider reads the lists; Globex's are not on Acme's page.
    sentinel = as_persona("second_provider_tech")
    page = sentinel.get(f"/tenants/{world['tenant']}/rules/").content.decode()
    assert "%known_cdcs%" in page and "globex_world_dcs" not in page
    assert sentinel.get(f"/placeholder-lists/{world['other_placeholder_list']}/").status_code == 404


def test_every_missing_placeholder_of_a_rule_is_named():
    rule = BREAKGLASS.replace(
        "    condition: selection",
        "        source.ip|expand: '%jump_hosts%'\n    condition: selection",
    )
    [refusal] = load_rules_text({"r.yml": rule}).refused
    assert refusal.placeholders == ("breakglass_accounts", "jump_hosts")
    assert refusal.reason == "unresolved placeholder: %breakglass_accounts%, %jump_hosts%"
    both = load_rules_text(
        {"r.yml": rule}, placeholders={"breakglass_accounts": ["a"], "jump_hosts": ["10.*"]}
    )
    assert not both.refused and len(both.loaded) == 1


def test_the_starter_pack_waits_for_nothing(tmp_path):
    assert not [r for r in load_rules(STARTER).refused if r.placeholders]
