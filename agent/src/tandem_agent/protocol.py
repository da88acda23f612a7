"""The ``/agent/v1/`` protocol as pure functions: requests built, responses read.

Decision 0025 (``docs/decisions/0025-agent-protocol.md``) is the contract; this module is its
agent half, with no I/O: :mod:`tandem_agent.client` sends what these functions build through
an injected transport and acts on what :func:`interpret` says.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tandem_agent import __version__
from tandem_agent.inventory import DeltaError, Document, canonical, delta, state_hash
from tandem_agent.queue import QueuedReport

API_PREFIX = "/agent/v1/"
USER_AGENT = f"tandem-agent/{__version__}"

#: What :func:`interpret` tells the client to do with a response.
OK, FULL, STOP, RETRY, SHRINK, REFUSED = "ok", "full", "stop", "retry", "shrink", "refused"


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body decoded (gzip, then JSON): what the server will read."""
        return json.loads(gzip.decompress(self.body))


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    def json(self) -> Any:
        body = self.body
        if self.header("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return json.loads(body) if body.strip() else {}


@dataclass(frozen=True)
class Outcome:
    """What to do after a response: ``action`` is one of OK, FULL, STOP, RETRY, SHRINK, REFUSED."""

    action: str
    detail: str = ""
    retry_after: float | None = None
    body: dict[str, Any] = field(default_factory=dict)


def endpoint(server: str, path: str) -> str:
    """``https://tandem.example`` + ``check-in`` → ``https://tandem.example/agent/v1/check-in``."""
    return server.rstrip("/") + API_PREFIX + path.lstrip("/")


def encode(payload: Any) -> bytes:
    """JSON, gzip-compressed with no timestamp: the same payload gives the same bytes."""
    return gzip.compress(
        json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
        mtime=0,
    )


def _headers(credential: str | None) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        "Accept": "application/json",
        "Accept-Encoding": "gzip",
        "User-Agent": USER_AGENT,
    }
    if credential:
        headers["Authorization"] = f"Bearer {credential}"
    return headers


def enrol_request(
    *, server: str, token: str, site: str | None, device: dict[str, Any]
) -> HttpRequest:
    """``POST /agent/v1/enrol`` with the enrolment token in the body, never in a header."""
    payload = {"token": token, "site": site, "device": device, "agent_version": __version__}
    return HttpRequest("POST", endpoint(server, "enrol"), _headers(None), encode(payload))


def inventory_payload(*, base: Document | None, current: Document, full: bool) -> dict[str, Any]:
    """The inventory part of a report: a delta against ``base`` when that is smaller.

    Full when asked (the server said ``need_full``), when there is no base (the first
    report, or the server acknowledged nothing yet), when the schema changed, or when the
    delta would not be smaller than the document itself.
    """
    current_hash = state_hash(current)
    if full or base is None:
        return {"state_hash": current_hash, "inventory": current}
    if state_hash(base) == current_hash:
        return {"state_hash": current_hash, "unchanged": True}
    try:
        change = delta(base, current)
    except DeltaError:
        return {"state_hash": current_hash, "inventory": current}
    if len(json.dumps(change)) >= len(canonical(current)):
        return {"state_hash": current_hash, "inventory": current}
    return {"state_hash": current_hash, "delta": change}


def report_payloads(
    reports: Sequence[QueuedReport], *, acknowledged: Document | None, full: bool
) -> list[dict[str, Any]]:
    """The queued reports as the server takes them, oldest first.

    An inventory report's document is sent as a delta against the one before it (the first
    against the last one the server acknowledged). A report queued as "unchanged" names only
    its hash. With ``full`` the first inventory goes whole, so the server can start again.
    """
    payloads = []
    base = acknowledged
    need_full = full
    for report in reports:
        envelope = {
            "id": report.id,
            "sequence": report.sequence,
            "kind": report.kind,
            "agent_time": report.agent_time,
        }
        if report.kind != "inventory":
            payloads.append({**envelope, **report.body})
            continue
        document = report.body.get("inventory")
        if document is None:
            # Queued as unchanged: same hash as the report before it, so same document.
            if need_full and base is not None and state_hash(base) == report.body["state_hash"]:
                document = base
            else:
                payloads.append(
                    {**envelope, "state_hash": report.body["state_hash"], "unchanged": True}
                )
                continue
        payloads.append(
            {**envelope, **inventory_payload(base=base, current=document, full=need_full)}
        )
        base = document
        need_full = False
    return payloads


def check_in_request(
    *,
    server: str,
    credential: str,
    device_id: str,
    agent_time: str,
    server_offset: float | None,
    reports: list[dict[str, Any]],
) -> HttpRequest:
    """``POST /agent/v1/check-in``: the device's reports, oldest first, as one gzip body."""
    payload = {
        "device_id": device_id,
        "agent_version": __version__,
        "agent_time": agent_time,
        "server_offset_seconds": server_offset,
        "reports": reports,
    }
    return HttpRequest("POST", endpoint(server, "check-in"), _headers(credential), encode(payload))


def _retry_after(response: HttpResponse) -> float | None:
    value = response.header("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: the backoff alone decides


def interpret(response: HttpResponse) -> Outcome:
    """What a response means for the agent (decision 0025, "Status codes").

    2xx: done (``need_full`` in the body: send again, the first inventory whole). 401 and
    403: the credential is revoked or unknown, so the agent stops and says so. 409: the
    server lost the base state, send in full. 413: too big, send fewer reports. 429 and
    5xx: back off and retry, no sooner than ``Retry-After``. Any other 4xx: the server
    refused the reports; keep them and retry later, and show the reason in ``status``.
    """
    try:
        body = response.json()
    except (ValueError, OSError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = str(body.get("detail") or body.get("code") or f"HTTP {response.status}")
    status = response.status
    if 200 <= status < 300:
        return Outcome(FULL if body.get("need_full") else OK, body=body)
    if status in (401, 403):
        return Outcome(STOP, detail=detail, body=body)
    if status == 409:
        return Outcome(FULL, detail=detail, body=body)
    if status == 413:
        return Outcome(SHRINK, detail=detail, body=body)
    if status == 429 or status >= 500:
        return Outcome(RETRY, detail=detail, retry_after=_retry_after(response), body=body)
    return Outcome(REFUSED, detail=detail, body=body)
