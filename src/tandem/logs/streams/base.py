"""What every event stream back-end offers (decision 0035), without Django.

A stream carries *batches*: the events one receiver accepted in one go, for one tenant and
one source. ``append`` returns only once the batch is durable. Consumers read batches in a
named *group*: each batch goes to one consumer of the group, is acknowledged after it was
processed, and is delivered again (to any consumer of the group) when it was not
acknowledged within the group's ack wait, because its consumer crashed or hung. Delivery
is therefore at least once: a consumer must tolerate seeing a batch twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

#: A group or consumer name: safe as a file name and as a JetStream durable name.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class StreamError(Exception):
    """The stream cannot do what was asked (misconfigured, unreachable, corrupt)."""


class StreamBusy(StreamError):
    """The stream is full or overloaded: nothing was appended; retry later (HTTP 429,
    TCP backpressure)."""

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BatchTooLarge(StreamError):
    """One batch is larger than the stream takes in one record: split it."""


@dataclass(frozen=True)
class Limits:
    """Sizes and timings shared by the back-ends (settings in docs/operations.md)."""

    #: The largest batch, in bytes once encoded (JetStream's default max payload is 1 MiB).
    max_batch_bytes: int = 1024 * 1024 - 4096
    #: The most the stream keeps unconsumed; past it ``append`` raises :class:`StreamBusy`.
    max_bytes: int = 10 * 1024**3
    #: Seconds a delivered batch may stay unacknowledged before it is delivered again.
    ack_wait: float = 60.0
    #: Deliveries of one batch before it is set aside as a dead letter (a batch that makes
    #: every consumer crash must not block the group forever).
    max_deliver: int = 10


@dataclass(frozen=True)
class Batch:
    """One delivered batch. ``id`` is opaque to the caller: pass the batch to ``ack``."""

    id: str
    tenant_id: int
    source_id: int | None
    #: Unix time the stream stored the batch.
    appended_at: float
    events: list[dict[str, Any]] = field(repr=False)
    #: 1 on first delivery, more when redelivered.
    deliveries: int = 1


class Consumer(Protocol):
    """One consumer of a group."""

    group: str
    name: str

    def fetch(self, max_batches: int = 1, timeout: float = 1.0) -> list[Batch]:
        """Up to ``max_batches`` batches for this consumer, waiting up to ``timeout``
        seconds for the first; an empty list when there is nothing."""
        ...

    def ack(self, batch: Batch) -> None:
        """The batch is processed: the group never delivers it again. Durable on return."""
        ...

    def close(self) -> None: ...


class EventStream(Protocol):
    """A back-end: embedded (:mod:`tandem.logs.streams.embedded`) or NATS JetStream
    (:mod:`tandem.logs.streams.nats`)."""

    limits: Limits

    def append(
        self,
        tenant_id: int,
        source_id: int | None,
        events: list[dict[str, Any]],
        *,
        append_id: str | None = None,
    ) -> None:
        """Store one batch; return only once it is durable. Raises :class:`StreamBusy`
        (nothing stored) or :class:`BatchTooLarge`. ``append_id`` is stored with the batch
        (:meth:`appended_since` finds it; JetStream also drops a repeat of it within its
        duplicate window)."""
        ...

    def mark(self) -> int:
        """A position no later than the end of the stream now: whatever is appended after
        this call lies after it (decision 0050)."""
        ...

    def appended_since(self, mark: int, append_ids: set[str]) -> set[str]:
        """Which of ``append_ids`` were appended after ``mark`` (a scan of what came since:
        for the rare check after a receiver died between an append and its bookkeeping)."""
        ...

    def ensure_group(self, group: str) -> None:
        """Create the group if it does not exist (it starts at the oldest retained batch)."""
        ...

    def consumer(self, group: str, name: str) -> Consumer:
        """A consumer named ``name`` in ``group`` (the group is created if need be)."""
        ...

    def close(self) -> None: ...


def check_name(kind: str, value: str) -> str:
    if not NAME_PATTERN.match(value):
        raise StreamError(f"A {kind} name is 1-64 letters, digits, '-' or '_', not {value!r}.")
    return value
