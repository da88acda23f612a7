"""Webhooks: managed by tenant owners, delivered signed to a real HTTP server, retried with
backoff, given up after five attempts."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.utils import timezone
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.audit.models import AuditEntry
from tandem.core.scoping import principal_scope, system_context
from tandem.notifications import services
from tandem.notifications.models import WebhookDelivery
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import Ticket
from tandem.tenancy.models import Party

pytestmark = pytest.mark.django_db


def _create(world, as_persona, url, events=("handoff",)):  # type: ignore[no-untyped-def]
    return as_persona("owner").post(
        "/api/v1/webhooks",
        {"tenant_id": world["tenant"], "url": url, "events": list(events)},
        content_type="application/json",
    )


def _handoff(world, django_capture_on_commit_callbacks) -> int:  # type: ignore[no-untyped-def]
    actor = resolve_principal(user_of(world, "internal_tech"))
    with system_context("test"):
        ticket = Ticket.objects.get(pk=world["ticket"])
        northwind = Party.objects.get(pk=world["party"])
    with principal_scope(actor), django_capture_on_commit_callbacks(execute=False) as callbacks:
        ticket_services.handoff_ticket(
            actor=actor, ticket=ticket, to_party=northwind, reason="Patch run"
        )
    assert callbacks, "the delivery is enqueued after commit"
    with system_context("test"):
        return WebhookDelivery.objects.filter(event="handoff").latest("pk").pk


def test_owner_manages_webhooks_and_the_secret_is_shown_once(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    with system_context("test"):
        audits = AuditEntry.objects.count()
    created = _create(world, as_persona, "https://hooks.example.test/a")
    assert created.status_code == 201
    body = created.json()
    assert len(body["secret"]) > 30 and body["events"] == ["handoff"]
    listed = as_persona("owner").get("/api/v1/webhooks").json()["items"]
    assert {w["url"] for w in listed} >= {"https://hooks.example.test/a"}
    assert all("secret" not in w for w in listed)
    assert body["secret"] not in as_persona("owner").get("/api/v1/webhooks").content.decode()

    again = _create(world, as_persona, "https://hooks.example.test/a")
    assert again.status_code == 409
    for bad in ("ftp://hooks.example.test/", "javascript:alert(1)", "https://" + "a" * 600):
        answer = _create(world, as_persona, bad)
        assert answer.status_code == 422, bad
        assert answer.json()["detail"][0]["loc"] == ["body", "url"]
    assert _create(world, as_persona, "https://x.test/", events=["nope"]).status_code == 422

    client = as_persona("owner")
    disabled = client.post(f"/api/v1/webhooks/{body['id']}/disable")
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    assert client.post(f"/api/v1/webhooks/{body['id']}/disable").status_code == 409
    with system_context("test"):
        assert AuditEntry.objects.count() == audits + 2
    # A technician and the other tenant's owner cannot touch it.
    assert as_persona("internal_tech").get("/api/v1/webhooks").status_code == 403
    other = as_persona("other_tenant_owner")
    assert other.get(f"/api/v1/webhooks/{body['id']}/deliveries").status_code == 404


def test_a_delivery_is_signed_and_logged(
    world, as_persona, receiver, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    secret = _create(world, as_persona, receiver.url).json()["secret"]
    delivery_id = _handoff(world, django_capture_on_commit_callbacks)

    assert services.deliver_webhook(delivery_id=delivery_id) == "sent"
    ((headers, body),) = receiver.requests
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Tandem-Signature"] == expected
    assert headers["X-Tandem-Event"] == "handoff"
    assert headers["X-Tandem-Delivery"] == str(delivery_id)
    payload = json.loads(body)
    assert payload["ticket"]["id"] == world["ticket"] and payload["reason"] == "Patch run"
    # Sent once: a second run of the task does nothing.
    assert services.deliver_webhook(delivery_id=delivery_id) == "skipped"
    assert len(receiver.requests) == 1

    with system_context("test"):
        webhook_id = WebhookDelivery.objects.get(pk=delivery_id).webhook_id
    log = as_persona("owner").get(f"/api/v1/webhooks/{webhook_id}/deliveries").json()
    (entry,) = log["items"]
    assert entry["status"] == "sent" and entry["response_code"] == 200 and entry["attempts"] == 1


def test_a_failing_endpoint_is_retried_with_backoff_then_given_up(
    world, as_persona, receiver, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    receiver.status = 500
    _create(world, as_persona, receiver.url)
    delivery_id = _handoff(world, django_capture_on_commit_callbacks)
    # Due whatever today is; 09:00 UTC is the same day in the page's zone.
    now = (timezone.now() + dt.timedelta(days=30)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )

    def row() -> WebhookDelivery:
        with system_context("test"):
            return WebhookDelivery.objects.get(pk=delivery_id)

    with django_capture_on_commit_callbacks(execute=False) as retries:
        assert services.deliver_webhook(delivery_id=delivery_id, now=now) == "pending"
    assert len(retries) == 1  # the next attempt is enqueued
    first = row()
    assert first.attempts == 1 and first.response_code == 500
    assert first.next_attempt_at == now + dt.timedelta(minutes=1)
    assert "500" in first.last_error
    # Not due yet: nothing is sent.
    assert services.deliver_webhook(delivery_id=delivery_id, now=now) == "skipped"

    waits = [dt.timedelta(minutes=5), dt.timedelta(minutes=30), dt.timedelta(hours=2)]
    for wait in waits:
        now = row().next_attempt_at  # type: ignore[assignment]
        assert services.deliver_webhook(delivery_id=delivery_id, now=now) == "pending"
        assert row().next_attempt_at == now + wait
    now = row().next_attempt_at  # type: ignore[assignment]
    assert services.deliver_webhook(delivery_id=delivery_id, now=now) == "failed"
    final = row()
    assert final.status == "failed" and final.attempts == 5 and final.next_attempt_at is None
    assert len(receiver.requests) == 5
