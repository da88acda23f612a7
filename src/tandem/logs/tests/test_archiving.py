"""The archive worker (decisions 0040, 0041): the stream's ``archive`` group into the event
archive, searchable by host and field; what cannot be normalised is kept as received; a
batch delivered again is not archived twice."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from tandem.cli import main as tandem
from tandem.logs import archive, streams
from tandem.logs.archiving import ArchiveWorker

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_dirs(settings: Any, tmp_path: Path) -> Any:
    settings.LOG_STREAM = "embedded"
    settings.LOG_STREAM_DIR = tmp_path / "stream"
    settings.LOG_STREAM_ACK_WAIT_SECONDS = 1
    settings.LOG_ARCHIVE_DIR = tmp_path / "archive"
    streams.reset_stream()
    yield settings.LOG_ARCHIVE_DIR
    streams.reset_stream()


def sshd(host: str) -> dict[str, Any]:
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat(timespec="seconds")
    return {"syslog": f"<38>1 {at} {host} sshd 7 - - Failed password for root", "_tenant": 7}


def found(base: Path, tenant: int, **filters: Any) -> list[dict[str, Any]]:
    now = dt.datetime.now(dt.UTC)
    page = archive.search(
        base,
        tenant,
        start=now - dt.timedelta(hours=2),
        end=now + dt.timedelta(minutes=1),
        **filters,
    )
    return page.events


def drain() -> ArchiveWorker:
    worker = ArchiveWorker(name="test")
    worker.drain()
    worker.close()
    return worker


def test_events_are_archived_normalised_and_searchable(own_dirs):
    streams.append(7, 3, [sshd("web1"), sshd("web2"), {"odd": "shape", "_tenant": 7}])
    worker = drain()
    assert (worker.batches, worker.events) == (1, 3)
    [web1] = found(own_dirs, 7, host="web1")
    assert web1["process"]["name"] == "sshd" and web1["_tenant"] == 7
    assert [e["odd"] for e in found(own_dirs, 7, fields={"odd": "shape"})] == ["shape"]
    assert found(own_dirs, 8) == []
    assert tandem(["archive-worker", "--once"]) == 0  # nothing left


def test_a_batch_delivered_again_is_not_archived_twice(own_dirs):
    streams.append(7, 3, [sshd("web1")])
    first = ArchiveWorker(name="dying")
    [batch] = first.consumer.fetch(max_batches=1, timeout=0)
    with (
        mock.patch.object(first.consumer, "ack", side_effect=RuntimeError("killed")),
        pytest.raises(RuntimeError),
    ):
        first.process(batch)
    first.close()
    time.sleep(1.2)  # the ack wait
    assert drain().batches == 1
    assert len(found(own_dirs, 7, host="web1")) == 1
