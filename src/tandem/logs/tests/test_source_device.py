"""A syslog source's device, changed after creation (decision 0045, amendment of
2026-12-06): on the sources page and through the API, audited; events taken from then on
carry the new device, events already taken keep the one they were recorded with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tandem.audit.models import AuditEntry
from tandem.core.scoping import system_context
from tandem.logs import ingest
from tandem.logs.models import IngestSource
from tandem.logs.tests.test_event_devices import API, own_stream  # noqa: F401 (autouse: its own stream)
from tandem.logs.tests.test_ingest import stored

pytestmark = pytest.mark.django_db


def _syslog(message: str) -> None:
    source = ingest.source_for_sender("198.51.100.241")
    assert source is not None
    ingest.take_events(source=source, events=[{"message": message}])


def _devices(root: Path) -> dict[str, Any]:
    return {e["message"]: e.get("_device") for batch in stored(root) for e in batch.events}


def test_the_sources_page_changes_a_syslog_sources_device(world, as_persona, settings):
    _syslog("before")
    client = as_persona("internal_tech")
    url = f"/tenants/{world['tenant']}/ingest-sources/"
    page = client.get(url).content.decode()
    assert f'action="{url}{world["syslog_source"]}/device/"' in page
    assert "No device" in page

    answer = client.post(
        f"{url}{world['syslog_source']}/device/", {"device_id": world["device"]}, follow=True
    )
    assert answer.status_code == 200
    shown = answer.content.decode()
    assert "events already archived keep the device they were recorded with" in shown
    assert f'value="{world["device"]}" selected' in shown
    _syslog("after")
    # The event taken before keeps what it was recorded with (no device); the new one
    # carries the device.
    assert _devices(settings.LOG_STREAM_DIR) == {"before": None, "after": world["device"]}
    with system_context("test: audit"):
        entry = AuditEntry.objects.filter(action="logs.change_ingest_source_device").get()
    assert entry.changes == {"device_id": [None, world["device"]]}

    # Back to no device: the next event carries none again.
    client.post(f"{url}{world['syslog_source']}/device/", {"device_id": ""})
    _syslog("later")
    assert _devices(settings.LOG_STREAM_DIR)["later"] is None


def test_the_page_refuses_a_device_of_another_tenant_with_the_reason(world, as_persona):
    client = as_persona("owner")
    url = f"/tenants/{world['tenant']}/ingest-sources/{world['syslog_source']}/device/"
    answer = client.post(url, {"device_id": world["other_device"]}, follow=True)
    assert "No such device in this tenant" in answer.content.decode()
    with system_context("test: the source"):
        assert IngestSource.objects.get(pk=world["syslog_source"]).device_id is None
    # The source named under another tenant's path is not found.
    other = f"/tenants/{world['other_tenant']}/ingest-sources/{world['syslog_source']}/device/"
    assert client.post(other, {"device_id": ""}).status_code == 404


def test_the_api_changes_the_device_and_says_why_it_will_not(world, as_persona):
    client = as_persona("owner")
    path = f"{API}/ingest-sources/{world['syslog_source']}/device"

    def put(source_path: str, device: Any) -> Any:
        return client.put(source_path, {"device_id": device}, content_type="application/json")

    answer = put(path, world["device_out_of_scope"])
    assert answer.status_code == 200, answer.content
    assert answer.json()["device_id"] == world["device_out_of_scope"]
    assert put(path, world["device_out_of_scope"]).status_code == 409  # unchanged
    assert put(path, world["other_device"]).status_code == 422
    http = f"{API}/ingest-sources/{world['ingest_source']}/device"
    refused = put(http, world["device"])
    assert refused.status_code == 422 and "Only a syslog" in refused.content.decode()
    assert put(path, None).json()["device_id"] is None
    # A provider who does not manage the tenant's sources is refused, and nothing changes.
    answer = as_persona("second_provider_tech").put(
        path, {"device_id": world["device"]}, content_type="application/json"
    )
    assert answer.status_code in (403, 404)
    with system_context("test: the source"):
        assert IngestSource.objects.get(pk=world["syslog_source"]).device_id is None
