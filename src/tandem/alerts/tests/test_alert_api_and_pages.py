"""The alert queue, an alert's page and the API as people use them (decision 0037): who
sees what (a provider outside the security monitoring engagement gets 404), triage and
suppression with bad input refused, the events shown as escaped text, the queue's order,
filters and query count."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tandem.alerts.models import Alert, Suppression
from tandem.alerts.tests.support import detection, get, record
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.tenancy.models import Engagement
from tandem.tenancy.services import rescope_engagement

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _post(client, url, body=None):  # type: ignore[no-untyped-def]
    return client.post(API + url, data=json.dumps(body or {}), content_type="application/json")


def test_the_monitoring_provider_sees_the_alerts_and_others_get_404(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    sentinel = as_persona("second_provider_tech")
    ids = {a["id"] for a in sentinel.get(API + "/alerts?limit=100").json()["items"]}
    assert {world["alert"], world["alert_unplaced"]} <= ids
    assert world["other_alert"] not in ids
    assert sentinel.get(f"/alerts/{world['alert']}/").status_code == 200
    # Northwind sees the alert's device (HQ) but is not engaged for security monitoring.
    northwind = as_persona("provider_tech")
    assert northwind.get(API + "/alerts").json()["items"] == []
    assert northwind.get(f"{API}/alerts/{world['alert']}").status_code == 404
    assert northwind.get(f"/alerts/{world['alert']}/").status_code == 404
    assert northwind.get(f"/tenants/{world['tenant']}/alerts/").status_code == 404
    assert northwind.get(f"/devices/{world['device']}/").status_code == 200


def test_triage_needs_the_engagement_to_allow_it(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    sentinel = as_persona("second_provider_tech")
    url = f"/alerts/{world['alert']}/acknowledge"
    assert _post(sentinel, url).status_code == 403
    assert get(Alert, world["alert"]).status == "new"
    with system_context("test: Sentinel's engagement"):
        engagement = Engagement.objects.get(pk=world["second_engagement"])
    rescope_engagement(
        actor=system_principal("test: allow triage"),
        engagement=engagement,
        allowed_actions=["security.triage"],
    )
    sentinel = as_persona("second_provider_tech")
    response = _post(sentinel, url)
    assert response.status_code == 200 and response.json()["status"] == "acknowledged"


def test_bad_input_is_refused_and_changes_nothing(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    response = _post(owner, f"/alerts/{world['alert']}/false-positive", {"reason": "   "})
    assert response.status_code == 422
    assert get(Alert, world["alert"]).status == "new"
    url = f"/alerts/tenants/{world['tenant']}/suppressions"
    past = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    response = _post(owner, url, {"rule_id": "r", "reason": "Scanner", "expires_at": past})
    assert response.status_code == 422
    assert "future" in response.content.decode()
    response = _post(owner, url, {"rule_id": "r", "reason": "", "expires_at": past})
    assert response.status_code == 422
    with system_context("test: suppressions"):
        assert Suppression.objects.filter(tenant_id=world["tenant"]).count() == 1  # the world's
    soon = (timezone.now() + dt.timedelta(days=2)).isoformat()
    response = _post(owner, url, {"rule_id": "r", "reason": "Scanner", "expires_at": soon})
    assert response.status_code == 201 and response.json()["reason"] == "Scanner"
    # The page's form: the same rules, said in words.
    page = owner.post(
        f"/alerts/{world['alert']}/false-positive/", {"reason": ""}, follow=True
    ).content.decode()
    assert "a reason is required" in page
    assert get(Alert, world["alert"]).status == "new"


def test_the_events_are_shown_as_escaped_text(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = as_persona("owner").get(f"/alerts/{world['alert']}/").content.decode()
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(" in page
    assert "T1059.001" in page and "acme-hq-db01" in page


def test_the_queue_is_worst_first_filtered_and_paged_in_few_queries(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    for i, level in enumerate(["low", "critical", "medium", "critical"]):
        record(
            world["tenant"],
            detection(level=level, user=f"u{i}", at=now - dt.timedelta(minutes=10 - i)),
            now=now,
        )
    owner = as_persona("owner")
    items = owner.get(API + "/alerts?limit=100").json()["items"]
    severities = [a["severity"] for a in items]
    assert severities[:2] == ["critical", "critical"]
    assert items[0]["last_seen"] > items[1]["last_seen"]  # the latest first within a level
    assert severities == sorted(
        severities, key=["critical", "high", "medium", "low", "informational"].index
    )
    only_low = owner.get(API + "/alerts?severity=low").json()["items"]
    assert [a["severity"] for a in only_low] == ["low"]
    assert owner.get(API + "/alerts?status=resolved").json()["items"] == []
    for _ in range(2):  # warm the principal's caches
        owner.get("/alerts/?page=1")
    with CaptureQueriesContext(connection) as queries:
        response = owner.get("/alerts/?status=open")
    assert response.status_code == 200
    assert "Failed logon burst" in response.content.decode()
    assert len(queries) <= 20
