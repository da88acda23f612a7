"""``tandem bench ingest --parts syslog,detection`` (decision 0046): the rest of issue 12's
ingestion figures, with real processes on loopback.

- **syslog**: a ``tandem syslog-listen`` process takes pre-built RFC 5424 lines over UDP,
  TCP with octet counting and TLS (a self-signed certificate made with ``openssl`` for the
  run) from a few sender connections; the figure is events made durable per second (the
  source's ``accepted`` counter, which the sink raises once a batch is in the stream, from
  the first send to the last event counted), per transport and back-end. UDP senders are
  paced in bursts; whatever the listener could not take is reported as lost (UDP has no
  backpressure).
- **detection**: the stream is filled with ``--batches`` batches of the bench's realistic
  events (about one in eight matches the starter pack's "root password refused" rule), then
  1 and then 2 ``tandem detection-worker`` processes consume the ``detection`` group; the
  figure is events per second from the stream to recorded alerts, timed from the first
  acknowledged batch (so the workers' start-up is not counted) to the group's drain.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tandem.bench.desk import Figure
from tandem.bench.ingest import bench_tenant, event, new_stamp, stream_settings
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.logs import streams
from tandem.logs.models import IngestSource
from tandem.logs.services import create_ingest_source, set_ingest_source_enabled
from tandem.logs.streams.jetstream import JetStreamStream
from tandem.tenancy.models import Tenant

#: Sender connections per transport (UDP: sockets).
SENDERS = 4
#: A run gives up waiting for events after this long without progress (seconds).
STALL = 10.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and command
            [sys.executable, "-m", "tandem.cli", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"the listener did not start: {log.read_text()[-2000:]}")


def syslog_lines(count: int) -> list[bytes]:
    """RFC 5424 lines of sshd and sudo (the bench's hosts and users)."""
    out = []
    for n in range(count):
        host = f"web{n % 20:02d}"
        if n % 4:
            text = f"Failed password for user{n % 50} from 203.0.113.{n % 250} port {n} ssh2"
            app = "sshd"
        else:
            text = f"admin : TTY=pts/0 ; PWD=/home/admin ; USER=root ; COMMAND=/usr/bin/id {n}"
            app = "sudo"
        out.append(
            f"<38>1 2026-01-01T00:00:00.{n % 10**6:06d}Z {host} {app} {n} - - {text}".encode()
        )
    return out


def _accepted(source_id: int) -> int:
    with system_context("bench: source counters"):
        return int(IngestSource.objects.values_list("accepted", flat=True).get(pk=source_id))


def _until_counted(source_id: int, before: int, expected: int) -> tuple[int, float]:
    """Wait until the source counted ``expected`` more events (or nothing moved for
    :data:`STALL` s); the count and the time it was reached."""
    last, moved = before, time.perf_counter()
    while True:
        now = _accepted(source_id)
        if now != last:
            last, moved = now, time.perf_counter()
        if now - before >= expected or time.perf_counter() - moved > STALL:
            return now - before, moved
        time.sleep(0.05)


@contextmanager
def _certificate() -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="tandem-bench-tls-") as folder:
        cert, key = f"{folder}/cert.pem", f"{folder}/key.pem"
        openssl = shutil.which("openssl")
        if openssl is None:
            raise RuntimeError("the TLS figure needs the openssl command (a certificate)")
        subprocess.run(  # noqa: S603 - a fixed command line
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                key,
                "-out",
                cert,
            ],
            check=True,
            capture_output=True,
        )
        yield cert, key


def _send_stream(port: int, frames: list[bytes], tls: bool) -> None:
    """Send octet-counted frames over several connections (TLS when asked)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    shares = [frames[n::SENDERS] for n in range(SENDERS)]
    sockets = []
    for _ in shares:
        raw = socket.create_connection(("127.0.0.1", port))
        sockets.append(context.wrap_socket(raw) if tls else raw)
    # One connection after the other in rounds, so every connection keeps sending.
    chunk = 200
    for start in range(0, max(map(len, shares)), chunk):
        for sock, share in zip(sockets, shares, strict=True):
            data = b"".join(b"%d %s" % (len(f), f) for f in share[start : start + chunk])
            if data:
                sock.sendall(data)
    for sock in sockets:
        # Half-close and read to the end before closing: closing a socket with unread data
        # (TLS 1.3 session tickets) resets the connection, and the listener would lose
        # what its kernel buffer still held.
        sock.settimeout(60)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        sock.close()


def _send_udp(port: int, frames: list[bytes], burst: int = 100, pause: float = 0.01) -> None:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(SENDERS)]
    for n, frame in enumerate(frames):
        sockets[n % SENDERS].sendto(frame, ("127.0.0.1", port))
        if n % burst == burst - 1:
            time.sleep(pause)  # bursts: what a busy relay sends, not a flood
    for sock in sockets:
        sock.close()


def run_syslog(kind: str, tenant: Tenant, events: int, folder: Path) -> list[Figure]:
    """Events per second through a real syslog listener into the ``kind`` stream."""
    actor = system_principal("bench syslog set-up")
    with system_context("bench syslog set-up"):
        source, _ = create_ingest_source(
            actor=actor,
            tenant=tenant,
            name=f"Bench syslog {kind} {time.time_ns()}",
            kind="syslog",
            # The most specific network wins (decision 0041): this run's source takes the
            # listener's events, and is disabled at the end (a later run's then wins).
            allowed_networks=["127.0.0.1/32"],
            max_batch_events=100_000,
        )
    lines = syslog_lines(events)
    figures = []
    log = folder / f"syslog-{kind}.log"
    with _certificate() as (cert, key):
        udp, tcp, tls = _free_port(), _free_port(), _free_port()
        listener = _spawn(
            [
                "syslog-listen",
                "--host",
                "127.0.0.1",
                "--udp-port",
                str(udp),
                "--tcp-port",
                str(tcp),
                "--tls-port",
                str(tls),
                "--tls-cert",
                cert,
                "--tls-key",
                key,
            ],
            log,
        )
        try:
            _wait_port(tcp, listener, log)
            _wait_port(tls, listener, log)
            for transport in ("udp", "tcp", "tls"):
                before = _accepted(source.pk)
                cpu_before = _cpu(listener.pid)
                started = time.perf_counter()
                if transport == "udp":
                    _send_udp(udp, lines)
                else:
                    _send_stream(tcp if transport == "tcp" else tls, lines, transport == "tls")
                counted, at = _until_counted(source.pk, before, len(lines))
                seconds = at - started
                detail: dict[str, Any] = {
                    "sent": len(lines),
                    "durable": counted,
                    "seconds": round(seconds, 2),
                    "listener_cpu_us_per_event": round(
                        (_cpu(listener.pid) - cpu_before) * 1e6 / max(1, counted), 1
                    ),
                }
                if transport == "udp":
                    detail["lost"] = len(lines) - counted
                if counted < len(lines) and transport != "udp":
                    detail["listener_log"] = log.read_text(errors="replace")[-600:]
                figures.append(
                    Figure(f"{kind}: syslog {transport}", counted / seconds, "per s", detail)
                )
        finally:
            _stop(listener)
            with system_context("bench syslog tidy-up"):
                set_ingest_source_enabled(actor=actor, source=source, enabled=False)
    return figures


def _cpu(pid: int) -> float:
    """CPU seconds of a process (utime + stime) from /proc; 0 where there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- Detection workers --------------------------------------------------------------------


def _detection_left(stream: Any) -> float:
    """What the ``detection`` group has not acknowledged: batches (NATS) or bytes (embedded)."""
    lag = stream.group_lag("detection")
    if isinstance(stream, JetStreamStream):
        return float(lag["pending_batches"] + lag["in_flight"])
    return float(lag["pending_bytes"])


def run_detection(
    kind: str, tenant: Tenant, batches: int, batch: int, workers: int, folder: Path
) -> Figure:
    """Fill the stream, then time ``workers`` detection workers draining it."""
    stream = streams.get_stream()
    stream.ensure_group("detection")
    events = detection_events(batch)
    total = batches * batch
    for _ in range(batches):
        stream.append(tenant.pk, None, events)
    full = _detection_left(stream)
    log = folder / f"detection-{kind}-{workers}.log"
    processes = [
        _spawn(["detection-worker", "--name", f"bench-{n}", "--batches", "20"], log)
        for n in range(workers)
    ]
    try:
        while (left := _detection_left(stream)) >= full:
            if any(p.poll() is not None for p in processes):
                raise RuntimeError(f"a detection worker stopped: {log.read_text()[-2000:]}")
            time.sleep(0.02)
        started, at_start = time.perf_counter(), left
        cpu_before = sum(_cpu(p.pid) for p in processes)
        last, moved = left, started
        while left > 0 and time.perf_counter() - moved < STALL * 3:
            time.sleep(0.05)
            left = _detection_left(stream)
            if left != last:
                last, moved = left, time.perf_counter()
        ended = time.perf_counter()
        cpu = sum(_cpu(p.pid) for p in processes) - cpu_before
    finally:
        for process in processes:
            _stop(process)
    done = total * (at_start - left) / full
    detail = {
        "workers": workers,
        "events_timed": round(done),
        "seconds": round(ended - started, 2),
        "worker_cpu_us_per_event": round(cpu * 1e6 / max(1, done), 1),
        "left": left,
    }
    return Figure(
        f"{kind}: detection, {workers} worker(s)", done / (ended - started), "per s", detail
    )


def detection_events(batch: int) -> list[dict[str, Any]]:
    """The bench's Windows events as they are, its Linux ones as syslog lines (what a relay
    forwards; every eighth sshd line a root password refused, the starter pack's rule)."""
    rng = random.Random(1)
    out: list[dict[str, Any]] = []
    for n in range(batch):
        raw = event(rng, n)
        if "Event" not in raw:
            user = "root" if n % 8 == 0 else f"user{n % 50}"
            raw = {
                "syslog": f"<38>1 2026-01-01T00:00:00Z web{n % 20:02d} sshd {n} - - "
                f"Failed password for {user} from 203.0.113.{n % 250} port {n} ssh2"
            }
        out.append(raw)
    return out


def run(
    *, stream: str = "both", batches: int = 200, batch: int = 500, parts: tuple[str, ...]
) -> dict[str, Any]:
    """The syslog and detection parts on each chosen back-end, each on a stream of its own;
    the figures as plain data (merged into ``tandem bench ingest``'s result)."""
    kinds = ["embedded", "nats"] if stream == "both" else [stream]
    stamp = new_stamp()
    tenant = bench_tenant(stamp)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="tandem-bench-logs-") as logs:
        for kind in kinds:
            if "syslog" in parts:
                with stream_settings(kind, stamp + "s"):
                    figures += run_syslog(kind, tenant, batches * batch, Path(logs))
            if "detection" in parts:
                for count in (1, 2):
                    with stream_settings(kind, f"{stamp}d{count}"):
                        figures.append(
                            run_detection(kind, tenant, batches, batch, count, Path(logs))
                        )
    return {"tenant": tenant.slug, "figures": figures}
