"""Reading an NDJSON batch (the body of ``POST /ingest/v1/events``), without Django.

Each line is one JSON object. A bad line is refused with its reason and line number and
costs the good lines nothing (what log shippers expect: decision 0035). The body as a whole
is refused only when it cannot be read at all: gzip that does not decompress, or more than
the decompressed limit (a gzip bomb stops there: decompression is bounded, never whole).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson

#: The reasons a line or a body is refused, as counted per source and answered.
MALFORMED_JSON = "malformed_json"
INVALID_UTF8 = "invalid_utf8"
OVERSIZED_LINE = "oversized_line"
BROKEN_GZIP = "broken_gzip"
QUOTA = "quota"
REASONS = (MALFORMED_JSON, INVALID_UTF8, OVERSIZED_LINE, BROKEN_GZIP, QUOTA)

#: Line numbers named per reason in an answer; the count is always whole.
MAX_LINES_REPORTED = 20


class BodyRefused(Exception):
    """The whole body is refused: nothing in it was taken."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class BodyLimits:
    max_decompressed_bytes: int = 32 * 1024 * 1024
    max_line_bytes: int = 256 * 1024


@dataclass
class Refusals:
    """Refused lines per reason: a count and the first line numbers (1-based)."""

    counts: dict[str, int] = field(default_factory=dict)
    lines: dict[str, list[int]] = field(default_factory=dict)

    def add(self, reason: str, line: int | None = None, count: int = 1) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + count
        if line is not None:
            listed = self.lines.setdefault(reason, [])
            if len(listed) < MAX_LINES_REPORTED:
                listed.append(line)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_answer(self) -> dict[str, dict[str, Any]]:
        return {
            reason: {"count": count, "lines": self.lines.get(reason, [])}
            for reason, count in self.counts.items()
        }


@dataclass
class ParsedBatch:
    events: list[dict[str, Any]]
    #: Each event's encoded size, to cut the batch into stream records.
    sizes: list[int]
    refusals: Refusals


def decompress(body: bytes, limits: BodyLimits) -> bytes:
    """The gzip body decompressed (several gzip members one after the other, as some
    shippers send, are read in turn), at most ``max_decompressed_bytes`` of it."""
    parts: list[bytes] = []
    size, rest = 0, body
    while True:
        decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            data = decoder.decompress(rest, limits.max_decompressed_bytes - size + 1)
        except zlib.error as error:
            detail = f"The gzip body does not decompress: {error}."
            raise BodyRefused(400, BROKEN_GZIP, detail) from None
        size += len(data)
        if size > limits.max_decompressed_bytes:
            raise BodyRefused(
                413,
                "too_large",
                f"The body decompresses to more than {limits.max_decompressed_bytes} bytes.",
            )
        if not decoder.eof:
            raise BodyRefused(400, BROKEN_GZIP, "The gzip body is truncated.")
        parts.append(data)
        rest = decoder.unused_data
        if not rest.strip(b"\0"):
            return b"".join(parts)


def parse_lines(data: bytes, limits: BodyLimits) -> ParsedBatch:
    """Every line of ``data`` that is a JSON object, and the others refused by reason."""
    events: list[dict[str, Any]] = []
    sizes: list[int] = []
    refusals = Refusals()
    for number, line in enumerate(data.split(b"\n"), start=1):
        if len(line) > limits.max_line_bytes:
            refusals.add(OVERSIZED_LINE, number)
            continue
        if not line.strip():
            continue
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                refusals.add(INVALID_UTF8, number)
            else:
                refusals.add(MALFORMED_JSON, number)
            continue
        if not isinstance(event, dict):
            refusals.add(MALFORMED_JSON, number)
            continue
        events.append(event)
        sizes.append(len(line))
    return ParsedBatch(events, sizes, refusals)


#: Bytes an event grows by in a stream record: a comma, and the ``_tenant``, ``_source``
#: and ``_received`` the receiver adds.
EVENT_OVERHEAD = 128
#: Bytes of a stream record that are not events (its tenant, source, time).
RECORD_OVERHEAD = 256


def chunks(sizes: list[int], budget: int) -> list[tuple[int, int]]:
    """Cut events of these encoded sizes into runs of at most ``budget`` bytes each (a run
    holds at least one event): the (start, end) of each run."""
    runs: list[tuple[int, int]] = []
    budget -= RECORD_OVERHEAD
    start, used = 0, 0
    for index, size in enumerate(sizes):
        cost = size + EVENT_OVERHEAD
        if index > start and used + cost > budget:
            runs.append((start, index))
            start, used = index, 0
        used += cost
    if start < len(sizes):
        runs.append((start, len(sizes)))
    return runs
