"""``POST /ingest/v1/events`` end to end, on the embedded stream in the test's own folder:
what a shipper sends, what it is answered, what lands in the stream (read back by a fresh
stream instance: the answer comes only once the events are durable) and what the source's
counters say."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest
from django.test import Client
from tests.personas import World, user_of

from tandem.accounts.principals import resolve_principal
from tandem.core.scoping import system_context
from tandem.logs import ingest, streams
from tandem.logs.models import IngestSource
from tandem.logs.services import create_ingest_source
from tandem.logs.streams.embedded import EmbeddedStream
from tandem.tenancy.models import Tenant

URL = "/ingest/v1/events"


@pytest.fixture(autouse=True)
def own_stream(settings: Any, tmp_path: Any) -> Any:
    settings.LOG_STREAM = "embedded"
    settings.LOG_STREAM_DIR = tmp_path / "stream"
    streams.reset_stream()
    yield settings.LOG_STREAM_DIR
    streams.reset_stream()


def stored(root: Any) -> list[streams.Batch]:
    """Every batch in the stream, read by a new instance (as another process would)."""
    consumer = EmbeddedStream(root).consumer("detection", "test")
    batches = []
    while got := consumer.fetch(max_batches=100, timeout=0):
        batches.extend(got)
        for batch in got:
            consumer.ack(batch)
    return batches


def send(body: bytes, token: str | None, *, gzipped: bool = False) -> Any:
    headers = {}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if gzipped:
        body = gzip.compress(body, mtime=0)
        headers["HTTP_CONTENT_ENCODING"] = "gzip"
    return Client().generic("POST", URL, body, content_type="application/x-ndjson", **headers)


def lines(*events: Any) -> bytes:
    return b"\n".join(e if isinstance(e, bytes) else orjson.dumps(e) for e in events) + b"\n"


def source(world: World, name: str = "ingest_source") -> IngestSource:
    with system_context("test: the source"):
        return IngestSource.objects.get(pk=world[name])


def test_a_gzip_batch_is_stored_as_received_with_its_tenant_and_source(world, own_stream):
    events = [
        {"message": f"sshd[{i}]: Failed password", "host": {"hostname": "web1"}} for i in range(3)
    ]
    answer = send(lines(*events), world.secrets["ingest_source"], gzipped=True)
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"accepted": 3, "refused": {}}
    [batch] = stored(own_stream)
    assert (batch.tenant_id, batch.source_id) == (world["tenant"], world["ingest_source"])
    for sent, kept in zip(events, batch.events, strict=True):
        assert kept["_tenant"] == world["tenant"] and kept["_source"] == world["ingest_source"]
        assert kept["_received"]
        assert {k: v for k, v in kept.items() if not k.startswith("_")} == sent
    assert source(world).accepted == 3


def test_bad_lines_are_refused_by_reason_and_cost_the_good_ones_nothing(
    world, settings, own_stream
):
    settings.INGEST_MAX_LINE_BYTES = 200
    body = lines(
        {"message": "good 1"},
        b'{"message": "cut',
        b'{"message": "\xff\xfe latin"}',
        {"message": "x" * 300},
        b"[1, 2]",
        {"message": "good 2"},
    )
    answer = send(body, world.secrets["ingest_source"])
    assert answer.status_code == 200
    assert answer.json() == {
        "accepted": 2,
        "refused": {
            "malformed_json": {"count": 2, "lines": [2, 5]},
            "invalid_utf8": {"count": 1, "lines": [3]},
            "oversized_line": {"count": 1, "lines": [4]},
        },
    }
    [batch] = stored(own_stream)
    assert [e["message"] for e in batch.events] == ["good 1", "good 2"]
    counted = source(world)
    assert counted.accepted == 2
    assert counted.refused_counts == {
        "malformed_json": 2,
        "invalid_utf8": 1,
        "oversized_line": 1,
        "broken_gzip": 0,
        "quota": 0,
    }


def test_a_body_with_no_usable_line_is_400_and_stores_nothing(world, own_stream):
    answer = send(b"not json\nneither\n", world.secrets["ingest_source"])
    assert answer.status_code == 400
    assert answer.json()["refused"]["malformed_json"]["lines"] == [1, 2]
    assert stored(own_stream) == []


def test_broken_gzip_is_refused_whole_and_counted(world, own_stream):
    truncated = gzip.compress(lines({"message": "a"}, {"message": "b"}))[:-6]
    answer = Client().generic(
        "POST",
        URL,
        truncated,
        content_type="application/x-ndjson",
        HTTP_AUTHORIZATION=f"Bearer {world.secrets['ingest_source']}",
        HTTP_CONTENT_ENCODING="gzip",
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "broken_gzip"
    assert stored(own_stream) == []
    assert source(world).refused_broken_gzip == 1


def test_a_gzip_bomb_stops_at_the_decompressed_limit(world, settings, own_stream):
    settings.INGEST_MAX_DECOMPRESSED_BYTES = 1024 * 1024
    bomb = b'{"m": "' + b"A" * (50 * 1024 * 1024) + b'"}\n'
    answer = send(bomb, world.secrets["ingest_source"], gzipped=True)
    assert answer.status_code == 413
    assert stored(own_stream) == []


def test_a_body_over_the_size_limit_is_413(world, settings, own_stream):
    settings.INGEST_MAX_BODY_BYTES = 1000
    answer = send(lines(*[{"message": "m" * 50}] * 40), world.secrets["ingest_source"])
    assert answer.status_code == 413
    assert stored(own_stream) == []


def test_over_the_tenant_quota_is_429_with_retry_after_and_nothing_stored(
    world, settings, own_stream
):
    settings.INGEST_TENANT_EVENTS_PER_MINUTE = 5
    token = world.secrets["ingest_source"]
    assert send(lines(*[{"n": i} for i in range(4)]), token).status_code == 200
    answer = send(lines(*[{"n": i} for i in range(2)]), token)
    assert answer.status_code == 429
    assert 1 <= int(answer["Retry-After"]) <= 60
    assert [len(b.events) for b in stored(own_stream)] == [4]
    assert source(world).refused_quota == 2
    # Another tenant's quota is its own.
    assert send(lines({"n": 1}), world.secrets["other_ingest_source"]).status_code == 200


def test_a_full_stream_is_429_and_the_batch_is_not_taken(world, settings, own_stream):
    settings.LOG_STREAM_MAX_BYTES = 4096
    streams.reset_stream()
    token = world.secrets["ingest_source"]
    statuses = [send(lines({"message": "z" * 500}), token).status_code for _ in range(12)]
    assert statuses[0] == 200 and statuses[-1] == 429
    taken = statuses.count(200)
    assert len(stored(own_stream)) == taken
    assert source(world).accepted == taken


def test_an_agent_sends_with_its_device_credential(world, own_stream):
    answer = send(
        lines({"Event": {"System": {"EventID": 4625}}}), world.secrets["device_credential"]
    )
    assert answer.status_code == 200, answer.content
    [batch] = stored(own_stream)
    assert batch.tenant_id == world["tenant"]
    with system_context("test: the agent source"):
        agents = IngestSource.objects.get(tenant_id=world["tenant"], kind="agent")
    assert batch.source_id == agents.pk and agents.accepted == 1


def test_a_sender_cannot_claim_another_tenant(world, own_stream):
    sent = {"message": "hello", "_tenant": world["other_tenant"], "_source": 1}
    assert send(lines(sent), world.secrets["ingest_source"]).status_code == 200
    [batch] = stored(own_stream)
    assert batch.events[0]["_tenant"] == world["tenant"]
    assert batch.events[0]["_source"] == world["ingest_source"]


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [
        (None, 401, "missing"),
        ("tdi_0000_unknown", 401, "unknown"),
        ("tdm_someapitoken", 401, "unknown"),
    ],
)
def test_without_a_known_credential_nothing_is_taken(world, own_stream, token, status, code):
    answer = send(lines({"message": "x"}), token)
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert stored(own_stream) == []


def test_a_session_is_no_credential_here(world, own_stream):
    client = Client()
    client.force_login(user_of(world, "owner"))
    answer = client.generic("POST", URL, lines({"m": 1}), content_type="application/x-ndjson")
    assert answer.status_code == 401
    assert stored(own_stream) == []


def test_a_body_larger_than_one_stream_record_is_appended_in_several(world, settings, own_stream):
    events = [{"message": "w" * 2000, "n": i} for i in range(1200)]  # ~2.4 MB, records of 1 MiB
    answer = send(lines(*events), world.secrets["ingest_source"], gzipped=True)
    assert answer.status_code == 200 and answer.json()["accepted"] == 1200
    batches = stored(own_stream)
    assert len(batches) >= 3
    assert [e["n"] for b in batches for e in b.events] == list(range(1200))


def test_several_gzip_members_are_read_in_turn(world, own_stream):
    body = gzip.compress(lines({"n": 1}), mtime=0) + gzip.compress(lines({"n": 2}), mtime=0)
    answer = Client().generic(
        "POST",
        URL,
        body,
        content_type="application/x-ndjson",
        HTTP_AUTHORIZATION=f"Bearer {world.secrets['ingest_source']}",
        HTTP_CONTENT_ENCODING="gzip",
    )
    assert answer.json() == {"accepted": 2, "refused": {}}


def test_a_syslog_sender_is_known_by_the_most_specific_network(world):
    from_owner = resolve_principal(user_of(world, "owner"))
    with system_context("test: the tenant"):
        acme = Tenant.objects.get(pk=world["tenant"])
    wide, _ = create_ingest_source(
        actor=from_owner, tenant=acme, name="LAN", kind="syslog", allowed_networks=["10.0.0.0/8"]
    )
    narrow, _ = create_ingest_source(
        actor=from_owner,
        tenant=acme,
        name="Firewall",
        kind="syslog",
        allowed_networks=["10.1.0.0/16", "2001:db8::/32"],
    )
    assert ingest.source_for_sender("10.1.2.3") == narrow
    assert ingest.source_for_sender("10.9.2.3") == wide
    assert ingest.source_for_sender("2001:db8::7") == narrow
    assert ingest.source_for_sender("192.0.2.1") is None
    assert ingest.source_for_sender("not an address") is None
