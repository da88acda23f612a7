"""``POST /ingest/v1/events``: who is sending, and taking their batch (decision 0035).

The order is what makes "nothing accepted is lost, nothing refused is half-taken" hold:
read and check the whole body, reserve the quota (all or nothing), append to the stream
(durable on return), and only then answer. Bad lines are refused with their reason and
line number and never cost the good ones; the events are stored as received plus
``_tenant``, ``_source`` and ``_received`` (set here, whatever the sender put there):
normalising is the consumers' work.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.conf import settings

from tandem.agents.credentials import DEVICE_TAG, authenticate_device
from tandem.core.scoping import system_context
from tandem.logs import batch_services, ndjson, services, streams
from tandem.logs.choices import SourceKind
from tandem.logs.models import IngestSource
from tandem.logs.services import INGEST_TAG


@dataclass(frozen=True)
class Sender:
    """Who sends a batch: the ingest source, and the device when a device credential (an
    agent) sends it, else the device the source is mapped to (decision 0045)."""

    source: IngestSource
    device_id: int | None = None


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def refusal(status: int, code: str, detail: str, **extra: Any) -> Answer:
    return Answer(status, {"code": code, "detail": detail, **extra})


def authenticate(header: str) -> Sender | Answer:
    """Who a request's ``Authorization`` names: an ingest token's source, or the tenant's
    agent source and the device for a device credential; else the refusal to answer."""
    if not header.startswith("Bearer "):
        return refusal(
            401, "missing", "Send Authorization: Bearer with an ingest token or device credential."
        )
    raw = header[7:].strip()
    if raw.startswith(f"{DEVICE_TAG}_"):
        auth = authenticate_device(header)
        if auth.credential is None:
            code, detail = auth.refusal or ("unknown", "The device credential is not known.")
            return refusal(401, code, detail)
        source = services.agent_source(auth.credential.tenant_id)
        device_id: int | None = auth.credential.device_id
    elif raw.startswith(f"{INGEST_TAG}_"):
        with system_context("find the ingest source a token names"):
            found = services.find_source_by_token(raw)
        if found is None:
            return refusal(401, "unknown", "The ingest token is not known.")
        source, device_id = found, None
    else:
        return refusal(401, "unknown", "Not an ingest token or a device credential.")
    if not source.enabled:
        return refusal(403, "disabled", "This ingest source is disabled.")
    return Sender(source, device_id)


def limits() -> ndjson.BodyLimits:
    # A line must fit in one stream record, whatever the setting says.
    record = streams.get_stream().limits.max_batch_bytes
    fits = record - ndjson.RECORD_OVERHEAD - ndjson.EVENT_OVERHEAD
    return ndjson.BodyLimits(
        max_decompressed_bytes=settings.INGEST_MAX_DECOMPRESSED_BYTES,
        max_line_bytes=min(settings.INGEST_MAX_LINE_BYTES, fits),
    )


def _retry_after_quota() -> int:
    return 60 - int(time.time()) % 60 or 1


def take_batch(
    *,
    source: IngestSource,
    body: bytes,
    content_encoding: str,
    device_id: int | None = None,
    batch_id: str | None = None,
) -> Answer:
    """Check, count and append one NDJSON body from ``source`` (sent by ``device_id``).
    With a ``batch_id`` (the sender's name for the batch) a repeat gets the first answer and
    appends nothing (decision 0050)."""
    body_limits = limits()
    encoding = content_encoding.strip().lower()
    if encoding not in ("", "identity", "gzip"):
        return refusal(415, "encoding", f"Content-Encoding {encoding!r}: send gzip or nothing.")
    if batch_id is not None and not batch_services.BATCH_ID.fullmatch(batch_id):
        return refusal(
            400,
            "batch_id",
            "Tandem-Batch-Id: 1 to 100 letters, digits and . _ : - (or leave it out).",
            accepted=0,
        )
    try:
        data = ndjson.decompress(body, body_limits) if encoding == "gzip" else body
    except ndjson.BodyRefused as refused:
        if refused.reason == ndjson.BROKEN_GZIP:
            services.count_ingest(source=source, accepted=0, refused={ndjson.BROKEN_GZIP: 1})
        return refusal(refused.status, refused.reason, refused.detail, accepted=0)
    if len(data) > body_limits.max_decompressed_bytes:
        return refusal(
            413, "too_large", f"The body is over {body_limits.max_decompressed_bytes} bytes."
        )
    parsed = ndjson.parse_lines(data, body_limits)
    refusals = parsed.refusals
    count = len(parsed.events)
    if count > source.max_batch_events:
        return refusal(
            413,
            "too_many_events",
            f"{count} events in one request; this source takes {source.max_batch_events}.",
            accepted=0,
        )
    if not count:
        services.count_ingest(source=source, accepted=0, refused=refusals.counts)
        status = 400 if refusals.total else 200
        return Answer(status, {"accepted": 0, "refused": refusals.as_answer()})

    if batch_id is not None:
        return _take_named(source, device_id, batch_id, parsed, refusals)
    try:
        take_events(
            source=source,
            events=parsed.events,
            sizes=parsed.sizes,
            refused=refusals,
            device_id=device_id,
        )
    except Overloaded as overloaded:
        return _pushed_back(overloaded)
    return Answer(200, {"accepted": count, "refused": refusals.as_answer()})


def _pushed_back(overloaded: Overloaded) -> Answer:
    answer = refusal(429, overloaded.reason, overloaded.detail, accepted=overloaded.appended)
    answer.headers["Retry-After"] = str(overloaded.retry_after)
    return answer


def _take_named(
    source: IngestSource,
    device_id: int | None,
    batch_id: str,
    parsed: ndjson.ParsedBatch,
    refusals: ndjson.Refusals,
) -> Answer:
    """Take a batch the sender named (decision 0050): once, whatever is sent again. Batch
    ids are scoped to the sender: ``device:<id>`` for an agent, empty for a token's
    shipper."""
    sender = f"device:{device_id}" if device_id is not None else ""
    stream = streams.get_stream()
    claim = batch_services.claim_batch(
        source=source, sender=sender, batch_id=batch_id, mark=stream.mark
    )
    if claim.replay is not None:
        status, body = claim.replay
        return Answer(status, body, {"Tandem-Batch-Replayed": "true"})
    if claim.in_flight or claim.row is None:
        answer = refusal(
            429, "in_flight", "This batch is being taken: send it again shortly.", accepted=0
        )
        answer.headers["Retry-After"] = "5"
        return answer
    row = claim.row
    try:
        take_events(
            source=source,
            events=parsed.events,
            sizes=parsed.sizes,
            refused=refusals,
            device_id=device_id,
            append_key=f"{source.pk}.{sender}.{batch_id}",
            after=row.mark if claim.earlier else None,
        )
    except Overloaded as overloaded:
        answer = _pushed_back(overloaded)
        if overloaded.appended:
            batch_services.settle_batch(row=row, status=answer.status, answer=answer.body)
        else:
            batch_services.forget_batch(row=row)
        return answer
    answer = Answer(200, {"accepted": len(parsed.events), "refused": refusals.as_answer()})
    batch_services.settle_batch(row=row, status=answer.status, answer=answer.body)
    return answer


class Overloaded(Exception):
    """Over quota (``reason`` "quota") or the stream is busy ("busy"): push back. Only the
    first ``appended`` events were taken (0 unless a body needed several stream records)."""

    def __init__(self, reason: str, detail: str, retry_after: int, appended: int = 0) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.retry_after = retry_after
        self.appended = appended


def take_events(
    *,
    source: IngestSource,
    events: list[dict[str, Any]],
    sizes: list[int] | None = None,
    refused: ndjson.Refusals | None = None,
    device_id: int | None = None,
    append_key: str | None = None,
    after: int | None = None,
) -> None:
    """Take events a receiver parsed from ``source``: reserve the quota, stamp ``_tenant``,
    ``_source``, ``_received`` and ``_device`` (``device_id``, else the device the source is
    mapped to; removed when neither: a sender cannot name a device), append to the stream
    (durable on return), count. The one path for every receiver (this endpoint; the syslog
    listener's sink, wired by the lead). Raises :class:`Overloaded`; ``sizes`` (each
    event's encoded size) cut large lists into stream records, ``refused`` adds a
    receiver's refusals to the counters.

    ``append_key`` names the batch's stream records (``<key>.<n>``, decision 0050); with
    ``after`` (the stream position an earlier attempt at this batch noted before it died)
    the records already in the stream after it are not appended again."""
    counts = refused.counts if refused is not None else {}
    count = len(events)
    received = dt.datetime.now(dt.UTC).isoformat()
    device = device_id or source.device_id
    for event in events:
        event["_tenant"] = source.tenant_id
        event["_source"] = source.pk
        event["_received"] = received
        if device is None:
            event.pop("_device", None)
        else:
            event["_device"] = device
    if sizes is None:
        sizes = [len(orjson.dumps(event)) for event in events]
    stream = streams.get_stream()
    chunks = list(ndjson.chunks(sizes, stream.limits.max_batch_bytes))
    ids = [f"{append_key}.{n}" for n in range(len(chunks))] if append_key else []
    present = stream.appended_since(after, set(ids)) if ids and after is not None else set()
    # A dead receiver that appended some of this batch had reserved its whole quota first
    # (and counted nothing until every record was in): the resend does not reserve again.
    # When every record is in, it may or may not have counted them; they are not counted
    # again (a counter may miss a batch on that rare path; the stream never does).
    reserved = 0 if present else count
    counted = not ids or len(present) < len(ids)
    minute = services.current_minute()
    if reserved and not services.reserve_quota(source=source, events=reserved, minute=minute):
        services.count_ingest(source=source, accepted=0, refused={**counts, ndjson.QUOTA: count})
        raise Overloaded("quota", "The events-per-minute quota is used up.", _retry_after_quota())
    appended = 0  # events up to the end of the last record in the stream
    taken = 0  # events this call appended
    try:
        for n, (start, end) in enumerate(chunks):
            append_id = ids[n] if ids else None
            if append_id not in present:
                stream.append(source.tenant_id, source.pk, events[start:end], append_id=append_id)
                taken += end - start
            appended = end
    except streams.StreamBusy as busy:
        if reserved:
            services.release_quota(source=source, events=reserved - taken, minute=minute)
        services.count_ingest(source=source, accepted=appended, refused=counts)
        # Runs already appended are kept (and delivered): a sender that retries the whole
        # body sends them twice, which consumers tolerate (at least once, decision 0035).
        raise Overloaded(
            "busy", f"The event stream is busy: {busy}", busy.retry_after, appended
        ) from busy
    if counted:
        services.count_ingest(source=source, accepted=count, refused=counts)


def source_for_sender(address: str) -> IngestSource | None:
    """The enabled syslog source whose allowed networks hold ``address`` (the most specific
    network wins), or None: the syslog listener's question about each sender."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    best: tuple[int, IngestSource] | None = None
    with system_context("find the syslog source of a sender"):
        candidates = list(IngestSource.objects.filter(kind=SourceKind.SYSLOG, enabled=True))
    for candidate in candidates:
        for network in candidate.allowed_networks:
            net = ipaddress.ip_network(network)
            fits = ip.version == net.version and ip in net
            if fits and (best is None or net.prefixlen > best[0]):
                best = (net.prefixlen, candidate)
    return best[1] if best else None
