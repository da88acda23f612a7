"""The event stream (decision 0035): receivers append batches of log events, detection
workers consume them in groups. Two back-ends behind one interface, chosen by
``TANDEM_LOG_STREAM``: ``embedded`` (:mod:`.embedded`, a log under the data directory, the
default) and ``nats`` (:mod:`.jetstream`, NATS JetStream).

Use::

    from tandem.logs import streams

    streams.append(tenant_id, source_id, events)      # durable on return; may raise StreamBusy
    consumer = streams.consumer("detection", "worker-1")
    for batch in consumer.fetch(max_batches=10, timeout=1.0):
        ...  # process batch.events (tenant batch.tenant_id, source batch.source_id)
        consumer.ack(batch)
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.conf import settings

from tandem.logs.streams.base import (
    Batch,
    BatchTooLarge,
    Consumer,
    EventStream,
    Limits,
    StreamBusy,
    StreamError,
)
from tandem.logs.streams.embedded import EmbeddedStream
from tandem.logs.streams.jetstream import JetStreamStream

__all__ = [
    "Batch",
    "BatchTooLarge",
    "Consumer",
    "EventStream",
    "Limits",
    "StreamBusy",
    "StreamError",
    "append",
    "consumer",
    "get_stream",
    "open_stream",
    "reset_stream",
]

_opened: dict[int, EventStream] = {}
_opening = threading.Lock()


def configured_limits() -> Limits:
    return Limits(
        max_bytes=settings.LOG_STREAM_MAX_BYTES,
        ack_wait=float(settings.LOG_STREAM_ACK_WAIT_SECONDS),
        max_deliver=settings.LOG_STREAM_MAX_DELIVER,
    )


def open_stream() -> EventStream:
    """A new connection to the configured back-end, with the configured groups created."""
    limits = configured_limits()
    groups = tuple(settings.LOG_STREAM_GROUPS)
    stream: EventStream
    if settings.LOG_STREAM == "nats":
        stream = JetStreamStream(
            settings.NATS_URL,
            name=settings.NATS_STREAM,
            subject_prefix=settings.NATS_SUBJECT_PREFIX,
            replicas=settings.NATS_REPLICAS,
            limits=limits,
            groups=groups,
        )
    else:
        stream = EmbeddedStream(settings.LOG_STREAM_DIR, limits=limits)
        for group in groups:
            stream.ensure_group(group)
    return stream


def get_stream() -> EventStream:
    """This process's stream, opened on first use (one per process id: a forked worker
    opens its own, never the parent's connection or event loop)."""
    pid = os.getpid()
    stream = _opened.get(pid)
    if stream is None:
        with _opening:
            stream = _opened.get(pid)
            if stream is None:
                stream = _opened[pid] = open_stream()
    return stream


def reset_stream() -> None:
    """Close this process's stream (tests that change the settings; shutdown)."""
    stream = _opened.pop(os.getpid(), None)
    if stream is not None:
        stream.close()


def append(
    tenant_id: int,
    source_id: int | None,
    events: list[dict[str, Any]],
    *,
    append_id: str | None = None,
) -> None:
    """Append one batch for a tenant and source; durable on return. Raises
    :class:`StreamBusy` (nothing appended: push back) or :class:`BatchTooLarge`."""
    get_stream().append(tenant_id, source_id, events, append_id=append_id)


def consumer(group: str, name: str) -> Consumer:
    """A consumer called ``name`` in the group ``group`` of this process's stream."""
    return get_stream().consumer(group, name)
