"""Collecting log records into the queue and sending them to ``/ingest/v1/events``
(decision 0047).

Each round: every source reads from its position (bounded by the batch size and by the
room left in the queue) and its records and new position are queued in one transaction;
then the queue is sent oldest first, as gzip NDJSON batches with the device credential
and a stable batch id (``Tandem-Batch-Id``: a batch sent again after a lost answer is
appended once, decision 0050), no faster than the rate cap. What the server answers
decides what leaves the queue:

- 200: the batch leaves the queue; lines the server refused are counted per reason (a
  malformed line does not improve by retrying);
- 400 with per-line refusals: no line was usable; the batch leaves, counted;
- 413: the batch is halved; a single record still too large is dropped, counted;
- 429, 5xx, no connection: the first ``accepted`` records leave when the server names
  them (it took that prefix), the rest stay; back off (full jitter, never sooner than
  ``Retry-After``);
- 401, 403: stop, the device is revoked (the queue is kept);
- anything else: the batch stays, the reason is recorded, back off.
"""

from __future__ import annotations

import gzip
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tandem_agent import protocol
from tandem_agent.client import Revoked, Transport, TransportError
from tandem_agent.logs.base import LogSource, SourceError, SourceUnavailable
from tandem_agent.logs.config import LogConfig, on_windows, wanted
from tandem_agent.logs.files import FileTail
from tandem_agent.logs.journald import JournaldSource, journald_available
from tandem_agent.logs.queue import EventQueue, QueuedRecord
from tandem_agent.logs.windows import WindowsEventSource
from tandem_agent.state import StateDir
from tandem_agent.timing import backoff_delay

log = logging.getLogger("tandem_agent")

INGEST_PATH = "/ingest/v1/events"
#: Reads per source per round at most, so one busy source cannot starve the others.
READS_PER_ROUND = 20
#: A record's encoded size at most; the server takes lines up to 256 KiB by default. A
#: larger one has its longest text cut to fit (marked ``"_truncated": true``), never dropped.
MAX_RECORD_BYTES = 128 * 1024


def build_sources(config: LogConfig, *, hostname: str | None = None) -> list[LogSource]:
    """The sources the settings ask for on this machine; each one left out is logged with
    the plain reason (no journald here, a file that does not exist)."""
    if not config.enabled:
        return []
    hostname = hostname or socket.gethostname()
    start_at_end = config.start_at == "end"
    sources: list[LogSource] = []
    if wanted(config.windows, auto=on_windows()):
        sources += [WindowsEventSource(channel) for channel in config.channels]
    journal_missing = journald_available() if config.journal_directory is None else None
    if wanted(config.journald, auto=not on_windows() and journal_missing is None):
        if journal_missing is None:
            sources.append(JournaldSource(directory=config.journal_directory))
        else:
            log.warning("log source journald skipped: %s", journal_missing)
    files_auto = not on_windows() and journal_missing is not None
    if wanted(config.files, auto=files_auto):
        for path in config.paths:
            # A file that does not exist yet is still followed: it may be created later.
            sources.append(FileTail(path, hostname=hostname, start_at_end=start_at_end))
    return sources


class RateCap:
    """A token bucket: ``rate`` records per second on average, bursts up to ``burst``."""

    def __init__(
        self, rate: float, *, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = burst
        self.stamp = clock()

    def wait_for(self, count: int) -> float:
        """Take ``count`` tokens; returns the seconds to wait before sending them."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= count
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


def events_request(
    *, server: str, credential: str, lines: Sequence[bytes], batch_id: str | None = None
) -> protocol.HttpRequest:
    """``POST /ingest/v1/events``: the records as gzip NDJSON with the device credential,
    named by ``batch_id`` (a resend of the same batch carries the same id, decision 0050)."""
    body = gzip.compress(b"\n".join(lines) + b"\n", mtime=0)
    headers = {
        "Content-Type": "application/x-ndjson",
        "Content-Encoding": "gzip",
        "Accept": "application/json",
        "User-Agent": protocol.USER_AGENT,
        "Authorization": f"Bearer {credential}",
    }
    if batch_id is not None:
        headers["Tandem-Batch-Id"] = batch_id
    return protocol.HttpRequest("POST", server.rstrip("/") + INGEST_PATH, headers, body)


@dataclass
class SendOutcome:
    sent: int = 0  # records the server took
    dropped: int = 0  # records it refused for good
    failed: bool = False
    retry_after: float | None = None
    detail: str = ""


@dataclass
class Counters:
    """What the forwarder did since it started; ``status`` shows the persisted totals."""

    read: int = 0
    sent: int = 0
    dropped: dict[str, int] = field(default_factory=dict)


class Forwarder:
    def __init__(
        self,
        *,
        state: StateDir,
        queue: EventQueue,
        sources: Sequence[LogSource],
        config: LogConfig,
        transport: Transport,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state = state
        self.queue = queue
        self.sources = list(sources)
        self.config = config
        self.transport = transport
        self.sleep = sleep
        self.rate = RateCap(
            config.max_records_per_second,
            burst=max(float(config.batch_records), config.max_records_per_second),
            clock=clock,
        )
        self.counters = Counters()
        self._warned: dict[str, str] = {}

    # Collect ------------------------------------------------------------------------------

    def collect(self) -> int:
        """Read every source into the queue (bounded); returns the records queued."""
        queued = 0
        for source in list(self.sources):
            for _ in range(READS_PER_ROUND):
                room = self.config.queue_max_records - len(self.queue)
                if room <= 0:
                    log.warning("the log queue is full; sources wait for the server")
                    return queued
                try:
                    result = source.read(
                        self.queue.position(source.name),
                        max_records=min(self.config.batch_records, room),
                    )
                except SourceUnavailable as error:
                    log.warning("log source %s skipped: %s", source.name, error)
                    self.sources.remove(source)
                    break
                except SourceError as error:
                    # Said once per distinct reason, not every two seconds.
                    if self._warned.get(source.name) != str(error):
                        self._warned[source.name] = str(error)
                        log.warning("log source %s: %s; trying again", source.name, error)
                    break
                self._warned.pop(source.name, None)
                if result.records or result.position is not None:
                    records = [bounded(record) for record in result.records]
                    self.queue.put(source.name, records, result.position)
                queued += len(result.records)
                if not result.more:
                    break
        self.counters.read += queued
        return queued

    # Send ---------------------------------------------------------------------------------

    def send(self) -> SendOutcome:
        """Send the queue until it is empty or the server says wait. Raises :class:`Revoked`."""
        enrolment = self.state.enrolment()
        credential = self.state.credential()
        if enrolment is None or credential is None:
            return SendOutcome(failed=True, detail="not enrolled")
        outcome = SendOutcome()
        limit = self.config.batch_records
        while True:
            batch = self.queue.oldest(max_records=limit, max_bytes=self.config.batch_bytes)
            if not batch:
                return outcome
            wait = self.rate.wait_for(len(batch))
            if wait:
                self.sleep(wait)
            request = events_request(
                server=enrolment.server,
                credential=credential,
                lines=[r.line for r in batch],
                batch_id=self.queue.batch_id(batch),
            )
            try:
                response = self.transport.send(request)
            except TransportError as error:
                return self._failed(outcome, f"server unreachable: {error}")
            answer = protocol.interpret(response)
            if answer.action == protocol.STOP:
                raise Revoked(answer.detail)
            if answer.action == protocol.OK:
                refused = _refused(answer.body)
                self._drop_counts(refused)
                outcome.sent += self.queue.remove(batch) - sum(refused.values())
                outcome.dropped += sum(refused.values())
                continue
            if response.status == 400 and isinstance(answer.body.get("refused"), dict):
                self._drop_counts(_refused(answer.body) or {"refused": len(batch)})
                outcome.dropped += self.queue.remove(batch)
                continue
            if answer.action == protocol.SHRINK:
                if len(batch) > 1:
                    limit = max(1, len(batch) // 2)
                    continue
                self._drop_counts({"too_large": 1})
                outcome.dropped += self.queue.remove(batch)
                continue
            taken = answer.body.get("accepted")
            if isinstance(taken, int) and 0 < taken <= len(batch):
                outcome.sent += self.queue.remove(batch[:taken])
            outcome.retry_after = answer.retry_after
            return self._failed(outcome, f"events refused: {answer.detail}")

    def _failed(self, outcome: SendOutcome, detail: str) -> SendOutcome:
        outcome.failed = True
        outcome.detail = detail
        status = self.state.status()
        status.extra["logs_last_error"] = detail
        self.state.save_status(status)
        return outcome

    def _drop_counts(self, refused: dict[str, int]) -> None:
        if not refused:
            return
        status = self.state.status()
        dropped = status.extra.setdefault("logs_dropped", {})
        for reason, count in refused.items():
            dropped[reason] = dropped.get(reason, 0) + count
            self.counters.dropped[reason] = self.counters.dropped.get(reason, 0) + count
        self.state.save_status(status)

    # Loop ---------------------------------------------------------------------------------

    def round(self) -> SendOutcome:
        """Collect once and send what is queued."""
        self.collect()
        outcome = self.send()
        self.counters.sent += outcome.sent
        if not outcome.failed and outcome.sent:
            status = self.state.status()
            status.extra["logs_last_sent"] = protocol_now()
            status.extra.pop("logs_last_error", None)
            self.state.save_status(status)
        return outcome

    def run(self, stop: threading.Event, *, rng: Any) -> str:
        """Rounds until ``stop`` is set ("signal") or the server revokes us ("revoked")."""
        failures = 0
        while not stop.is_set():
            try:
                outcome = self.round()
            except Revoked as error:
                log.error("the server refused this device's logs (%s); stopping", error)
                return "revoked"
            if outcome.failed:
                failures += 1
                log.warning("%s; %d log records kept", outcome.detail, len(self.queue))
                wait = backoff_delay(failures, rng=rng, retry_after=outcome.retry_after)
            else:
                failures = 0
                wait = self.config.poll_seconds
            stop.wait(wait)
        return "signal"


def bounded(record: dict[str, Any], limit: int = MAX_RECORD_BYTES) -> dict[str, Any]:
    """``record``, with its longest strings cut until its JSON fits in ``limit`` bytes."""
    for _ in range(8):
        excess = len(json.dumps(record, ensure_ascii=False).encode("utf-8")) - limit
        if excess <= 0:
            return record
        holder, key, text = _longest_text(record)
        if holder is None:
            return record
        # Cut by characters: generous, since a character may take up to six bytes escaped.
        holder[key] = text[: max(0, len(text) - excess - 64)]
        record["_truncated"] = True
    return record


def _longest_text(value: Any) -> tuple[Any, Any, str]:
    best: tuple[Any, Any, str] = (None, None, "")
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(item, str) and len(item) > len(best[2]):
            best = (value, key, item)
        elif isinstance(item, dict | list):
            inner = _longest_text(item)
            if len(inner[2]) > len(best[2]):
                best = inner
    return best


def _refused(body: dict[str, Any]) -> dict[str, int]:
    """``{"refused": {"oversized_line": {"count": 2, "lines": [...]}}}`` → counts."""
    refused = body.get("refused")
    if not isinstance(refused, dict):
        return {}
    counts: dict[str, int] = {}
    for reason, detail in refused.items():
        count = detail.get("count") if isinstance(detail, dict) else detail
        if isinstance(count, int) and count > 0:
            counts[str(reason)] = count
    return counts


def protocol_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


__all__ = ["Forwarder", "QueuedRecord", "RateCap", "build_sources", "events_request"]
