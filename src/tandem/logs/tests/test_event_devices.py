"""Which device sent an event (decision 0045): ingest records it for a device credential and
for a syslog source mapped to a device, never from what the sender writes; the archive
keeps it; the search shows it and filters by it; a provider whose security monitoring is
narrowed to a site reads only the events of that site's devices (counts and histograms too).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.core.errors import InvalidInput
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.logs import archive, archiving, ingest, streams
from tandem.logs.archive.tests.support import windows_event
from tandem.logs.services import create_ingest_source
from tandem.logs.tests.test_ingest import lines, send, stored
from tandem.tenancy.models import Engagement, Tenant
from tandem.tenancy.services import rescope_engagement

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture(autouse=True)
def own_stream(settings: Any, tmp_path: Path) -> Any:
    settings.LOG_STREAM = "embedded"
    settings.LOG_STREAM_DIR = tmp_path / "stream"
    settings.LOG_ARCHIVE_DIR = tmp_path / "archive"
    streams.reset_stream()
    yield settings.LOG_STREAM_DIR
    streams.reset_stream()


def acme(world: Any) -> Tenant:
    with system_context("test: the tenant"):
        return Tenant.objects.get(pk=world["tenant"])


def test_a_device_credential_records_its_device_and_a_token_records_none(world, own_stream):
    claimed = {"message": "I am the domain controller", "_device": world["device_out_of_scope"]}
    assert send(lines(claimed), world.secrets["device_credential"]).status_code == 200
    assert send(lines(claimed), world.secrets["ingest_source"]).status_code == 200
    by_agent, by_token = stored(own_stream)
    assert by_agent.events[0]["_device"] == world["device"]  # the credential's, not the claim
    assert "_device" not in by_token.events[0]  # a token names no device; a claim is dropped


def test_a_syslog_source_mapped_to_a_device_records_it(world, own_stream):
    owner = resolve_principal(user_of(world, "owner"))
    firewall, _ = create_ingest_source(
        actor=owner,
        tenant=acme(world),
        name="Branch firewall",
        kind="syslog",
        allowed_networks=["10.7.0.1/32"],
        device_id=world["device_out_of_scope"],
    )
    ingest.take_events(source=ingest.source_for_sender("10.7.0.1"), events=[{"message": "deny"}])  # type: ignore[arg-type]
    [batch] = stored(own_stream)
    assert batch.source_id == firewall.pk
    assert batch.events[0]["_device"] == world["device_out_of_scope"]
    # The archive worker keeps it as the event's device.
    event = archiving.archivable(batch.events[0], timezone.now())
    assert event["_device"] == world["device_out_of_scope"]


@pytest.mark.parametrize(
    ("kind", "device", "reason"),
    [("http", "device", "Only a syslog"), ("syslog", "other_device", "No such device")],
)
def test_a_source_maps_only_to_a_device_of_its_tenant_and_only_for_syslog(
    world, kind, device, reason
):
    owner = resolve_principal(user_of(world, "owner"))
    with pytest.raises(InvalidInput, match=reason):
        create_ingest_source(
            actor=owner,
            tenant=acme(world),
            name="Mapped",
            kind=kind,
            allowed_networks=["10.7.0.2/32"],
            device_id=world[device],
        )


def _write(settings: Any, world: Any) -> None:
    """One event per Acme device (HQ, Branch, unplaced) and one with no device."""
    now = timezone.now()
    senders = {
        "hq": world["device"],
        "branch": world["device_out_of_scope"],
        "unplaced": world["device_unplaced"],
        "nobody": None,
    }
    events = []
    for minute, (user, device) in enumerate(senders.items(), start=1):
        event = {**windows_event(now - dt.timedelta(minutes=minute), user=user)}
        event["_tenant"] = world["tenant"]
        if device is not None:
            event["_device"] = device
        events.append(event)
    archive.append(settings.LOG_ARCHIVE_DIR, world["tenant"], events)


def _users(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.content
    return [
        item["event"]["Event"]["EventData"]["TargetUserName"] for item in answer.json()["events"]
    ]


def test_results_name_and_link_the_device_and_filter_by_it(settings, world, as_persona):
    _write(settings, world)
    owner = as_persona("owner")
    url = f"{API}/tenants/{world['tenant']}/events"
    answer = owner.get(url, {"range": "1h"})
    assert _users(answer) == ["hq", "branch", "unplaced", "nobody"]
    assert [item["device_id"] for item in answer.json()["events"]] == [
        world["device"],
        world["device_out_of_scope"],
        world["device_unplaced"],
        None,
    ]
    assert _users(owner.get(url, {"device": world["device_out_of_scope"]})) == ["branch"]
    assert owner.get(url, {"device": "x"}).status_code == 422
    page = owner.get(reverse("logs:event-search", args=[world["tenant"]]))
    text = page.content.decode()
    assert f'href="/devices/{world["device"]}/"' in text and "acme-hq-db01" in text
    filtered = owner.get(
        reverse("logs:event-search", args=[world["tenant"]]), {"device": world["device"]}
    )
    assert "acme-branch-pc07" not in filtered.content.decode()
    assert re.search(r'id="event-count">\s*1 event ', filtered.content.decode())


def test_the_histogram_in_the_api_and_on_the_page(settings, world, as_persona):
    _write(settings, world)
    owner = as_persona("owner")
    answer = owner.get(f"{API}/tenants/{world['tenant']}/events", {"range": "1h", "histogram": 1})
    histogram = answer.json()["histogram"]
    assert histogram["bucket_seconds"] == 60
    assert len(histogram["buckets"]) in (60, 61)  # a range not on whole minutes spans 61
    assert sum(bucket["count"] for bucket in histogram["buckets"]) == 4
    assert owner.get(f"{API}/tenants/{world['tenant']}/events").json()["histogram"] is None
    url = reverse("logs:event-search", args=[world["tenant"]])
    page = owner.get(url).content.decode()
    assert 'hx-get="?' in page and "count=histogram" in page  # loaded after the page
    partial = owner.get(url, {"count": "histogram"}).content.decode()
    assert partial.count("<rect ") in (60, 61) and "4 events · one bar per 1 minute" in partial
    inline = owner.get(url, {"count": "1", "range": "24h"}).content.decode()
    assert "4 events · one bar per 30 minutes" in inline


def _narrow_sentinel_to_hq(world: Any) -> None:
    with system_context("test: Sentinel's engagement"):
        engagement = Engagement.objects.get(pk=world["second_engagement"])
    rescope_engagement(
        actor=system_principal("test: narrow Sentinel to HQ"),
        engagement=engagement,
        site_ids=[world["site"]],
    )


def test_a_narrowed_provider_reads_only_its_devices_events(settings, world, as_persona):
    _write(settings, world)
    _narrow_sentinel_to_hq(world)
    sentinel = as_persona("second_provider_tech")
    url = f"{API}/tenants/{world['tenant']}/events"
    answer = sentinel.get(url, {"range": "24h", "histogram": "true"})
    # The Branch and unplaced devices are out of scope; an event with no device is in none.
    assert _users(answer) == ["hq"]
    assert answer.json()["count"] == 1
    assert sum(bucket["count"] for bucket in answer.json()["histogram"]["buckets"]) == 1
    # Asking for an out-of-scope device, or text only those events hold, finds nothing.
    assert _users(sentinel.get(url, {"device": world["device_out_of_scope"]})) == []
    for other in ("branch", "unplaced", "nobody"):
        assert _users(sentinel.get(url, {"field": f"TargetUserName={other}"})) == []
        assert _users(sentinel.get(url, {"text": other})) == []
    page_url = reverse("logs:event-search", args=[world["tenant"]])
    for params in ({"count": "1"}, {"count": "only"}, {"count": "histogram"}, {}):
        text = sentinel.get(page_url, {"range": "24h", **params}).content.decode()
        assert "acme-branch-pc07" not in text
        for other in ("branch", "unplaced", "nobody"):
            assert f"&quot;TargetUserName&quot;: &quot;{other}&quot;" not in text
        if params.get("count") in (None, "1"):
            assert "&quot;TargetUserName&quot;: &quot;hq&quot;" in text
        if params.get("count") in ("only", "1"):
            assert re.search(r'id="event-count">\s*1 event ', text)
        if params.get("count") == "histogram":
            assert "1 event · one bar per 30 minutes" in text
    # Acme's own IT still reads all four.
    assert len(_users(as_persona("owner").get(url, {"range": "24h"}))) == 4


def test_a_provider_narrowed_to_a_site_without_devices_reads_nothing(settings, world, as_persona):
    _write(settings, world)
    with system_context("test: Sentinel's engagement"):
        engagement = Engagement.objects.get(pk=world["second_engagement"])
    rescope_engagement(
        actor=system_principal("test: narrow Sentinel to an empty group"),
        engagement=engagement,
        site_ids=[world["site"]],
        asset_group_ids=[world["asset_group_out_of_scope"]],  # HQ and Branch PCs: no device
    )
    sentinel = as_persona("second_provider_tech")
    answer = sentinel.get(f"{API}/tenants/{world['tenant']}/events", {"histogram": "1"})
    assert _users(answer) == [] and answer.json()["count"] == 0
    assert sum(bucket["count"] for bucket in answer.json()["histogram"]["buckets"]) == 0
