"""Talking to the server: an HTTPS transport, enrolment, and sending the queue.

The transport is injected: :class:`UrllibTransport` (standard library, TLS verified by
default, an optional CA file) in use, a recording stand-in in tests. Everything the client
decides comes from :mod:`tandem_agent.protocol`; this module sends, acknowledges, rotates
the credential, records the clock offset and the last error.
"""

from __future__ import annotations

import email.utils
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from tandem_agent import protocol
from tandem_agent.inventory import Document
from tandem_agent.queue import ReportQueue
from tandem_agent.state import Enrolment, StateDir
from tandem_agent.timing import clock_offset

#: Reports per check-in; halved on 413, never below one.
BATCH_SIZE = 20


class TransportError(Exception):
    """The server could not be reached (DNS, refused connection, TLS, timeout)."""


class Transport(Protocol):
    def send(self, request: protocol.HttpRequest) -> protocol.HttpResponse: ...


class UrllibTransport:
    """HTTPS through urllib; certificates verified unless the operator turns it off."""

    def __init__(self, *, ca_file: str | None = None, timeout: float = 60) -> None:
        self.context = ssl.create_default_context(cafile=ca_file)
        self.timeout = timeout

    def send(self, request: protocol.HttpRequest) -> protocol.HttpResponse:
        if not request.url.startswith(("https://", "http://")):
            raise TransportError(f"not an HTTP URL: {request.url}")
        outgoing = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            request.url, data=request.body, headers=dict(request.headers), method=request.method
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                outgoing, timeout=self.timeout, context=self.context
            ) as answer:
                return protocol.HttpResponse(answer.status, dict(answer.headers), answer.read())
        except urllib.error.HTTPError as error:
            return protocol.HttpResponse(error.code, dict(error.headers or {}), error.read())
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            raise TransportError(str(getattr(error, "reason", error))) from error


class EnrolmentError(Exception):
    """The server refused the enrolment token, or answered something unusable."""


class Revoked(Exception):
    """The server refused the device's credential: the agent stops until enrolled again."""


@dataclass(frozen=True)
class SendResult:
    """One attempt to empty the queue: what was sent, and what to do next."""

    outcome: protocol.Outcome
    acknowledged: int
    remaining: int
    jobs: list[dict[str, Any]]
    interval: int | None = None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class AgentClient:
    def __init__(
        self,
        *,
        state: StateDir,
        transport: Transport,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.state = state
        self.transport = transport
        self.clock = clock

    def enrol(
        self,
        *,
        server: str,
        token: str,
        site: str | None,
        device: dict[str, Any],
        ca_file: str | None,
    ) -> Enrolment:
        """Trade the enrolment token for a device id and credential; store both."""
        request = protocol.enrol_request(server=server, token=token, site=site, device=device)
        response = self.transport.send(request)
        outcome = protocol.interpret(response)
        if outcome.action != protocol.OK:
            raise EnrolmentError(f"the server refused the enrolment: {outcome.detail}")
        body = outcome.body
        if not isinstance(body.get("device_id"), str) or not isinstance(
            body.get("credential"), str
        ):
            raise EnrolmentError("the server's answer has no device id and credential")
        enrolment = Enrolment(
            server=server,
            device_id=body["device_id"],
            ca_file=ca_file,
            interval=int(body.get("check_in_interval") or 300),
        )
        self.state.save_credential(body["credential"])
        self.state.save_enrolment(enrolment)
        status = self.state.status()
        status.revoked = None
        status.last_error = None
        status.acked_hash = None
        # The new identity has no state on the server: the first inventory goes whole. The
        # last acknowledged document stays, as the one a report queued "unchanged" names.
        status.extra["need_full"] = True
        self.state.save_status(status)
        return enrolment

    def send_queue(self, queue: ReportQueue, *, batch_size: int = BATCH_SIZE) -> SendResult:
        """Send queued reports oldest first until the queue is empty or a response says stop.

        Raises :class:`TransportError` when the server cannot be reached and
        :class:`Revoked` when it refuses the credential; every other outcome is returned.
        """
        enrolment = self.state.enrolment()
        credential = self.state.credential()
        if enrolment is None or credential is None:
            raise EnrolmentError("this agent is not enrolled")
        full = bool(self.state.status().extra.get("need_full"))
        acknowledged = 0
        jobs: list[dict[str, Any]] = []
        interval: int | None = None
        while True:
            reports = queue.oldest(batch_size)
            status = self.state.status()
            payloads = protocol.report_payloads(
                reports, acknowledged=self.state.acked_inventory(), full=full
            )
            request = protocol.check_in_request(
                server=enrolment.server,
                credential=credential,
                device_id=enrolment.device_id,
                agent_time=now_iso(),
                server_offset=status.server_offset_seconds,
                reports=payloads,
            )
            sent = self.clock()
            try:
                response = self.transport.send(request)
            except TransportError as error:
                self._record_error(f"server unreachable: {error}")
                raise
            outcome = protocol.interpret(response)
            self._record_clock(outcome.body, response, sent=sent)
            if outcome.action == protocol.STOP:
                self._record_revoked(outcome.detail)
                raise Revoked(outcome.detail)
            if outcome.action == protocol.SHRINK and batch_size > 1:
                batch_size = max(1, batch_size // 2)
                continue
            if outcome.action not in (protocol.OK, protocol.FULL):
                self._record_error(f"check-in refused: {outcome.detail}")
                return SendResult(outcome, acknowledged, len(queue), jobs, interval)
            taken = self._acknowledge(queue, reports, outcome.body)
            acknowledged += taken
            jobs.extend(j for j in outcome.body.get("jobs") or [] if isinstance(j, dict))
            interval = _positive_int(outcome.body.get("check_in_interval")) or interval
            credential = self._rotate(outcome.body) or credential
            if outcome.action == protocol.FULL:
                if full:  # asked twice in a row: do not loop, try again next time
                    self._record_error("the server asked for the full inventory twice")
                    return SendResult(outcome, acknowledged, len(queue), jobs, interval)
                full = True
                continue
            if full:
                self._clear_need_full()
            full = False
            if reports and not taken:
                self._record_error("the server took none of the reports sent")
                return SendResult(outcome, acknowledged, len(queue), jobs, interval)
            if not len(queue) or not reports:
                self._record_success()
                return SendResult(outcome, acknowledged, len(queue), jobs, interval)

    # What a response changes ------------------------------------------------------------

    def _acknowledge(self, queue: ReportQueue, reports: list[Any], body: dict[str, Any]) -> int:
        accepted = {str(i) for i in body.get("accepted") or []}
        last_document: Document | None = None
        for report in reports:
            if report.id in accepted and report.kind == "inventory":
                last_document = report.body.get("inventory") or last_document
        if last_document is not None:
            self.state.save_acked_inventory(last_document)
        status = self.state.status()
        if isinstance(body.get("state_hash"), str):
            status.acked_hash = body["state_hash"]
        self.state.save_status(status)
        return queue.acknowledge(r.id for r in reports if r.id in accepted)

    def _rotate(self, body: dict[str, Any]) -> str | None:
        """A new credential in the answer replaces the old one before the next request."""
        rotated = body.get("credential")
        value = rotated.get("value") if isinstance(rotated, dict) else rotated
        if isinstance(value, str) and value:
            self.state.save_credential(value)
            return value
        return None

    def _record_clock(
        self, body: dict[str, Any], response: protocol.HttpResponse, *, sent: datetime
    ) -> None:
        """The server's clock from ``server_time`` in the body, else the ``Date`` header."""
        parsed = _parse_time(body.get("server_time")) or _parse_http_date(response.header("Date"))
        if parsed is None:
            return
        status = self.state.status()
        status.server_offset_seconds = round(
            clock_offset(sent=sent, received=self.clock(), server_time=parsed), 3
        )
        self.state.save_status(status)

    def _clear_need_full(self) -> None:
        status = self.state.status()
        if status.extra.pop("need_full", None) is not None:
            self.state.save_status(status)

    def _record_error(self, message: str) -> None:
        status = self.state.status()
        status.last_error = f"{now_iso()} {message}"
        self.state.save_status(status)

    def _record_revoked(self, detail: str) -> None:
        status = self.state.status()
        status.revoked = detail
        status.last_error = f"{now_iso()} refused by the server: {detail}"
        self.state.save_status(status)

    def _record_success(self) -> None:
        status = self.state.status()
        status.last_check_in = now_iso()
        status.last_error = None
        self.state.save_status(status)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None
