"""Requests the agent builds and what it does on each answer (decision 0025).

The transport is injected: a stand-in that records each request and answers from a script.
The HTTP behaviour against the real server is tested when the server side lands.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import ssl
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem_agent import protocol
from tandem_agent.client import (
    AgentClient,
    EnrolmentError,
    Revoked,
    TransportError,
    UrllibTransport,
)
from tandem_agent.inventory import SCHEMA_VERSION, apply, normalise, state_hash
from tandem_agent.protocol import HttpRequest, HttpResponse, interpret
from tandem_agent.queue import ReportQueue
from tandem_agent.service import JOB_REFUSAL, queue_inventory, run_loop, send
from tandem_agent.state import Enrolment, StateDir, Status


def _doc(packages: int, version: str = "1.0") -> dict:
    return normalise(
        {
            "schema_version": SCHEMA_VERSION,
            "os": {"kernel": "6.1.0"},
            "software": [
                {"id": f"pkg{i}:amd64", "name": f"pkg{i}", "version": version}
                for i in range(packages)
            ],
        }
    )


def _reply(status: int = 200, body: dict | None = None, **headers: str) -> HttpResponse:
    return HttpResponse(status, headers, json.dumps(body or {}).encode())


class ScriptedTransport:
    def __init__(self, *answers: HttpResponse | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[HttpRequest] = []

    def send(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def accept_all(request: HttpRequest, **extra) -> HttpResponse:
    ids = [r["id"] for r in request.json()["reports"]]
    return _reply(200, {"accepted": ids, **extra})


class EchoTransport(ScriptedTransport):
    """Accepts every report it is sent (the server's happy path)."""

    def __init__(self, **extra) -> None:
        super().__init__()
        self.extra = extra

    def send(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        return accept_all(request, **self.extra)


@pytest.fixture
def enrolled(state_dir):
    state = StateDir(state_dir)
    state.save_enrolment(Enrolment(server="https://tandem.example", device_id="dev-1"))
    state.save_credential("cred-1")
    return state


@pytest.fixture
def queue(state_dir):
    queue = ReportQueue(state_dir / "queue.sqlite3")
    yield queue
    queue.close()


# Building requests --------------------------------------------------------------------------


def test_enrol_request_carries_the_token_in_a_gzip_json_body_without_bearer():
    request = protocol.enrol_request(
        server="https://tandem.example/", token="enr_abc", site="hq", device={"hostname": "h"}
    )
    assert request.method == "POST"
    assert request.url == "https://tandem.example/agent/v1/enrol"
    assert request.headers["Content-Encoding"] == "gzip"
    assert request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in request.headers
    body = json.loads(gzip.decompress(request.body))
    assert body["token"] == "enr_abc" and body["site"] == "hq"
    assert body["device"] == {"hostname": "h"}


def test_check_in_request_has_the_bearer_credential_and_is_compressed():
    reports = [{"id": "r1", "kind": "inventory", "state_hash": "sha256:x", "unchanged": True}]
    request = protocol.check_in_request(
        server="https://tandem.example",
        credential="cred-1",
        device_id="dev-1",
        agent_time=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        server_offset=-1.5,
        reports=reports,
    )
    assert request.url == "https://tandem.example/agent/v1/check-in"
    assert request.headers["Authorization"] == "Bearer cred-1"
    assert request.headers["User-Agent"].startswith("tandem-agent/")
    assert request.body[:2] == b"\x1f\x8b"
    assert request.json()["reports"] == reports
    assert request.json()["server_offset_seconds"] == -1.5
    # The same payload gives the same bytes: gzip without a timestamp.
    assert protocol.encode({"a": 1}) == protocol.encode({"a": 1})


def test_first_report_is_full_then_deltas_then_unchanged():
    first, second = _doc(200), _doc(200, version="1.1")
    second["software"][0]["version"] = "2.0"
    assert set(protocol.inventory_payload(base=None, current=first, full=False)) == {
        "state_hash",
        "inventory",
    }
    small_change = normalise({**first, "os": {"kernel": "6.1.1"}})
    payload = protocol.inventory_payload(base=first, current=small_change, full=False)
    assert set(payload) == {"state_hash", "delta"}
    assert apply(first, payload["delta"]) == small_change
    assert protocol.inventory_payload(base=first, current=first, full=False) == {
        "state_hash": state_hash(first),
        "unchanged": True,
    }
    # Asked for the full document: full, whatever the base.
    assert "inventory" in protocol.inventory_payload(base=first, current=small_change, full=True)
    # A delta as big as the document itself is not worth it.
    assert "inventory" in protocol.inventory_payload(base=_doc(1), current=_doc(1, "2"), full=False)


def test_queued_reports_chain_their_deltas_oldest_first(queue, enrolled):
    one, two = _doc(50), normalise({**_doc(50), "os": {"kernel": "6.1.9"}})
    queue_inventory(enrolled, queue, one)
    queue_inventory(enrolled, queue, two)
    queue_inventory(enrolled, queue, two)  # unchanged: queued as its hash alone
    reports = queue.oldest(10)
    assert "inventory" not in reports[2].body
    payloads = protocol.report_payloads(reports, acknowledged=None, full=False)
    assert [r["sequence"] for r in payloads] == sorted(r["sequence"] for r in payloads)
    assert "inventory" in payloads[0]
    assert apply(one, payloads[1]["delta"]) == two
    assert payloads[2] == {
        **{k: payloads[2][k] for k in ("id", "sequence", "kind", "agent_time")},
        "state_hash": state_hash(two),
        "unchanged": True,
    }


# Reading answers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (200, "ok"),
        (201, "ok"),
        (401, "stop"),
        (403, "stop"),
        (409, "full"),
        (413, "shrink"),
        (429, "retry"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
        (400, "refused"),
        (422, "refused"),
    ],
)
def test_each_status_code_has_one_meaning(status, action):
    assert interpret(_reply(status)).action == action


def test_need_full_retry_after_and_revoked_detail():
    assert interpret(_reply(200, {"need_full": True})).action == "full"
    assert interpret(_reply(503, {}, **{"Retry-After": "120"})).retry_after == 120
    assert (
        interpret(_reply(429, {}, **{"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"})).retry_after
        is None
    )
    revoked = interpret(_reply(403, {"detail": "This device was revoked.", "code": "revoked"}))
    assert (revoked.action, revoked.detail) == ("stop", "This device was revoked.")
    gz = HttpResponse(200, {"Content-Encoding": "gzip"}, gzip.compress(b'{"need_full": true}'))
    assert interpret(gz).action == "full"
    assert interpret(HttpResponse(502, {}, b"<html>Bad gateway</html>")).detail == "HTTP 502"


# The client with its transport injected --------------------------------------------------------


def test_enrolment_stores_device_id_and_credential_0600(state_dir):
    state = StateDir(state_dir)
    transport = ScriptedTransport(
        _reply(201, {"device_id": "dev-9", "credential": "secret-9", "check_in_interval": 120})
    )
    enrolment = AgentClient(state=state, transport=transport).enrol(
        server="https://tandem.example", token="enr", site=None, device={}, ca_file="/etc/ca.pem"
    )
    assert (enrolment.device_id, enrolment.interval, enrolment.ca_file) == (
        "dev-9",
        120,
        "/etc/ca.pem",
    )
    assert state.credential() == "secret-9"
    assert oct(state.credential_path.stat().st_mode & 0o777) == "0o600"


def test_enrolling_again_clears_revocation_and_sends_the_first_inventory_whole(enrolled, queue):
    enrolled.save_acked_inventory(_doc(3))
    queue_inventory(enrolled, queue, _doc(3))
    enrolled.save_status(Status(revoked="revoked", extra={"queued_hash": state_hash(_doc(3))}))
    queue_inventory(enrolled, queue, _doc(3))  # queued before the new enrolment: hash only
    transport = ScriptedTransport(_reply(201, {"device_id": "dev-2", "credential": "new"}))
    client = AgentClient(state=enrolled, transport=transport)
    client.enrol(server="https://tandem.example", token="enr", site="hq", device={}, ca_file=None)
    assert enrolled.status().revoked is None
    client.transport = server = EchoTransport()
    send(client, queue)
    first = server.requests[0].json()["reports"]
    assert first[0]["inventory"] == _doc(3)
    assert "need_full" not in enrolled.status().extra
    queue_inventory(enrolled, queue, _doc(3))
    send(client, queue)
    assert server.requests[1].json()["reports"][0]["unchanged"] is True


def test_a_refused_enrolment_token_stores_nothing(state_dir):
    state = StateDir(state_dir)
    transport = ScriptedTransport(_reply(403, {"detail": "This enrolment token has expired."}))
    with pytest.raises(EnrolmentError, match="expired"):
        AgentClient(state=state, transport=transport).enrol(
            server="https://t", token="old", site=None, device={}, ca_file=None
        )
    assert state.enrolment() is None and state.credential() is None


def test_server_down_keeps_everything_then_delivers_oldest_first_once(enrolled, queue):
    for n in range(3):
        queue_inventory(enrolled, queue, normalise({**_doc(5), "os": {"kernel": f"6.1.{n}"}}))
    down = AgentClient(state=enrolled, transport=ScriptedTransport(TransportError("refused")))
    with pytest.raises(TransportError):
        send(down, queue)
    assert len(queue) == 3
    assert "server unreachable" in enrolled.status().last_error
    up = EchoTransport()
    result = send(AgentClient(state=enrolled, transport=up), queue)
    assert (result.acknowledged, result.remaining, len(queue)) == (3, 0, 0)
    sent = [r["id"] for request in up.requests for r in request.json()["reports"]]
    assert len(sent) == len(set(sent)) == 3
    assert enrolled.status().last_error is None
    assert enrolled.acked_inventory()["os"] == {"kernel": "6.1.2"}


def test_need_full_resends_the_first_inventory_whole(enrolled, queue):
    enrolled.save_acked_inventory(_doc(50))
    changed = normalise({**_doc(50), "os": {"kernel": "6.1.9"}})
    queue_inventory(enrolled, queue, changed)
    requests = []

    class Server:
        def send(self, request):
            requests.append(request.json())
            if len(requests) == 1:
                return _reply(200, {"need_full": True, "accepted": []})
            return accept_all(request)

    send(AgentClient(state=enrolled, transport=Server()), queue)
    first, second = requests
    assert "delta" in first["reports"][0]  # against the acknowledged base
    assert second["reports"][0]["inventory"] == changed
    assert len(queue) == 0


def test_revoked_credential_stops_and_is_recorded(enrolled, queue):
    queue_inventory(enrolled, queue, _doc(2))
    transport = ScriptedTransport(_reply(401, {"detail": "revoked", "code": "revoked"}))
    with pytest.raises(Revoked):
        send(AgentClient(state=enrolled, transport=transport), queue)
    assert enrolled.status().revoked == "revoked"
    assert len(queue) == 1  # nothing dropped: a re-enrolled agent still sends it


def test_413_sends_fewer_reports_per_request(enrolled, queue):
    for n in range(4):
        queue_inventory(enrolled, queue, normalise({**_doc(2), "os": {"kernel": str(n)}}))
    sizes = []

    class Server:
        def send(self, request):
            reports = request.json()["reports"]
            sizes.append(len(reports))
            if len(reports) > 1:
                return _reply(413, {"detail": "too large"})
            return accept_all(request)

    result = AgentClient(state=enrolled, transport=Server()).send_queue(queue, batch_size=4)
    assert sizes[:3] == [4, 2, 1]
    assert result.remaining == 0


def test_refused_reports_stay_queued_with_the_reason(enrolled, queue):
    queue_inventory(enrolled, queue, _doc(2))
    transport = ScriptedTransport(_reply(422, {"detail": "reports.0.delta: malformed"}))
    result = send(AgentClient(state=enrolled, transport=transport), queue)
    assert result.outcome.action == "refused"
    assert len(queue) == 1
    assert "malformed" in enrolled.status().last_error


def test_rotation_clock_offset_interval_and_jobs(enrolled, queue):
    queue_inventory(enrolled, queue, _doc(2))
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    server_time = (now + timedelta(minutes=10)).isoformat()
    calls = []

    class Server:
        def send(self, request):
            calls.append(request)
            body = request.json()
            extra = {"server_time": server_time, "check_in_interval": 60}
            if len(calls) == 1:
                extra |= {
                    "credential": {"value": "cred-2"},
                    "jobs": [{"id": "job-1", "kind": "reboot"}],
                }
            return accept_all(request, **extra) if body["reports"] else _reply(200, extra)

    client = AgentClient(state=enrolled, transport=Server(), clock=lambda: now)
    result = send(client, queue)
    assert enrolled.credential() == "cred-2"
    assert calls[0].headers["Authorization"] == "Bearer cred-1"
    assert calls[1].headers["Authorization"] == "Bearer cred-2"
    job_result = calls[1].json()["reports"][0]
    assert (job_result["kind"], job_result["job_id"], job_result["status"]) == (
        "job_result",
        "job-1",
        "refused",
    )
    assert job_result["output"] == JOB_REFUSAL
    assert enrolled.status().server_offset_seconds == 600.0
    assert result.interval == 60
    # The next request carries the offset, so the server can read the agent's times.
    assert calls[1].json()["server_offset_seconds"] == 600.0


def test_the_loop_queues_before_sending_and_stops_on_revocation(enrolled, queue):
    collected = []

    def collect():
        collected.append(1)
        return normalise({**_doc(2), "os": {"kernel": str(len(collected))}})

    stop = threading.Event()
    down = ScriptedTransport(TransportError("down"), TransportError("down"))
    outcome = run_loop(
        client=AgentClient(state=enrolled, transport=down),
        queue=queue,
        collect=collect,
        stop=stop,
        rng=random.Random(0),
        max_rounds=2,
    )
    assert (outcome.stopped_by, len(queue)) == ("rounds", 2)
    revoked = ScriptedTransport(_reply(403, {"detail": "revoked"}))
    outcome = run_loop(
        client=AgentClient(state=enrolled, transport=revoked),
        queue=queue,
        collect=collect,
        stop=stop,
        rng=random.Random(0),
    )
    assert outcome.stopped_by == "revoked"
    stop.set()
    outcome = run_loop(
        client=AgentClient(state=enrolled, transport=EchoTransport()),
        queue=queue,
        collect=collect,
        stop=stop,
        rng=random.Random(0),
    )
    assert (outcome.rounds, outcome.stopped_by) == (0, "signal")


def test_tls_is_verified_by_default_and_a_ca_file_is_used(tmp_path):
    transport = UrllibTransport()
    assert transport.context.verify_mode == ssl.CERT_REQUIRED
    assert transport.context.check_hostname is True
    with pytest.raises((ssl.SSLError, FileNotFoundError, OSError)):
        UrllibTransport(ca_file=str(tmp_path / "missing.pem"))


def test_without_server_time_the_date_header_gives_the_offset(enrolled, queue):
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    class Server:
        def send(self, request):
            ids = [r["id"] for r in request.json()["reports"]]
            return HttpResponse(
                200,
                {"Date": "Sun, 01 Mar 2026 11:59:00 GMT"},
                json.dumps({"accepted": ids}).encode(),
            )

    queue_inventory(enrolled, queue, _doc(1))
    send(AgentClient(state=enrolled, transport=Server(), clock=lambda: now), queue)
    assert enrolled.status().server_offset_seconds == -60.0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    versions=st.lists(
        st.lists(st.sampled_from(["1", "2", "3"]), min_size=3, max_size=3), min_size=1, max_size=6
    ),
    acknowledged=st.booleans(),
    full=st.booleans(),
)
def test_a_server_applying_the_payloads_in_order_holds_each_queued_state(
    versions, acknowledged, full
):
    """What the server must do with a batch (decision 0025), and that it always works."""
    with tempfile.TemporaryDirectory() as folder:
        state = StateDir(Path(folder))
        queue = ReportQueue(Path(folder) / "queue.sqlite3")
        documents = [
            normalise(
                {
                    "schema_version": SCHEMA_VERSION,
                    "os": {"kernel": "6.1"},
                    "software": [
                        {"id": f"pkg{i}:amd64", "version": v, "text": "x" * 40}
                        for i, v in enumerate(vs * 10)
                    ],
                }
            )
            for vs in versions
        ]
        base = documents[0] if acknowledged else None
        for document in documents:
            queue_inventory(state, queue, document)
        payloads = protocol.report_payloads(queue.oldest(100), acknowledged=base, full=full)
        queue.close()
    held = base
    for payload, document in zip(payloads, documents, strict=True):
        if "inventory" in payload:
            held = payload["inventory"]
        elif "delta" in payload:
            held = apply(held, payload["delta"])
        else:
            assert payload["unchanged"] and held is not None
        assert state_hash(held) == payload["state_hash"] == state_hash(document)
    if full or base is None:
        assert "inventory" in payloads[0]


def test_a_failing_collector_does_not_stop_the_loop_or_the_queue(enrolled, queue):
    queue_inventory(enrolled, queue, _doc(1))

    def broken():
        raise RuntimeError("psutil broke")

    server = EchoTransport()
    outcome = run_loop(
        client=AgentClient(state=enrolled, transport=server),
        queue=queue,
        collect=broken,
        stop=threading.Event(),
        rng=random.Random(0),
        max_rounds=1,
    )
    assert outcome.stopped_by == "rounds"
    assert len(queue) == 0 and len(server.requests) == 1
