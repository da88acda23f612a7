"""The NATS JetStream event stream (decision 0035), behind the same interface as the
embedded one.

One JetStream stream holds every tenant's batches, on a subject per tenant
(``<prefix>.<tenant_id>``, default prefix ``tandem.events``). A group is a durable pull
consumer with explicit acknowledgement: its consumers (in any process, on any machine)
share its batches as a work queue; a batch not acknowledged within ``ack_wait`` is
delivered again, up to ``max_deliver`` times. The stream's retention is *interest*: a batch
is removed once every group has acknowledged it (the embedded log's segment deletion),
which is why the configured groups are created with the stream, before anything is
published: a batch published while no group exists would be dropped. ``max_bytes`` with
"discard new" makes a full stream refuse appends (:class:`StreamBusy`) instead of dropping
old batches.

Tandem is synchronous Django; nats-py is asyncio. Each stream object runs one event loop in
a daemon thread of its own and hands coroutines to it (``run_coroutine_threadsafe``): the
connection and subscriptions live as long as the process, so an append costs one
round-trip, not a connect (``asyncio.run`` per call would reconnect every time). Calls from
any thread of the process are safe; the loop is never shared across ``fork`` (the factory
in :mod:`tandem.logs.streams` opens one stream per process id).

Durability: ``append`` returns after the server's publish acknowledgement, which JetStream
sends once the message is stored; on a single server it is on disk only when the server
syncs (``jetstream { sync_interval: always }`` makes that every write), and in a cluster
when the stream has three replicas (``TANDEM_NATS_REPLICAS=3``). docs/operations.md says so.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from tandem.logs.streams.base import (
    Batch,
    BatchTooLarge,
    Limits,
    StreamBusy,
    StreamError,
    check_name,
)

T = TypeVar("T")
logger = logging.getLogger(__name__)


async def _log_error(error: Exception) -> None:
    logger.warning("NATS: %r", error)


#: Seconds one request to the server may take before the caller hears "busy".
REQUEST_TIMEOUT = 10.0
#: Seconds the first connection may take.
CONNECT_SECONDS = 5.0
#: Room for the headers beside the largest batch in one message.
HEADER_ROOM = 1024


class JetStreamStream:
    """A connection to ``url`` and the stream ``name`` (created if missing)."""

    def __init__(
        self,
        url: str,
        *,
        name: str = "TANDEM_EVENTS",
        subject_prefix: str = "tandem.events",
        replicas: int = 1,
        limits: Limits | None = None,
        groups: tuple[str, ...] = (),
    ) -> None:
        self.url = url
        self.name = name
        self.subject_prefix = subject_prefix
        self.replicas = replicas
        self.limits = limits or Limits()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"nats-{name}", daemon=True
        )
        self._thread.start()
        try:
            self._nc: Client = self._run(self._connect(), timeout=REQUEST_TIMEOUT)
            self._js = self._nc.jetstream(timeout=REQUEST_TIMEOUT)
            self._run(self._ensure_stream())
            for group in groups:
                self.ensure_group(group)
        except BaseException:
            self._stop_loop()
            raise

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float = REQUEST_TIMEOUT + 5) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _connect(self) -> Client:
        # Reconnect for ever once connected (a server restart must not stop a receiver),
        # but give up on the first connection after CONNECT_SECONDS with a clear error.
        try:
            return await asyncio.wait_for(
                nats.connect(
                    self.url,
                    connect_timeout=2,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    error_cb=_log_error,
                ),
                CONNECT_SECONDS,
            )
        except (TimeoutError, OSError, nats.errors.Error) as error:
            raise StreamError(
                f"The NATS server at {self.url} is not reachable ({error!r}): start it, or set "
                "TANDEM_LOG_STREAM=embedded."
            ) from error

    async def _ensure_stream(self) -> None:
        config = StreamConfig(
            name=self.name,
            subjects=[f"{self.subject_prefix}.>"],
            retention=RetentionPolicy.INTEREST,
            discard=DiscardPolicy.NEW,
            max_bytes=self.limits.max_bytes,
            max_msg_size=self.limits.max_batch_bytes + HEADER_ROOM,
            storage=StorageType.FILE,
            num_replicas=self.replicas,
            duplicate_window=120,
        )
        try:
            await self._js.stream_info(self.name)
        except nats.js.errors.NotFoundError:
            await self._js.add_stream(config)
            return
        await self._js.update_stream(config)

    def _consumer_config(self, group: str) -> ConsumerConfig:
        return ConsumerConfig(
            name=group,
            durable_name=group,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.limits.ack_wait,
            max_deliver=self.limits.max_deliver,
            filter_subject=f"{self.subject_prefix}.>",
        )

    def append(
        self,
        tenant_id: int,
        source_id: int | None,
        events: list[dict[str, Any]],
        *,
        append_id: str | None = None,
    ) -> None:
        payload = orjson.dumps({"t": tenant_id, "s": source_id, "a": time.time(), "e": events})
        if len(payload) > self.limits.max_batch_bytes:
            raise BatchTooLarge(
                f"A batch of {len(payload)} bytes is over the stream's "
                f"{self.limits.max_batch_bytes}: send fewer events at once."
            )
        # The message id makes a retry after a lost acknowledgement a no-op on the server
        # (within the stream's duplicate window); a sender's batch id keeps it stable
        # across the sender's own retries too (decision 0050).
        headers = {"Nats-Msg-Id": append_id or uuid.uuid4().hex}
        subject = f"{self.subject_prefix}.{tenant_id}"
        try:
            self._run(self._publish(subject, payload, headers))
        except StreamError:
            raise
        except (nats.errors.Error, TimeoutError) as error:
            raise StreamBusy(f"NATS JetStream did not confirm the batch: {error!r}") from error

    async def _publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        for attempt in range(2):
            try:
                await self._js.publish(
                    subject, payload, stream=self.name, headers=headers, timeout=REQUEST_TIMEOUT / 2
                )
                return
            except nats.errors.TimeoutError:
                if attempt:
                    raise
            except nats.js.errors.APIError as error:
                description = (error.description or "").lower()
                if error.code == 503 or "maximum" in description or "resources" in description:
                    raise StreamBusy(f"NATS JetStream refused the batch: {description}") from error
                raise StreamError(f"NATS JetStream refused the batch: {error}") from error

    def ensure_group(self, group: str) -> None:
        check_name("group", group)
        self._run(self._js.add_consumer(self.name, config=self._consumer_config(group)))

    def consumer(self, group: str, name: str) -> JetStreamConsumer:
        self.ensure_group(group)
        subscription = self._run(
            self._js.pull_subscribe_bind(durable=group, stream=self.name, name=group)
        )
        return JetStreamConsumer(self, group, check_name("consumer", name), subscription)

    def mark(self) -> int:
        info = self._run(self._js.stream_info(self.name))
        return int(info.state.last_seq or 0)

    def appended_since(self, mark: int, append_ids: set[str]) -> set[str]:
        return self._run(self._appended_since(mark, append_ids))

    async def _appended_since(self, mark: int, append_ids: set[str]) -> set[str]:
        info = await self._js.stream_info(self.name)
        found: set[str] = set()
        for seq in range(max(mark + 1, info.state.first_seq or 1), (info.state.last_seq or 0) + 1):
            try:
                message = await self._js.get_msg(self.name, seq)
            except nats.js.errors.NotFoundError:
                continue  # acknowledged by every group and removed
            msg_id = (message.headers or {}).get("Nats-Msg-Id")
            if msg_id in append_ids:
                found.add(msg_id)
        return found

    def group_lag(self, group: str) -> dict[str, int]:
        info = self._run(self._js.consumer_info(self.name, group))
        return {"pending_batches": info.num_pending or 0, "in_flight": info.num_ack_pending or 0}

    def delete_stream(self) -> None:
        """Delete the stream and its groups (tests, and a reset by hand)."""
        self._run(self._js.delete_stream(self.name))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._run(self._nc.close(), timeout=5)
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


class JetStreamConsumer:
    """One subscription on a group's durable pull consumer."""

    def __init__(self, stream: JetStreamStream, group: str, name: str, subscription: Any) -> None:
        self.stream = stream
        self.group = group
        self.name = name
        self._subscription = subscription
        self._delivered: dict[str, Msg] = {}

    def fetch(self, max_batches: int = 1, timeout: float = 1.0) -> list[Batch]:
        messages = self.stream._run(self._fetch(max_batches, max(timeout, 0.05)), timeout + 15)
        batches = []
        for message in messages:
            record = orjson.loads(message.data)
            metadata = message.metadata
            key = str(metadata.sequence.stream)
            self._delivered[key] = message
            batches.append(
                Batch(
                    id=key,
                    tenant_id=record["t"],
                    source_id=record["s"],
                    appended_at=record["a"],
                    events=record["e"],
                    deliveries=metadata.num_delivered or 1,
                )
            )
        return batches

    async def _fetch(self, max_batches: int, timeout: float) -> list[Msg]:
        try:
            return list(await self._subscription.fetch(batch=max_batches, timeout=timeout))
        except (TimeoutError, nats.errors.TimeoutError):
            # nats-py raises the plain (asyncio) TimeoutError when even the server's "no messages"
            # answer did not come in time (a busy server or machine): nothing came, and
            # anything on its way waits for the next fetch.
            return []

    def ack(self, batch: Batch) -> None:
        message = self._delivered.pop(batch.id, None)
        if message is None:
            raise StreamError(f"Batch {batch.id} was not delivered to this consumer.")
        try:
            self.stream._run(message.ack_sync(timeout=REQUEST_TIMEOUT))
        except (nats.errors.Error, TimeoutError) as error:
            # Not confirmed: the batch may come again, which consumers tolerate.
            raise StreamError(f"NATS JetStream did not confirm the ack: {error!r}") from error

    def close(self) -> None:
        self._delivered.clear()
        if not self.stream._loop.is_closed():
            self.stream._run(self._subscription.unsubscribe(), timeout=5)
