"""A sender's batch ids at ``POST /ingest/v1/events`` (decision 0050): a batch sent again
because its answer was lost gets the first answer and is not appended twice, whether the
receiver answered, died before its append, or died between its append and its answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from tandem.core.scoping import system_context
from tandem.logs import batch_services, streams
from tandem.logs.models import AcceptedBatch, IngestWindow
from tandem.logs.streams.embedded import EmbeddedStream
from tandem.logs.tests.test_ingest import URL, lines, source, stored


@pytest.fixture(autouse=True)
def own_stream(settings: Any, tmp_path: Any) -> Any:
    settings.LOG_STREAM = "embedded"
    settings.LOG_STREAM_DIR = tmp_path / "stream"
    streams.reset_stream()
    yield settings.LOG_STREAM_DIR
    streams.reset_stream()


def send(body: bytes, token: str, batch_id: str | None) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if batch_id is not None:
        headers["HTTP_TANDEM_BATCH_ID"] = batch_id
    return Client().generic("POST", URL, body, content_type="application/x-ndjson", **headers)


def claims() -> list[AcceptedBatch]:
    with system_context("test: batch ids"):
        return list(AcceptedBatch.objects.order_by("id"))


def quota_used(world: Any) -> int:
    """Events counted against the tenant's quota, over every minute."""
    with system_context("test: quota"):
        windows = IngestWindow.objects.filter(tenant_id=world["tenant"], source=None)
        return sum(windows.values_list("events", flat=True))


def as_if_died_long_ago() -> None:
    """The receiver that claimed the batch died: its claim is older than any request."""
    old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=batch_services.IN_FLIGHT_SECONDS + 5)
    with system_context("test: a receiver died"):
        AcceptedBatch.objects.update(updated_at=old)


def test_a_batch_sent_again_gets_the_same_answer_and_is_stored_once(world, own_stream):
    token = world.secrets["ingest_source"]
    body = lines({"n": 1}, {"n": 2}, b"{broken")
    first = send(body, token, "q1.1-2.2")
    again = send(body, token, "q1.1-2.2")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and first.json()["accepted"] == 2
    assert again["Tandem-Batch-Replayed"] == "true" and not first.has_header(
        "Tandem-Batch-Replayed"
    )
    assert [[e["n"] for e in b.events] for b in stored(own_stream)] == [[1, 2]]
    assert source(world).accepted == 2  # counted once
    # Another id (or none) is another batch, as is the same id from another sender.
    assert send(body, token, "q1.3-4.2").status_code == 200
    assert send(body, token, None).status_code == 200
    assert send(body, world.secrets["device_credential"], "q1.1-2.2").status_code == 200
    assert len(stored(own_stream)) == 3


def test_a_bad_batch_id_is_refused_and_nothing_is_stored(world, own_stream):
    answer = send(lines({"n": 1}), world.secrets["ingest_source"], "no spaces/slashes")
    assert answer.status_code == 400 and answer.json()["code"] == "batch_id"
    assert stored(own_stream) == [] and claims() == []


def test_a_batch_being_taken_is_asked_again_later(world, own_stream):
    src = source(world)
    stream = streams.get_stream()
    claim = batch_services.claim_batch(source=src, sender="", batch_id="q2.1", mark=stream.mark)
    assert claim.row is not None
    answer = send(lines({"n": 1}), world.secrets["ingest_source"], "q2.1")
    assert answer.status_code == 429 and answer.json()["code"] == "in_flight"
    assert int(answer["Retry-After"]) > 0
    assert stored(own_stream) == []


def test_a_receiver_that_died_before_appending_leaves_the_batch_to_the_resend(world, own_stream):
    src = source(world)
    batch_services.claim_batch(
        source=src, sender="", batch_id="q3.1", mark=streams.get_stream().mark
    )
    as_if_died_long_ago()
    answer = send(lines({"n": 1}), world.secrets["ingest_source"], "q3.1")
    assert answer.status_code == 200 and answer.json()["accepted"] == 1
    assert [len(b.events) for b in stored(own_stream)] == [1]


def test_a_receiver_that_died_mid_append_is_completed_not_repeated(world, own_stream, monkeypatch):
    """The dead receiver appended the first of the body's stream records, then died: the
    resend appends only the others, so every event is in the stream once, in order; the
    quota and the source's counter take the batch once too (the dead receiver had reserved
    the whole batch before appending, and counted nothing)."""
    events = [{"message": "w" * 2000, "n": i} for i in range(1200)]  # 3 records of 1 MiB
    body = lines(*events)
    real_append = EmbeddedStream.append
    calls: list[int] = []

    def dies_after_one(self: EmbeddedStream, *args: Any, **kwargs: Any) -> None:
        if calls:
            raise SystemExit("the receiver died")
        calls.append(1)
        real_append(self, *args, **kwargs)

    monkeypatch.setattr(EmbeddedStream, "append", dies_after_one)
    with pytest.raises(SystemExit):
        send(body, world.secrets["ingest_source"], "q4.1-1200.1200")
    monkeypatch.setattr(EmbeddedStream, "append", real_append)
    assert [claim.answer for claim in claims()] == [None]
    as_if_died_long_ago()

    answer = send(body, world.secrets["ingest_source"], "q4.1-1200.1200")
    assert answer.status_code == 200 and answer.json()["accepted"] == 1200
    batches = stored(own_stream)
    assert len(batches) >= 3
    assert [e["n"] for b in batches for e in b.events] == list(range(1200))
    assert quota_used(world) == 1200
    assert source(world).accepted == 1200
    replay = send(body, world.secrets["ingest_source"], "q4.1-1200.1200")
    assert replay.json() == answer.json() and len(stored(own_stream)) == 0  # all read above


def test_a_batch_over_quota_is_not_remembered(world, settings, own_stream):
    settings.INGEST_TENANT_EVENTS_PER_MINUTE = 1
    token = world.secrets["ingest_source"]
    assert send(lines({"n": 1}, {"n": 2}), token, "q5.1").status_code == 429
    assert claims() == []  # nothing taken: the resend is a new attempt
    settings.INGEST_TENANT_EVENTS_PER_MINUTE = 100
    assert send(lines({"n": 1}, {"n": 2}), token, "q5.1").status_code == 200
    assert [len(b.events) for b in stored(own_stream)] == [2]


def test_batch_ids_are_forgotten_after_a_day(world, own_stream):
    send(lines({"n": 1}), world.secrets["ingest_source"], "q6.1")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    assert batch_services.purge_accepted_batches(now=later) == 1
    assert claims() == []
