"""Reading ``/agent/v1/`` request bodies: gzip with limits, JSON, and their shapes
(decision 0025). Pure: no database; a body that fails here has written nothing.
"""

from __future__ import annotations

import uuid
import zlib
from typing import Any, Literal

import orjson
from isal import igzip_lib
from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: The most a request body may carry on the wire, compressed.
MAX_BODY_BYTES = 4 * 1024 * 1024
#: The most a body may inflate to: a gzip bomb stops here instead of filling memory. A
#: full inventory of ~1,500 packages is about 0.5 MB of JSON.
MAX_JSON_BYTES = 16 * 1024 * 1024
#: Reports one check-in may carry (the agent sends 20; 413 makes it send fewer).
MAX_REPORTS = 50
MAX_SEQUENCE = 2**62


class WireError(Exception):
    """A request the server refuses as sent: ``status``, a one-sentence ``detail`` and a
    ``code`` the agent may act on (decision 0025's error shape)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def decode_body(body: bytes, *, content_encoding: str) -> Any:
    """The JSON a body carries, inflated when gzip; 413 beyond the limits, 400 when it is
    not gzip or not JSON."""
    if len(body) > MAX_BODY_BYTES:
        raise WireError(413, "too_large", "Request body too large.")
    if content_encoding.strip().lower() == "gzip":
        raw = _inflate(body)
    elif content_encoding.strip():
        raise WireError(400, "malformed", "Only gzip or uncompressed bodies are accepted.")
    else:
        raw = body
    try:
        # orjson: several times faster than ``json`` on a 0.5 MB inventory and on the small
        # body of every check-in (decision 0028). It refuses what is not strict JSON
        # (NaN, invalid UTF-8, integers beyond 64 bits), all "not valid JSON" here.
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise WireError(400, "malformed", "The body is not valid JSON.") from exc


#: A gzip member's first bytes (magic, deflate) and its header's reserved flag bits.
_GZIP_START = b"\x1f\x8b\x08"
_RESERVED_FLAGS = 0xE0


def _inflate(body: bytes) -> bytes:
    """A gzip body's first member, inflated to at most ``MAX_JSON_BYTES``: 413 beyond, 400
    when it is not gzip or is cut short (its CRC and length checked).

    ISA-L inflates a ~1,700-package inventory's body in half ``zlib``'s time (decision
    0049, fourth round). Its decompressor says whether it stopped at the limit with more to
    come (``needs_input`` false: too large) or ran out of input. A body it does not read to
    its end is given to ``zlib`` as before, so a malformed body gets the very answer it
    got before (the two tell "not gzip" and "truncated" apart at slightly different bytes);
    a bomb is refused here, inflated once. ISA-L ignores the header's reserved flag bits,
    which ``zlib`` (and RFC 1952) refuse: such a header, like anything but gzip's fixed
    start, goes to ``zlib`` first."""
    if len(body) < 4 or body[:3] != _GZIP_START or body[3] & _RESERVED_FLAGS:
        return _inflate_zlib(body)
    inflater = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)
    try:
        raw = inflater.decompress(body, MAX_JSON_BYTES)
    except igzip_lib.IsalError:  # type: ignore[misc]  # isal's stub types it as an instance
        return _inflate_zlib(body)
    if inflater.eof:
        return raw
    if not inflater.needs_input:
        raise WireError(413, "too_large", "Request body too large once decompressed.")
    return _inflate_zlib(body)


def _inflate_zlib(body: bytes) -> bytes:
    """:func:`_inflate` with ``zlib``: the answers for a body ISA-L did not read through."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(body, MAX_JSON_BYTES)
    except zlib.error as exc:
        raise WireError(400, "malformed", "The body is not valid gzip.") from exc
    if inflater.unconsumed_tail:
        raise WireError(413, "too_large", "Request body too large once decompressed.")
    if not inflater.eof:
        raise WireError(400, "malformed", "The gzip body is truncated.")
    return raw


def encode_answer(payload: dict[str, Any]) -> bytes:
    """An answer's JSON body: the same bytes from the full Django path and the fast path."""
    return orjson.dumps(payload)


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore")


class DeviceFacts(_Shape):
    hostname: str = Field("", max_length=255)
    fqdn: str | None = Field(None, max_length=255)
    hardware_id: str | None = Field(None, max_length=200)
    serial: str | None = Field(None, max_length=200)
    manufacturer: str | None = Field(None, max_length=200)
    model: str | None = Field(None, max_length=200)
    agent_version: str | None = Field(None, max_length=40)
    os: dict[str, Any] | None = None


class EnrolRequest(_Shape):
    token: str = Field(min_length=1, max_length=200)
    site: str | None = Field(None, max_length=200)
    device: DeviceFacts
    agent_version: str = Field("", max_length=40)


class Report(_Shape):
    id: uuid.UUID
    sequence: int = Field(ge=1, le=MAX_SEQUENCE)
    kind: Literal["inventory", "job_result"]
    agent_time: str | None = Field(None, max_length=64)
    state_hash: str | None = Field(None, max_length=80)
    inventory: dict[str, Any] | None = None
    delta: dict[str, Any] | None = None
    unchanged: bool | None = None
    job_id: str | None = Field(None, max_length=64)
    status: str | None = Field(None, max_length=20)
    exit_code: int | None = Field(None, ge=-(2**31), le=2**31)
    output: str | None = Field(None, max_length=1_000_000)


class CheckInRequest(_Shape):
    device_id: str = Field(min_length=1, max_length=64)
    agent_version: str = Field("", max_length=40)
    agent_time: str | None = Field(None, max_length=64)
    server_offset_seconds: float | None = None
    reports: list[Report] = Field(default_factory=list, max_length=MAX_REPORTS)


def parse(shape: type[_Shape], data: Any) -> Any:
    """``data`` as ``shape``; 422 naming the first problem otherwise."""
    try:
        return shape.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise WireError(422, "invalid", f"{where}: {first['msg']}") from exc
