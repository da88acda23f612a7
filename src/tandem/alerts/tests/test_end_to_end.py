"""From a sender to a routed ticket (issue 12's done-when; decision 0041): events sent over
the HTTP batch endpoint (a real ingest token, gzip NDJSON) and to a real syslog listener
over UDP, TCP and TLS land in the embedded stream (in the test's own folder), the detection
worker matches them with a rule written here, and Acme gets one alert and one ticket,
routed by the responsibility matrix's security monitoring row.

The listener runs in-process on ports the system picks. Its sink runs the real
``SyslogSink`` on the test's own thread (``Relay``): the test's database transaction is
visible on that thread only, and the listener still waits for the sink to return, as it
does in production.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest
from django.test import Client
from tests.personas import World

from tandem.alerts import pipeline
from tandem.alerts.models import Alert
from tandem.alerts.pipeline import DetectionWorker, load_engine
from tandem.alerts.tests.support import alerts_of, get, security_monitoring_row
from tandem.cli import main as tandem
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.detection.packs import STARTER
from tandem.logs import streams
from tandem.logs.models import IngestSource
from tandem.logs.normalise import from_syslog, normalise_event
from tandem.logs.services import create_ingest_source
from tandem.logs.syslog.listener import ListenerConfig, SinkBusy, SyslogListener
from tandem.logs.syslog.tests.test_listener import self_signed
from tandem.logs.syslog_sink import SyslogSink
from tandem.servicedesk.tickets.models import Ticket
from tandem.tenancy.models import Tenant

pytestmark = pytest.mark.django_db

RULE_ID = "0b8e6a52-3c1f-4e57-9a0d-5c2f7e1d9b41"
TITLE = "E2E root password refused over SSH"
RULE = f"""
title: {TITLE}
id: {RULE_ID}
level: high
tags: [attack.credential_access, attack.t1110.001]
logsource:
    product: linux
    service: sshd
detection:
    selection:
        message|contains: 'Failed password for root'
    condition: selection
"""
HOST = "acme-hq-db01"


def line(
    text: str = "Failed password for root from 203.0.113.9 port 51022 ssh2",
    *,
    app: str = "sshd",
    pri: int = 38,
) -> str:
    """An RFC 5424 line from ``app`` on Acme's database server (sshd: auth.info), a
    minute ago."""
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat(timespec="seconds")
    return f"<{pri}>1 {at.replace('+00:00', 'Z')} {HOST} {app} 4242 - - {text}"


@pytest.fixture(autouse=True)
def own_stream(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.LOG_STREAM = "embedded"
    settings.LOG_STREAM_DIR = tmp_path / "stream"
    settings.LOG_STREAM_ACK_WAIT_SECONDS = 1
    settings.DETECTION_CACHE_DIR = tmp_path / "sigma-cache"
    streams.reset_stream()
    yield settings.LOG_STREAM_DIR
    streams.reset_stream()


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "ssh_root.yml").write_text(RULE, encoding="utf-8")
    return folder


@pytest.fixture
def security_area(world: World) -> int:
    return security_monitoring_row(world)


def syslog_source(world: World, networks: list[str], **limits: Any) -> IngestSource:
    with system_context("test: Acme"):
        acme = Tenant.objects.get(pk=world["tenant"])
    source, _ = create_ingest_source(
        actor=system_principal("test: a syslog source"),
        tenant=acme,
        name="Acme HQ syslog relay",
        kind="syslog",
        allowed_networks=networks,
        **limits,
    )
    return source


def run_worker(rules: Path) -> DetectionWorker:
    _, engine = load_engine(rules)
    worker = DetectionWorker(engine, name="test-worker")
    try:
        worker.drain()
    finally:
        worker.close()
    return worker


def assert_one_alert_and_one_ticket(world: World, area: int, *, count: int) -> Alert:
    [alert] = alerts_of(world["tenant"], RULE_ID)
    assert (alert.host, alert.severity, alert.event_count) == (HOST, "high", count)
    assert alert.techniques == ["T1110.001"]
    assert alert.ticket_id is not None
    ticket = get(Ticket, alert.ticket_id)
    assert ticket.service_area_id == area
    assert ticket.party_id == world["internal_party"]
    assert ticket.subject.startswith(f"Security alert: {TITLE} on {HOST}")
    with system_context("test: alert tickets"):
        tickets = Ticket.objects.filter(tenant_id=world["tenant"], subject__contains=TITLE)
        assert tickets.count() == 1
    return alert


# --- HTTP -------------------------------------------------------------------------------


def post(body: bytes, token: str) -> Any:
    return Client().generic(
        "POST",
        "/ingest/v1/events",
        gzip.compress(body),
        content_type="application/x-ndjson",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_CONTENT_ENCODING="gzip",
    )


def test_http_batches_raise_one_alert_and_one_routed_ticket(world, rules, security_area):
    event = orjson.dumps({"syslog": line()}) + b"\n"
    quiet = orjson.dumps({"syslog": line("Accepted publickey for alice")}) + b"\n"
    for body in (event + quiet, event):  # the same event twice, within the window
        answer = post(body, world.secrets["ingest_source"])
        assert answer.status_code == 200, answer.content
    tally = run_worker(rules).tally
    assert (tally.batches, tally.events, tally.detections, tally.raised) == (2, 3, 2, 1)
    assert_one_alert_and_one_ticket(world, security_area, count=2)
    # Everything was acknowledged: a second worker finds nothing to do.
    assert run_worker(rules).tally.batches == 0


# --- Syslog ------------------------------------------------------------------------------


class Relay:
    """The listener's sink: hands each batch to the real sink on the test's thread and
    waits for it, passing ``SinkBusy`` back to the listener."""

    def __init__(self, real: Callable[[str, list[dict[str, Any]]], None]) -> None:
        self.real = real
        self.taken = 0
        self._queue: queue.Queue[tuple[str, list[dict[str, Any]], threading.Event, list]] = (
            queue.Queue()
        )

    def __call__(self, sender: str, events: list[dict[str, Any]]) -> None:
        done, failure = threading.Event(), []
        self._queue.put((sender, events, done, failure))
        if not done.wait(10):
            raise SinkBusy("the test did not serve the sink")
        if failure:
            raise failure[0]

    def serve(self, until: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not until():
            assert time.monotonic() < deadline, f"only {self.taken} events reached the sink"
            self.serve_one(0.05)

    def serve_one(self, wait: float) -> None:
        try:
            sender, events, done, failure = self._queue.get(timeout=wait)
        except queue.Empty:
            return
        try:
            self.real(sender, events)
            self.taken += len(events)
        except Exception as exc:
            failure.append(exc)
        finally:
            done.set()


@contextmanager
def listening(relay: Relay, **ports: Any) -> Iterator[SyslogListener]:
    settings = {"host": "127.0.0.1", "udp_port": None, "tcp_port": None, "batch_interval": 0.05}
    config = ListenerConfig(**(settings | ports))
    listener = SyslogListener(relay, config, to_event=from_syslog)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(listener.start(), loop).result(10)
    try:
        yield listener
    finally:
        stopped = asyncio.run_coroutine_threadsafe(listener.stop(), loop)
        while not stopped.done():  # stopping delivers what is pending: keep serving
            relay.serve_one(0.05)
        stopped.result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def send_udp(address: tuple[str, int], text: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(text.encode(), address)


def send_tcp(address: tuple[str, int], text: str) -> None:
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(text.encode() + b"\n")


def tls_sender(certfile: str) -> Callable[[tuple[str, int], str], None]:
    context = ssl.create_default_context(cafile=certfile)

    def send(address: tuple[str, int], text: str) -> None:
        with (
            socket.create_connection(address, timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as sock,
        ):
            data = text.encode()
            sock.sendall(f"{len(data)} ".encode() + data)  # octet counting (RFC 6587)

    return send


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_syslog_raises_one_alert_and_one_routed_ticket(
    world, rules, security_area, tmp_path, transport
):
    source = syslog_source(world, ["127.0.0.0/8"])
    relay = Relay(SyslogSink())
    ports: dict[str, Any] = {f"{transport}_port": 0}
    send: Callable[[tuple[str, int], str], None] = {"udp": send_udp, "tcp": send_tcp}.get(
        transport, send_tcp
    )
    if transport == "tls":
        certfile, keyfile = self_signed(tmp_path)
        ports |= {"tls_certfile": certfile, "tls_keyfile": keyfile}
        send = tls_sender(certfile)
    with listening(relay, **ports) as listener:
        address = listener.addresses[transport]
        text = line()
        send(address, text)
        relay.serve(lambda: relay.taken == 1)
        send(address, text)  # the same event again, within the window
        relay.serve(lambda: relay.taken == 2)
    assert listener.counters.total("accepted") == 2
    with system_context("test: counters"):
        source.refresh_from_db()
    assert source.accepted == 2
    tally = run_worker(rules).tally
    assert (tally.events, tally.detections, tally.raised, tally.malformed) == (2, 2, 1, 0)
    assert_one_alert_and_one_ticket(world, security_area, count=2)


def test_a_sender_no_source_allows_is_refused_and_nothing_is_stored(world, rules):
    syslog_source(world, ["192.0.2.0/24"])
    sink = SyslogSink()
    event = from_syslog_line(line())
    sink("198.51.100.7", [event])
    assert sink.unknown_senders == {"198.51.100.7": 1}
    assert run_worker(rules).tally.events == 0
    assert alerts_of(world["tenant"], RULE_ID) == []


def test_a_source_over_its_quota_makes_the_listener_push_back(world):
    syslog_source(world, ["127.0.0.0/8"], max_events_per_minute=1)
    sink = SyslogSink()
    sink("127.0.0.1", [from_syslog_line(line())])
    with pytest.raises(SinkBusy):
        sink("127.0.0.1", [from_syslog_line(line())])


def from_syslog_line(text: str) -> dict[str, Any]:
    return normalise_event({"syslog": text}, sender="127.0.0.1")


# --- The worker --------------------------------------------------------------------------


def test_a_malformed_event_is_counted_and_never_holds_up_its_batch(world, rules):
    streams.append(world["tenant"], None, [{"no": "known shape"}, "not even an object"])
    streams.append(world["tenant"], None, [{"syslog": line()}])
    tally = run_worker(rules).tally
    assert (tally.batches, tally.malformed, tally.raised) == (2, 2, 1)
    assert len(alerts_of(world["tenant"], RULE_ID)) == 1


def test_a_batch_whose_recording_fails_is_delivered_again_and_alerts_once(world, rules):
    streams.append(world["tenant"], None, [{"syslog": line()}])
    with mock.patch.object(pipeline, "record_detections", side_effect=RuntimeError("db down")):
        failed = run_worker(rules)
    assert (failed.failed_batches, failed.tally.batches) == (1, 0)
    assert alerts_of(world["tenant"], RULE_ID) == []
    time.sleep(1.2)  # the ack wait: the batch goes to the next worker
    assert run_worker(rules).tally.raised == 1
    assert alerts_of(world["tenant"], RULE_ID)[0].event_count == 1


def test_a_worker_dying_after_recording_raises_no_alert_twice(world, rules, security_area):
    streams.append(world["tenant"], None, [{"syslog": line()}])
    _, engine = load_engine(rules)
    dying = DetectionWorker(engine, name="dying")
    with (
        mock.patch.object(dying.consumer, "ack", side_effect=SystemExit("killed")),
        pytest.raises(SystemExit),
    ):
        dying.process(dying.consumer.fetch(max_batches=1, timeout=0)[0])
    dying.close()
    time.sleep(1.2)
    again = run_worker(rules).tally
    # The redelivered batch was recorded before: nothing is counted twice (decision 0046).
    assert (again.batches, again.raised, again.updated, again.replayed) == (1, 0, 0, 1)
    assert_one_alert_and_one_ticket(world, security_area, count=1)


CORRELATION = f"""{RULE}name: ssh_root
---
title: E2E two root password failures on one host
id: 3f0b1c7e-8d2a-4b6e-a1f9-2c7d5e0b4a63
level: critical
correlation:
    type: event_count
    rules: [ssh_root]
    group-by: [Computer]
    timespan: 10m
    condition:
        gte: 2
"""


def test_one_tenants_events_never_count_towards_anothers_correlation(tmp_path):
    (tmp_path / "pair.yml").write_text(CORRELATION, encoding="utf-8")
    _, engine = load_engine(tmp_path)
    worker = DetectionWorker(engine, consumer=mock.Mock())

    def batch(tenant_id: int) -> streams.Batch:
        return streams.Batch("b", tenant_id, None, time.time(), [{"syslog": line()}])

    # The base rule alerts only through the correlation (Sigma's generate: false).
    assert worker.detect(batch(1)) == [] and worker.detect(batch(2)) == []  # one each
    [fired] = worker.detect(batch(1))
    assert fired.rule_title == "E2E two root password failures on one host"
    assert fired.key_fields == {"Computer": HOST}


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ({"syslog": line()}, "Failed SSH password for root"),
        (
            {"syslog": line("alice : PWD=/home/alice ; USER=root ; COMMAND=/bin/bash", app="sudo")},
            "Sudo opened an interactive shell",
        ),
        (
            {
                "Event": {
                    "System": {"EventID": 4625, "Channel": "Security", "Computer": "dc1"},
                    "EventData": {"LogonType": 10, "TargetUserName": "admin"},
                }
            },
            "Failed Remote Desktop logon",
        ),
        (
            {
                "Event": {
                    "System": {
                        "EventID": 1,
                        "Channel": "Microsoft-Windows-Sysmon/Operational",
                        "Computer": "dc1",
                    },
                    "EventData": {
                        "Image": "C:\\Windows\\System32\\whoami.exe",
                        "User": "NT AUTHORITY\\NETWORK SERVICE",
                    },
                }
            },
            "Whoami run by a service account",
        ),
    ],
)
def test_the_starter_pack_is_the_default_and_each_rule_fires(settings, raw, title):
    settings.DETECTION_RULES = ""
    ruleset, engine = load_engine()
    assert ruleset.pack.name == STARTER.name and not ruleset.refused
    event = normalise_event(raw)
    assert [m.title for m in engine.match(event)] == [title]
    harmless = normalise_event({"syslog": line("Accepted publickey for root")})
    assert engine.match(harmless) == []


# --- The commands ------------------------------------------------------------------------


def test_detection_worker_once_processes_what_waits(world, rules, capsys):
    streams.append(world["tenant"], None, [{"syslog": line()}, {"syslog": line()}])
    assert tandem(["detection-worker", "--once", "--rules", str(rules)]) == 0
    tally = orjson.loads(capsys.readouterr().out)
    # The test pack's rule and the starter pack's (installed beside it, decision 0044).
    assert (tally["batches"], tally["events"], tally["raised"]) == (1, 2, 2)
    assert alerts_of(world["tenant"], RULE_ID)[0].event_count == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["detection-worker", "--once", "--rules", "/no/such/rules"], "no detection rules"),
        (["syslog-listen", "--udp-port", "0", "--tcp-port", "0", "--tls-port", "0"], "no port"),
        (["syslog-listen", "--tls-cert", "cert.pem"], "certificate and its key"),
    ],
)
def test_the_commands_refuse_what_cannot_work(world, capsys, argv, message):
    assert tandem(argv) == 1
    assert message in capsys.readouterr().err
