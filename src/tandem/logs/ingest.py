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
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from tandem.agents.credentials import DEVICE_TAG, authenticate_device
from tandem.core.scoping import system_context
from tandem.logs import ndjson, services, streams
from tandem.logs.models import IngestSource
from tandem.logs.services import INGEST_TAG


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def refusal(status: int, code: str, detail: str, **extra: Any) -> Answer:
    return Answer(status, {"code": code, "detail": detail, **extra})


def authenticate(header: str) -> IngestSource | Answer:
    """The source a request's ``Authorization`` names: an ingest token's source, or the
    tenant's agent source for a device credential; else the refusal to answer."""
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
    elif raw.startswith(f"{INGEST_TAG}_"):
        with system_context("find the ingest source a token names"):
            found = services.find_source_by_token(raw)
        if found is None:
            return refusal(401, "unknown", "The ingest token is not known.")
        source = found
    else:
        return refusal(401, "unknown", "Not an ingest token or a device credential.")
    if not source.enabled:
        return refusal(403, "disabled", "This ingest source is disabled.")
    return source


def limits() -> ndjson.BodyLimits:
    return ndjson.BodyLimits(
        max_decompressed_bytes=settings.INGEST_MAX_DECOMPRESSED_BYTES,
        max_line_bytes=settings.INGEST_MAX_LINE_BYTES,
    )


def _retry_after_quota() -> str:
    return str(60 - int(time.time()) % 60 or 1)


def take_batch(*, source: IngestSource, body: bytes, content_encoding: str) -> Answer:
    """Check, count and append one NDJSON body from ``source``."""
    body_limits = limits()
    encoding = content_encoding.strip().lower()
    if encoding not in ("", "identity", "gzip"):
        return refusal(415, "encoding", f"Content-Encoding {encoding!r}: send gzip or nothing.")
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

    minute = services.current_minute()
    if not services.reserve_quota(source=source, events=count, minute=minute):
        services.count_ingest(
            source=source, accepted=0, refused={**refusals.counts, ndjson.QUOTA: count}
        )
        answer = refusal(429, "quota", "The events-per-minute quota is used up.", accepted=0)
        answer.headers["Retry-After"] = _retry_after_quota()
        return answer

    received = dt.datetime.now(dt.UTC).isoformat()
    for event in parsed.events:
        event["_tenant"] = source.tenant_id
        event["_source"] = source.pk
        event["_received"] = received
    stream = streams.get_stream()
    appended = 0
    try:
        for start, end in ndjson.chunks(parsed.sizes, stream.limits.max_batch_bytes):
            stream.append(source.tenant_id, source.pk, parsed.events[start:end])
            appended = end
    except streams.StreamBusy as busy:
        services.release_quota(source=source, events=count - appended, minute=minute)
        services.count_ingest(source=source, accepted=appended, refused=refusals.counts)
        # Runs already appended are kept (and delivered): a sender that retries the whole
        # body sends them twice, which consumers tolerate (at least once, decision 0035).
        answer = refusal(429, "busy", f"The event stream is busy: {busy}", accepted=appended)
        answer.headers["Retry-After"] = str(busy.retry_after)
        return answer
    services.count_ingest(source=source, accepted=count, refused=refusals.counts)
    return Answer(200, {"accepted": count, "refused": refusals.as_answer()})
