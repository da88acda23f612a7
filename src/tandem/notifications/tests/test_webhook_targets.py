"""Webhooks reach public addresses only (decision 0018): internal targets are refused when
saved and when delivered (after resolution, at the address that was checked), unless the
operator allows them; the tenant's delivery log never says why a delivery failed.

The receiver (conftest) is a real HTTP server on 127.0.0.1: it must not be reached while
the operator has not allowed it, and is reached once allowed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from django.utils import timezone

from tandem.core.scoping import system_context
from tandem.notifications import services, targets
from tandem.notifications.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db

LOOPBACK_SPELLINGS = (
    "127.0.0.1",
    "2130706433",
    "0x7f.1",
    "0177.0.0.1",
    "127.1",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "localhost",
)


def _create(client, world, url: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/webhooks",
        {"tenant_id": world["tenant"], "url": url, "events": ["handoff"]},
        content_type="application/json",
    )


def _delivery_to(world, url: str) -> int:  # type: ignore[no-untyped-def]
    """A webhook saved as it was before these rules (straight into the table) and one due
    delivery to it."""
    with system_context("test: a webhook saved before the target rules"):
        hook = Webhook.objects.create(
            tenant_id=world["tenant"], url=url, secret="s" * 40, events=["handoff"]
        )
        return WebhookDelivery.objects.create(
            tenant_id=world["tenant"],
            webhook=hook,
            event="handoff",
            payload={"ticket": {"id": world["ticket"]}},
            next_attempt_at=timezone.now(),
        ).pk


def test_internal_targets_are_refused_when_saved(world, as_persona, receiver, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOWED_HOSTS = []
    owner = as_persona("owner")
    for host in (
        *LOOPBACK_SPELLINGS,
        "10.0.0.7",
        "192.168.1.10",
        "169.254.169.254",
        "[fe80::1]",
        "0.0.0.0",
        "testserver",  # one of the instance's own names (ALLOWED_HOSTS)
    ):
        answer = _create(owner, world, f"http://{host}:{receiver.port}/hook")
        assert answer.status_code == 422, host
        (error,) = answer.json()["detail"]
        assert error["loc"] == ["body", "url"] and "public internet addresses" in error["msg"]
    assert receiver.requests == []
    # A public name is accepted (it is checked again, resolved, at every delivery).
    assert _create(owner, world, "https://hooks.example.test/ok").status_code == 201


def test_an_internal_target_is_never_reached_and_the_log_stays_generic(
    world, receiver, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOWED_HOSTS = []
    for host in ("127.0.0.1", "2130706433", "[::ffff:127.0.0.1]"):
        delivery_id = _delivery_to(world, f"http://{host}:{receiver.port}/hook")
        with django_capture_on_commit_callbacks(execute=False):
            assert services.deliver_webhook(delivery_id=delivery_id) == "pending"
        with system_context("test"):
            row = WebhookDelivery.objects.get(pk=delivery_id)
        assert row.last_error == "Delivery failed." and row.response_code is None
    assert receiver.requests == []


def test_a_closed_port_and_a_refused_target_look_alike_in_the_log(
    world, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    # Allowed, but nothing listens there: the log does not say "connection refused".
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    delivery_id = _delivery_to(world, f"http://127.0.0.1:{closed_port}/")
    with django_capture_on_commit_callbacks(execute=False):
        services.deliver_webhook(delivery_id=delivery_id)
    with system_context("test"):
        assert WebhookDelivery.objects.get(pk=delivery_id).last_error == "Delivery failed."


def test_the_operator_allows_an_internal_host(
    world, as_persona, receiver, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.0/8"]
    assert _create(as_persona("owner"), world, receiver.url).status_code == 201
    delivery_id = _delivery_to(world, receiver.url)
    assert services.deliver_webhook(delivery_id=delivery_id) == "sent"
    assert len(receiver.requests) == 1
    headers, _body = receiver.requests[0]
    assert headers["Host"] == f"127.0.0.1:{receiver.port}"


def test_a_name_is_checked_after_resolution_and_connected_at_that_address(
    world, receiver, settings, monkeypatch, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    """A public-looking name that resolves to loopback is refused at delivery; allowed by
    name, it is reached at the address checked, with its own name in the Host header."""
    lookups: list[str] = []
    real = socket.getaddrinfo

    def resolve(host: str, port: int, *args, **kwargs):  # type: ignore[no-untyped-def]
        lookups.append(host)
        if host == "hooks.rebind.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(targets.socket, "getaddrinfo", resolve)
    url = f"http://hooks.rebind.test:{receiver.port}/hook"
    settings.WEBHOOK_ALLOWED_HOSTS = []
    delivery_id = _delivery_to(world, url)
    with django_capture_on_commit_callbacks(execute=False):
        assert services.deliver_webhook(delivery_id=delivery_id) == "pending"
    assert receiver.requests == [] and "hooks.rebind.test" in lookups

    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.rebind.test"]
    lookups.clear()
    delivery_id = _delivery_to(world, url)
    assert services.deliver_webhook(delivery_id=delivery_id) == "sent"
    # Resolved once: the connection went to that answer, not to a second lookup.
    assert lookups.count("hooks.rebind.test") == 1
    assert receiver.requests[0][0]["Host"] == f"hooks.rebind.test:{receiver.port}"


def test_every_resolved_address_must_be_allowed(monkeypatch, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOWED_HOSTS = []

    def resolve(host: str, port: int, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == "mixed.example":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
            ]
        raise socket.gaierror(socket.EAI_NONAME, "no such name")

    monkeypatch.setattr(targets.socket, "getaddrinfo", resolve)
    with pytest.raises(targets.TargetRefused):
        targets.checked_addresses("mixed.example", 443)


def _settings_with(allowed: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "TANDEM_WEBHOOK_ALLOWED_HOSTS": allowed}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import tandem.config.settings as s; print(s.WEBHOOK_ALLOWED_HOSTS)",
        ],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_operator_setting_is_checked_at_start() -> None:
    good = _settings_with("Hooks.Corp.Lan, 10.30.0.0/16, [::1], 127.0.0.1")
    assert good.returncode == 0, good.stderr
    assert "['hooks.corp.lan', '10.30.0.0/16', '[::1]', '127.0.0.1']" in good.stdout
    bad = _settings_with("hooks.corp.lan, http://evil.test/")
    assert bad.returncode != 0
    assert "TANDEM_WEBHOOK_ALLOWED_HOSTS" in bad.stderr and "http://evil.test/" in bad.stderr
