"""The syslog listener with real clients over loopback: UDP, TCP (both framings), TLS,
garbage, backpressure from a busy sink, and a graceful stop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import ipaddress
import random
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tandem.logs.normalise import from_syslog
from tandem.logs.syslog.listener import ListenerConfig, SinkBusy, SyslogListener

LOOPBACK = "127.0.0.1"


class Collector:
    """A sink that keeps what it is given, or says it is busy while `busy` is set."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.batches: list[tuple[str, list[dict[str, Any]]]] = []
        self.busy = threading.Event()
        self.busy_calls = 0
        self.count = 0

    def __call__(self, sender: str, events: list[dict[str, Any]]) -> None:
        if self.busy.is_set():
            self.busy_calls += 1
            raise SinkBusy
        with self.lock:
            self.batches.append((sender, list(events)))
            self.count += len(events)

    @property
    def messages(self) -> list[str]:
        with self.lock:
            return [e["message"] for _, batch in self.batches for e in batch]


def make_listener(sink: Collector, cfg: ListenerConfig) -> SyslogListener:
    return SyslogListener(sink, cfg, to_event=from_syslog)


def config(**overrides: Any) -> ListenerConfig:
    base: dict[str, Any] = {
        "host": LOOPBACK,
        "udp_port": None,
        "tcp_port": None,
        "batch_interval": 0.05,
    }
    return ListenerConfig(**(base | overrides))


def run(test: Callable[[], Awaitable[None]]) -> None:
    """Run one scenario on a fresh event loop in its own thread, as the listener's own
    process would: whatever loop state the test runner's main thread holds (a full suite
    once left one marked running there) cannot touch it. Errors come back here."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, asyncio.wait_for(test(), 60)).result()


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def octet(text: str) -> bytes:
    data = text.encode()
    return str(len(data)).encode() + b" " + data


def tcp_client(address: tuple[str, int]) -> socket.socket:
    client = socket.create_connection(address)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def test_udp_datagrams_parse_batch_and_count():
    async def scenario() -> None:
        sink = Collector()
        listener = make_listener(sink, config(udp_port=0, max_message=1024))
        await listener.start()
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        target = listener.addresses["udp"]
        client.sendto(
            b"<34>1 2031-06-15T10:00:00Z host1 su - ID47 - \xef\xbb\xbfhello 5424", target
        )
        client.sendto(b"<38>Jun 15 10:00:01 web01 sshd[7]: Failed password for x", target)
        client.sendto(b"\x00\x01\x02\x03\x04", target)
        client.sendto(b"<13>" + b"x" * 2000, target)
        client.sendto(b"<13>caf\xe9 latin-1 text", target)
        await eventually(lambda: len(sink.messages) == 3)
        await listener.stop()
        client.close()
        assert sink.messages == ["hello 5424", "Failed password for x", "caf\ufffd latin-1 text"]
        counts = listener.counters.snapshot()[LOOPBACK]
        assert counts["accepted"] == 3
        assert counts["malformed"] == 1 and counts["malformed.binary"] == 1
        assert counts["oversized"] == 1
        assert counts["invalid_utf8"] == 1
        sender, batch = sink.batches[0]
        assert sender == LOOPBACK
        assert batch[0]["_host"] == "host1"
        assert batch[0]["log"]["source"]["address"].startswith("127.0.0.1:")

    run(scenario)


def test_tcp_both_framings_split_across_packets_and_several_in_one():
    async def scenario() -> None:
        sink = Collector()
        listener = make_listener(sink, config(tcp_port=0))
        await listener.start()
        client = await asyncio.to_thread(tcp_client, listener.addresses["tcp"])
        split = octet("<13>1 2031-06-15T10:00:00Z h app - - - one, sent in three pieces")
        for piece in (split[:2], split[2:20], split[20:]):
            client.sendall(piece)
            await asyncio.sleep(0.05)
        client.sendall(
            b"<13>Jun 15 10:00:01 h app: two\n"
            + octet("<13>1 - h app - - - three\nkeeps its newline")
            + b"<13>Jun 15 10:00:02 h app: four\n"
        )
        client.sendall(b"<13>Jun 15 10:00:03 h app: five, no newline before close")
        client.close()
        await eventually(lambda: len(sink.messages) == 5)
        await listener.stop()
        assert sink.messages == [
            "one, sent in three pieces",
            "two",
            "three\nkeeps its newline",
            "four",
            "five, no newline before close",
        ]

    run(scenario)


def test_batches_hold_at_most_batch_size_events():
    async def scenario() -> None:
        sink = Collector()
        listener = make_listener(sink, config(tcp_port=0, batch_size=10))
        await listener.start()
        client = await asyncio.to_thread(tcp_client, listener.addresses["tcp"])
        client.sendall(b"".join(b"<13>app: m%d\n" % i for i in range(25)))
        await eventually(lambda: len(sink.messages) == 25)
        client.close()
        await listener.stop()
        assert all(len(batch) <= 10 for _, batch in sink.batches)
        assert sink.messages == [f"m{i}" for i in range(25)]

    run(scenario)


def self_signed(tmp_path: Path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    # OpenSSL checks validity against the machine's real clock, not the suite's shifted one
    # (``--clock-shift``, decision 0019): the certificate is dated by the real clock.
    hatch = time_machine.escape_hatch
    now = (hatch.datetime.datetime if hatch.is_travelling() else dt.datetime).now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(certfile), str(keyfile)


def test_tls_with_a_self_signed_certificate(tmp_path):
    certfile, keyfile = self_signed(tmp_path)

    async def scenario() -> None:
        sink = Collector()
        listener = make_listener(
            sink, config(tls_port=0, tls_certfile=certfile, tls_keyfile=keyfile)
        )
        await listener.start()
        context = ssl.create_default_context(cafile=certfile)
        _, writer = await asyncio.open_connection(
            *listener.addresses["tls"], ssl=context, server_hostname="localhost"
        )
        writer.write(octet("<34>1 2031-06-15T10:00:00Z host1 su - - - over TLS"))
        writer.write(b"<13>Jun 15 10:00:01 h app: also over TLS\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        # A client that does not speak TLS does not hurt the listener.
        plain = await asyncio.to_thread(tcp_client, listener.addresses["tls"])
        plain.sendall(b"<13>not TLS at all\n")
        plain.close()
        await eventually(lambda: len(sink.messages) == 2)
        await listener.stop()
        assert sink.messages == ["over TLS", "also over TLS"]

    run(scenario)


def test_a_garbage_flood_does_not_kill_the_listener():
    async def scenario() -> None:
        sink = Collector()
        listener = make_listener(sink, config(tcp_port=0, udp_port=0, max_message=4096))
        await listener.start()
        rng = random.Random(3)
        flood = bytes(rng.getrandbits(8) for _ in range(512 * 1024))
        client = await asyncio.to_thread(tcp_client, listener.addresses["tcp"])
        await asyncio.to_thread(client.sendall, flood + b"\n" + b"9" * 9 + b" " + b"z" * 100)
        client.close()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(200):
            udp.sendto(flood[i * 1000 : i * 1000 + rng.randint(0, 1400)], listener.addresses["udp"])
        udp.close()
        await asyncio.sleep(0.3)
        # Still serving, on both transports.
        good = await asyncio.to_thread(tcp_client, listener.addresses["tcp"])
        good.sendall(b"<13>Jun 15 10:00:00 h app: still alive\n")
        good.close()
        await eventually(lambda: "still alive" in sink.messages)
        await listener.stop()
        counts = listener.counters.snapshot()[LOOPBACK]
        assert counts["malformed"] > 0 and counts["invalid_utf8"] > 0
        assert counts.get("oversized", 0) + counts.get("malformed.truncated", 0) > 0

    run(scenario)


def test_busy_sink_pushes_back_on_tcp_and_loses_nothing():
    total = 10_000
    padding = b"." * 400  # long lines: megabytes on the wire, more than the socket buffers
    lines = [b"<13>Jun 15 10:00:00 h app: message %06d %s\n" % (i, padding) for i in range(total)]
    payload = b"".join(lines)

    async def scenario() -> None:
        sink = Collector()
        sink.busy.set()
        listener = make_listener(
            sink, config(tcp_port=0, batch_size=200, busy_retry=0.02, busy_retry_max=0.1)
        )
        await listener.start()
        sent = [0]
        finished = threading.Event()

        def client() -> None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)
            sock.connect(listener.addresses["tcp"])
            view = memoryview(payload)
            while sent[0] < len(payload):
                sent[0] += sock.send(view[sent[0] : sent[0] + 8192])
            sock.close()
            finished.set()

        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        await asyncio.sleep(1.0)
        stalled_at = sent[0]
        await asyncio.sleep(0.5)
        # The sink is busy: the listener stopped reading and the client's sends block.
        assert not finished.is_set()
        assert sent[0] == stalled_at < len(payload)
        assert sink.messages == [] and sink.busy_calls > 1
        sink.busy.clear()
        await eventually(finished.is_set, timeout=30)
        await eventually(lambda: sink.count == total, timeout=30)
        await listener.stop()
        # Every message arrived exactly once, in order.
        assert sink.messages == [line[27:-1].decode() for line in lines]
        counts = listener.counters.snapshot()[LOOPBACK]
        assert counts["accepted"] == total and "dropped_busy" not in counts

    run(scenario)


def test_busy_sink_on_udp_counts_the_drop():
    async def scenario() -> None:
        sink = Collector()
        sink.busy.set()
        listener = make_listener(sink, config(udp_port=0))
        await listener.start()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(5):
            udp.sendto(b"<13>app: m%d" % i, listener.addresses["udp"])
        udp.close()
        await eventually(lambda: listener.counters.total("dropped_busy") == 5)
        await listener.stop()
        assert sink.messages == []

    run(scenario)


def test_graceful_stop_delivers_what_was_received():
    async def scenario() -> None:
        sink = Collector()
        listener = make_listener(sink, config(tcp_port=0, udp_port=0, batch_interval=30))
        await listener.start()
        client = await asyncio.to_thread(tcp_client, listener.addresses["tcp"])
        client.sendall(b"<13>app: tcp one\n<13>app: tcp two\n<13>app: tcp three, unterminated")
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.sendto(b"<13>app: udp one", listener.addresses["udp"])
        udp.sendto(b"<13>app: udp two", listener.addresses["udp"])
        udp.close()
        await asyncio.sleep(0.3)
        assert sink.messages == []  # the batch interval has not passed
        await listener.stop()
        client.close()
        assert sorted(sink.messages) == sorted(
            ["tcp one", "tcp two", "tcp three, unterminated", "udp one", "udp two"]
        )

    run(scenario)
