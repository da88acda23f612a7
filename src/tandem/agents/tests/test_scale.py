"""Issue 11's scale work (decision 0028): the bench's simulated agents send what the real
agent sends, their inventories land, an unchanged check-in never reads the stored document,
and old report ids are pruned without forgetting any an agent could still send again."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tandem.agents.checkin_services import KEEP_NEWEST_REPORTS, purge_agent_reports
from tandem.agents.documents import state_hash
from tandem.agents.models import AgentReport, InstalledSoftware, PendingUpdate, SoftwareChange
from tandem.agents.tests.support import check_in, document, enrol, full, make_token, report
from tandem.agents.unchanged_services import _postgresql_statement
from tandem.bench import agent_templates as templates
from tandem.bench import agents as bench
from tandem.core.scoping import system_context
from tandem_agent import inventory as agent_inventory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("template", templates.TEMPLATES)
def test_simulated_documents_are_what_the_agent_would_send(template: str) -> None:
    doc = templates.document(7, seed=3, template=template)
    # Canonical as the agent makes them (every list sorted by id, ids unique), the same
    # for the same seed, and a delta the agent's own rules make and apply.
    assert agent_inventory.normalise(doc) == doc
    assert state_hash(templates.document(7, seed=3, template=template)) == state_hash(doc)
    after = templates.upgraded(doc, random.Random(1))
    change = templates.delta(doc, after)
    assert change == agent_inventory.delta(doc, after)
    assert agent_inventory.apply(doc, change) == after
    assert len(change["sections"]["software"]["changed"]) == 3


def test_templates_are_as_big_as_the_systems_they_stand_for() -> None:
    sizes = {t: len(templates.document(1, template=t)["software"]) for t in templates.TEMPLATES}
    assert 550 <= sizes["debian-server"] <= 650
    assert 1500 <= sizes["ubuntu-desktop"] <= 1800
    assert 140 <= sizes["windows-11"] <= 170


def test_the_bench_drives_the_check_in_and_the_inventory_lands() -> None:
    # As Django's test client does: the handler would close the test's connection (and
    # its transaction) at the end of each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = bench.run(devices=3, check_ins=2, workers=1, seed=5)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    printed = json.loads(bench.report(result, as_json=True))
    names = {figure["name"]: figure for figure in printed["figures"]}
    for phase in ("first full inventory", "unchanged check-in"):
        assert names[phase]["unit"] == "per s" and names[phase]["value"] > 0
        assert names[f"{phase} p50"]["value"] <= names[f"{phase} p95"]["value"]
    assert names["unchanged check-in"]["detail"]["requests"] == 6
    assert "database size per 10,000 devices" in names
    assert printed["failures"] == []
    assert "WSGI handler" in printed["driven"]
    # Every device's packages arrived, with the three upgrades of the delta phase applied.
    expected = [
        templates.upgraded(templates.document(i, 5), random.Random(f"5:upgrade:{i}"))
        for i in range(3)
    ]
    landed = printed["landed"]
    assert landed["devices"] == landed["with_inventory"] == 3
    assert landed["installed_software"] == sum(len(d["software"]) for d in expected)
    assert landed["pending_updates"] == sum(len(d["updates"]) for d in expected)
    assert landed["software_changes"] == 9
    assert printed["packages_per_device"] == round(landed["installed_software"] / 3)
    text = bench.report(result, as_json=False)
    assert f"{printed['packages_per_device']:,} packages per device" in text
    with system_context("test"):
        versions = dict(
            InstalledSoftware.objects.filter(
                tenant__slug=printed["tenant"], device__hostname=expected[0]["device"]["hostname"]
            ).values_list("title__item_id", "title__version")
        )
        assert versions == {item["id"]: item["version"] for item in expected[0]["software"]}
        assert SoftwareChange.objects.filter(tenant__slug=printed["tenant"]).count() == 9
        assert PendingUpdate.objects.filter(tenant__slug=printed["tenant"]).exists()


def test_an_unchanged_check_in_never_reads_the_stored_document(client, world) -> None:  # type: ignore[no-untyped-def]
    _token, secret = make_token(world)
    body = enrol(client, secret).json()
    first = document({f"p{n}": "1.0" for n in range(200)})
    check_in(client, body["credential"], body["device_id"], [full(1, first)])
    with CaptureQueriesContext(connection) as queries:
        answer = check_in(
            client,
            body["credential"],
            body["device_id"],
            [report(2, state_hash=state_hash(first), unchanged=True)],
        )
    assert answer.status_code == 200 and answer.json()["need_full"] is False
    # A statement prepared on the server (the unchanged lane on PostgreSQL, decision 0039)
    # is logged without its text: it is one of the lane's two, checked here by their text.
    logged = [q["sql"] for q in queries]
    lane = [_postgresql_statement(True), _postgresql_statement(False)]
    texts = [sql if sql is not None else " ".join(lane) for sql in logged]
    assert not [sql for sql in texts if "document_gz" in sql.split(" FROM ")[0]]
    assert not [sql for sql in lane if "document_gz" in sql]
    # Credential (with its device), the locked state, the report id, the sequence.
    statements = [sql for sql in texts if sql not in ("BEGIN", "COMMIT") and "SAVEPOINT" not in sql]
    assert len(statements) <= 5, statements


def test_old_report_ids_are_purged_but_the_newest_of_each_device_stay(client, world) -> None:  # type: ignore[no-untyped-def]
    _token, secret = make_token(world)
    body = enrol(client, secret).json()
    doc = document({"bash": "5.2"})
    check_in(client, body["credential"], body["device_id"], [full(1, doc)])
    now = timezone.now()
    with system_context("test: old report ids"):
        state_tenant = AgentReport.objects.get(device_id=body["device_id"]).tenant_id
        AgentReport.objects.filter(device_id=body["device_id"]).update(
            received_at=now - dt.timedelta(days=30)
        )
        AgentReport.objects.bulk_create(
            AgentReport(
                tenant_id=state_tenant,
                device_id=body["device_id"],
                report_id=uuid.uuid4(),
                sequence=n,
                kind="inventory",
                received_at=now - dt.timedelta(days=30 if n < 90 else 0),
            )
            for n in range(2, 100)
        )
    assert purge_agent_reports(keep=dt.timedelta(days=2), now=now) == 99 - KEEP_NEWEST_REPORTS
    with system_context("test"):
        left = sorted(
            AgentReport.objects.filter(device_id=body["device_id"]).values_list(
                "sequence", flat=True
            )
        )
    assert left == list(range(100 - KEEP_NEWEST_REPORTS, 100))
    # Nothing more to do the next day; the newest are still acknowledged when sent again.
    assert purge_agent_reports(keep=dt.timedelta(days=2), now=now) == 0
