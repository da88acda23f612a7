"""Rule packs per tenant (decision 0044): what the detection worker runs for each tenant,
custom rules checked on upload, and who may change what."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tandem.alerts.models import Alert
from tandem.alerts.pipeline import DetectionWorker
from tandem.audit.models import AuditEntry
from tandem.core.principal import TenantAccess, system_principal
from tandem.core.scoping import system_context
from tandem.detection import rulesets, services
from tandem.detection.models import CustomRule, DisabledRule
from tandem.detection.packs import STARTER
from tandem.detection.policies import may_change_rules_in
from tandem.detection.tests.world import DISABLED_RULE, ENABLED_RULE, custom_yaml
from tandem.logs import streams
from tandem.logs.normalise import normalise_event
from tandem.tenancy.models import Engagement, Tenant
from tandem.tenancy.services import rescope_engagement

pytestmark = pytest.mark.django_db

API = "/api/v1"
SSH_ROOT = ENABLED_RULE  # the starter pack's "Failed SSH password for root"
CUSTOM_ID = "7d9e2f10-5a4b-4c3d-8e2f-000000000044"
HOST = "acme-hq-db01"


def _line(text: str) -> dict[str, str]:
    """An RFC 5424 line from sshd on Acme's database server, a minute ago."""
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat(timespec="seconds")
    return {"syslog": f"<38>1 {at.replace('+00:00', 'Z')} {HOST} sshd 4242 - - {text}"}


@pytest.fixture(autouse=True)
def own_stream(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.LOG_STREAM = "embedded"
    settings.LOG_STREAM_DIR = tmp_path / "stream"
    settings.LOG_STREAM_ACK_WAIT_SECONDS = 1
    settings.DETECTION_CACHE_DIR = tmp_path / "sigma-cache"
    streams.reset_stream()
    yield
    streams.reset_stream()


def _tenant(world: Any, name: str) -> Tenant:
    with system_context("test: a tenant"):
        return Tenant.objects.get(pk=world[name])


def _rule_ids(tenant_id: int) -> list[str]:
    with system_context("test: the tenant's alerts"):
        return sorted(Alert.objects.filter(tenant_id=tenant_id).values_list("rule_id", flat=True))


def test_each_tenant_runs_its_own_rules_and_a_change_applies_without_a_restart(world):
    acme, globex = _tenant(world, "tenant"), _tenant(world, "other_tenant")
    actor = system_principal("test: tune Acme's rules")
    installed = rulesets.InstalledRules.load([("starter", STARTER)])
    worker = DetectionWorker(name="test-worker", rules=rulesets.TenantRules(installed))
    before_acme, before_globex = _rule_ids(acme.pk), _rule_ids(globex.pk)
    try:
        # Acme turns the root-password rule off: Globex still alerts on it, Acme does not.
        services.disable_rule(actor=actor, tenant=acme, rule_id=SSH_ROOT, reason="Keys only")
        failed_root = _line("Failed password for root from 203.0.113.9 port 51022 ssh2")
        streams.append(acme.pk, None, [failed_root])
        streams.append(globex.pk, None, [failed_root])
        worker.drain()
        assert _rule_ids(acme.pk) == before_acme
        assert _rule_ids(globex.pk) == sorted([*before_globex, SSH_ROOT])
        # The prefilter's Hyperscan databases are kept beside the compiled packs, so the
        # next worker start reads them instead of compiling (decision 0034).
        assert installed.engine.cache_dir == Path(settings.DETECTION_CACHE_DIR)
        assert list(installed.engine.cache_dir.glob("hyperscan-*.db"))

        # Acme uploads a rule of its own; the same worker applies it on the next batch,
        # for Acme only.
        services.upload_custom_rules(
            actor=actor,
            tenant=acme,
            files={"mine.yml": custom_yaml(CUSTOM_ID, "Acme backdoor", "acme-backdoor").encode()},
        )
        backdoor = _line("session opened by acme-backdoor")
        streams.append(acme.pk, None, [backdoor])
        streams.append(globex.pk, None, [backdoor])
        worker.drain()
        assert _rule_ids(acme.pk) == sorted([*before_acme, CUSTOM_ID])
        assert _rule_ids(globex.pk) == sorted([*before_globex, SSH_ROOT])

        # Turned back on, the built-in rule alerts for Acme again; the whole starter pack
        # turned off silences it again.
        services.enable_rule(actor=actor, tenant=acme, rule_id=SSH_ROOT)
        streams.append(acme.pk, None, [failed_root])
        worker.drain()
        assert SSH_ROOT in _rule_ids(acme.pk)
    finally:
        worker.close()


def test_a_pack_turned_off_matches_nothing_for_that_tenant_only(world):
    acme, globex = _tenant(world, "tenant"), _tenant(world, "other_tenant")
    hook = rulesets.TenantRules(rulesets.InstalledRules.load([("starter", STARTER)]))
    event = normalise_event(_line("Failed password for root from 203.0.113.9 port 1 ssh2"))
    assert [m.rule_id for m in hook.for_tenant(acme.pk).match(event)] == [SSH_ROOT]
    services.set_pack_enabled(
        actor=system_principal("test"),
        tenant=acme,
        pack_name="starter",
        enabled=False,
        reason="We run the community set",
    )
    assert hook.for_tenant(acme.pk).match(event) == []
    assert [m.rule_id for m in hook.for_tenant(globex.pk).match(event)] == [SSH_ROOT]


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _custom_count(tenant_id: int) -> int:
    with system_context("test: count custom rules"):
        return CustomRule.objects.filter(tenant_id=tenant_id).count()


GOOD = custom_yaml(CUSTOM_ID, "Acme good rule", "good-needle")
BAD_YAML = "title: broken\nid: 7d9e2f10-5a4b-4c3d-8e2f-000000000045\ndetection: [\n"
UNKNOWN_MODIFIER = GOOD.replace(
    "    keywords:\n        - 'good-needle'\n    condition: keywords",
    "    selection:\n        CommandLine|sparkles: x\n    condition: selection",
)
BAD_CONDITION = GOOD.replace("condition: keywords", "condition: keywords and nowhere")


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"broken.yml": BAD_YAML}, {"broken.yml": "parse error"}),
        ({"odd.yml": UNKNOWN_MODIFIER}, {"odd.yml": "sparkles"}),
        ({"cond.yml": BAD_CONDITION}, {"cond.yml": "nowhere"}),
        ({"noid.yml": GOOD.replace(f"id: {CUSTOM_ID}\n", "")}, {"noid.yml": "no id"}),
        ({"copy.yml": GOOD.replace(CUSTOM_ID, SSH_ROOT)}, {"copy.yml": "starter pack"}),
    ],
)
def test_a_rule_that_cannot_be_evaluated_is_refused_with_the_reason(
    as_persona, world, files, expected
):
    owner = as_persona("owner")
    [(name, text)] = files.items()
    url = f"{API}/tenants/{world['tenant']}/custom-rules"
    before = _custom_count(world["tenant"])
    response = owner.post(
        url, data=json.dumps({"source": text, "file_name": name}), content_type="application/json"
    )
    assert response.status_code == 422, response.content
    detail = json.dumps(response.json())
    for file_name, words in expected.items():
        assert file_name in detail and words in detail, detail
    assert _custom_count(world["tenant"]) == before


def test_a_zip_with_one_bad_file_is_refused_whole_with_reasons_per_file(as_persona, world):
    owner = as_persona("owner")
    before = _custom_count(world["tenant"])
    upload = io.BytesIO(_zip({"rules/good.yml": GOOD, "rules/bad.yml": BAD_CONDITION}))
    upload.name = "pack.zip"
    url = f"{API}/tenants/{world['tenant']}/custom-rules/upload"
    response = owner.post(url, {"file": upload})
    assert response.status_code == 422, response.content
    detail = json.dumps(response.json())
    assert "pack.zip:rules/bad.yml" in detail and "nowhere" in detail
    assert "pack.zip:rules/good.yml" not in detail
    assert _custom_count(world["tenant"]) == before

    # The page says the same, and stores nothing.
    upload = io.BytesIO(_zip({"rules/good.yml": GOOD, "rules/bad.yml": BAD_CONDITION}))
    upload.name = "pack.zip"
    page = owner.post(f"/tenants/{world['tenant']}/rules/upload/", {"file": upload})
    assert page.status_code == 422
    assert "pack.zip:rules/bad.yml" in page.content.decode()
    assert _custom_count(world["tenant"]) == before


def test_a_zip_and_multi_document_yaml_store_each_rule_and_an_edit_is_a_new_version(
    as_persona, world
):
    owner = as_persona("owner")
    second = custom_yaml("7d9e2f10-5a4b-4c3d-8e2f-000000000046", "Acme second rule", "n2")
    upload = io.BytesIO(_zip({"a.yml": GOOD + "---\n" + second}))
    upload.name = "pack.zip"
    response = owner.post(f"{API}/tenants/{world['tenant']}/custom-rules/upload", {"file": upload})
    assert response.status_code == 201, response.content
    saved = {r["rule_id"]: r for r in response.json()}
    assert set(saved) == {CUSTOM_ID, "7d9e2f10-5a4b-4c3d-8e2f-000000000046"}
    rule = saved[CUSTOM_ID]
    edited = GOOD.replace("good-needle", "better-needle")
    response = owner.put(
        f"{API}/custom-rules/{rule['id']}",
        data=json.dumps({"source": edited}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2 and "better-needle" in response.json()["source"]
    with system_context("test: the rule's history"):
        history = list(
            AuditEntry.objects.filter(action="detection.replace_custom_rule").values_list(
                "changes", flat=True
            )
        )
    assert any("good-needle" in json.dumps(c) and "better-needle" in json.dumps(c) for c in history)
    # Changing the id in an edit is refused: that is another rule.
    response = owner.put(
        f"{API}/custom-rules/{rule['id']}",
        data=json.dumps(
            {"source": edited.replace(CUSTOM_ID, "7d9e2f10-5a4b-4c3d-8e2f-0000000000aa")}
        ),
        content_type="application/json",
    )
    assert response.status_code == 422


def test_turning_something_off_needs_a_reason_and_is_audited(as_persona, world):
    owner = as_persona("owner")
    url = f"{API}/tenants/{world['tenant']}/rules/disable"
    body = {"rule_id": SSH_ROOT, "reason": ""}
    response = owner.post(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 422
    body["reason"] = "Root logs in with keys only"
    response = owner.post(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201
    assert (
        owner.post(url, data=json.dumps(body), content_type="application/json").status_code == 409
    )
    with system_context("test: the audit"):
        entry = AuditEntry.objects.filter(action="detection.disable_rule").latest("id")
    assert "Root logs in with keys only" in json.dumps(entry.changes)
    page = owner.get(f"/tenants/{world['tenant']}/rules/").content.decode()
    assert "Root logs in with keys only" in page and "World: noisy" in page


def test_the_monitoring_provider_reads_and_changes_only_when_the_engagement_allows(
    as_persona, world
):
    sentinel = as_persona("second_provider_tech")
    assert sentinel.get(f"/tenants/{world['tenant']}/rules/").status_code == 200
    assert sentinel.get(f"{API}/custom-rules/{world['other_custom_rule']}").status_code == 404
    northwind = as_persona("provider_tech")
    assert northwind.get(f"/tenants/{world['tenant']}/rules/").status_code == 404
    # A provider admin changes rules only through an engagement covering security
    # monitoring, allowing security.rules and not narrowed (plain data: no query).
    area = 7
    admin = TenantAccess(
        tenant_id=1,
        membership_id=1,
        role_key="provider-admin",
        permissions=frozenset({"detection.change_rules"}),
        party_id=2,
        provider_id=3,
        engagement_id=4,
        service_area_ids=frozenset({area}),
        engagement_actions=frozenset({"security.rules"}),
    )
    assert may_change_rules_in(admin, area)
    assert not may_change_rules_in(admin, 8)
    assert not may_change_rules_in(
        TenantAccess(**{**admin.__dict__, "engagement_actions": frozenset()}), area
    )
    assert not may_change_rules_in(
        TenantAccess(**{**admin.__dict__, "site_ids": frozenset({1})}), area
    )
    # Sentinel's technician holds no change permission at all: 403 before any lookup.
    body = {"rule_id": SSH_ROOT, "reason": "x"}
    url = f"{API}/tenants/{world['tenant']}/rules/disable"
    response = sentinel.post(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 403
    with system_context("test: Sentinel's engagement"):
        engagement = Engagement.objects.get(pk=world["second_engagement"])
    rescope_engagement(
        actor=system_principal("test: allow rules"),
        engagement=engagement,
        allowed_actions=["security.rules"],
    )
    with system_context("test: nothing changed"):
        assert not DisabledRule.objects.filter(tenant_id=world["tenant"], rule_id=SSH_ROOT).exists()
        assert DisabledRule.objects.filter(
            tenant_id=world["tenant"], rule_id=DISABLED_RULE
        ).exists()
