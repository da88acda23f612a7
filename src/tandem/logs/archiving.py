"""The archive worker (decisions 0040 and 0041): the stream's ``archive`` group into the
event archive (``tandem.logs.archive``, hourly Parquet per tenant under
``TANDEM_DATA_DIR/archive``), so an analyst can search what happened around an alert.

Each event is kept normalised when it can be (its ``_time``, host and log source become
the archive's columns) and as received when it cannot: the archive keeps what was
accepted, malformed or not. Each event carries its stream position (``_id``: the batch id
and its index), so a batch redelivered after a crash replaces its own part file instead of
being archived twice. The batch is acknowledged once its files are durable.

The group exists only where it is configured (``TANDEM_LOG_STREAM_GROUPS``) or first
consumed: a group nobody reads would keep the embedded stream's segments for ever.
Compaction and retention run as periodic jobs of ``tandem worker`` (``tandem.logs.tasks``,
decision 0045).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from tandem.logs import archive, streams
from tandem.logs.normalise import normalise_event
from tandem.logs.workers import GroupWorker

GROUP = "archive"


def archivable(raw: Any, received_at: dt.datetime) -> dict[str, Any]:
    """The event as the archive keeps it: normalised (plus the receiver's stamps), else as
    received (a non-object wrapped as ``{"raw": ...}``)."""
    if not isinstance(raw, Mapping):
        return {"raw": raw}
    try:
        event = normalise_event(raw, received_at=received_at)
    except (ValueError, TypeError, KeyError, AttributeError):
        # NormaliseError is a ValueError; any failure keeps the event as it came.
        return dict(raw)
    for stamp in ("_tenant", "_source", "_received", archive.DEVICE_KEY):
        if stamp in raw:
            event[stamp] = raw[stamp]
    return event


class ArchiveWorker(GroupWorker):
    """Archives each batch of the ``archive`` group, then acknowledges it."""

    group = GROUP

    def __init__(self, *, consumer: streams.Consumer | None = None, name: str = "") -> None:
        super().__init__(consumer=consumer, name=name)
        self.batches = 0
        self.events = 0

    def process(self, batch: streams.Batch) -> None:
        received = dt.datetime.fromtimestamp(batch.appended_at, dt.UTC)
        events = []
        for index, raw in enumerate(batch.events):
            event = archivable(raw, received)
            event[archive.STREAM_ID_KEY] = f"{batch.id}:{index}"
            events.append(event)
        archive.append(settings.LOG_ARCHIVE_DIR, batch.tenant_id, events)
        self.consumer.ack(batch)
        self.batches += 1
        self.events += len(events)
