"""``tandem bench ingest``: durable ingestion throughput of ``POST /ingest/v1/events``.

Makes a scratch tenant (``bench-ingest-<time>``) with an HTTP ingest source, builds gzip
NDJSON bodies of ``--batch`` realistic events (sshd and sudo lines as ECS-style JSON,
Windows 4625/4688 events as ``Event.System``/``Event.EventData``) before the clock starts,
then sends them, per back-end (``--stream embedded``, ``nats`` or ``both``):

- by default into the production WSGI application (Django's handler with the whole
  middleware stack; no socket) in ``--workers`` forked processes;
- with ``--gunicorn``, over HTTP to a gunicorn started on loopback for the run;
- with ``--server URL``, over HTTP to a server already running (its stream is its own).

Every answer is checked (200 and ``accepted`` = the batch), and afterwards the stream is
read back whole by a consumer group of the bench's own: the figure counts only events that
were durable. The embedded stream lives in a temporary folder, the NATS stream has a name of
its own (``TANDEM_BENCH_<time>``); both are deleted afterwards. Figures: events per second
(wall time), p50/p95 per request, and CPU time per event of the sending processes (client
and, in-process, the whole server side but the NATS server's, which is read from /proc when
it runs on this machine).
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.db import connections

from tandem.bench.agents import gunicorn_server, http_transport, wsgi_transport
from tandem.bench.desk import Figure, _percentile
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.logs import streams
from tandem.logs.services import create_ingest_source
from tandem.logs.streams.jetstream import JetStreamStream
from tandem.tenancy.models import Tenant
from tandem.tenancy.services import create_tenant

PATH = "/ingest/v1/events"
USERS = ("alice", "bob", "carol", "dave", "admin", "root", "svc-backup", "oracle")
HOSTS = [f"web{n:02d}" for n in range(20)] + [f"WS-{n:04d}" for n in range(40)]
BINARIES = (
    r"C:\Windows\System32\cmd.exe",
    r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
    r"C:\Windows\System32\svchost.exe",
    r"C:\Program Files\Mozilla Firefox\firefox.exe",
)


def event(rng: random.Random, n: int) -> dict[str, Any]:
    """One realistic raw event (what a shipper or the agent sends, not yet normalised)."""
    host = rng.choice(HOSTS)
    when = f"2026-01-01T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}.{n % 1000:03d}Z"
    kind = rng.random()
    if host.startswith("WS-") and kind < 0.5:
        return {
            "Event": {
                "System": {
                    "Provider": {"Name": "Microsoft-Windows-Security-Auditing"},
                    "EventID": 4625,
                    "Channel": "Security",
                    "Computer": f"{host}.corp.example",
                    "TimeCreated": {"SystemTime": when},
                },
                "EventData": {
                    "TargetUserName": rng.choice(USERS),
                    "TargetDomainName": "CORP",
                    "LogonType": rng.choice((3, 10)),
                    "IpAddress": "10." + ".".join(str(rng.randrange(256)) for _ in "abc"),
                    "FailureReason": "%%2313",
                    "Status": "0xc000006d",
                },
            }
        }
    if host.startswith("WS-"):
        image = rng.choice(BINARIES)
        return {
            "Event": {
                "System": {
                    "Provider": {"Name": "Microsoft-Windows-Sysmon"},
                    "EventID": 1,
                    "Channel": "Microsoft-Windows-Sysmon/Operational",
                    "Computer": f"{host}.corp.example",
                    "TimeCreated": {"SystemTime": when},
                },
                "EventData": {
                    "Image": image,
                    "CommandLine": f'"{image}" /c whoami /all {rng.randrange(10**6)}',
                    "ParentImage": r"C:\Windows\explorer.exe",
                    "User": f"CORP\\{rng.choice(USERS)}",
                    "Hashes": f"SHA256={uuid.UUID(int=rng.getrandbits(128)).hex * 2}",
                },
            }
        }
    user = rng.choice(USERS)
    source = f"203.0.113.{rng.randrange(256)}"
    pid, port = rng.randrange(1000, 60000), rng.randrange(1024, 65535)
    return {
        "@timestamp": when,
        "message": f"Failed password for {user} from {source} port {port} ssh2",
        "host": {"hostname": host},
        "log": {"syslog": {"facility": {"code": 10}, "severity": {"code": 6}, "appname": "sshd"}},
        "process": {"name": "sshd", "pid": pid},
        "user": {"name": user},
        "source": {"ip": source},
    }


def bodies(batches: int, batch: int, seed: int) -> tuple[list[bytes], int]:
    """``batches`` gzip NDJSON bodies of ``batch`` events, and their raw size in bytes."""
    rng = random.Random(seed)
    out, raw_bytes = [], 0
    for b in range(batches):
        text = b"\n".join(orjson.dumps(event(rng, b * batch + i)) for i in range(batch)) + b"\n"
        raw_bytes += len(text)
        out.append(gzip.compress(text, compresslevel=6, mtime=0))
    return out, raw_bytes


# --- Transports: the agents bench's (gzip bodies, a bearer credential, JSON answers) --------


# --- Running ---------------------------------------------------------------------------------


def _worker(share: list[bytes], token: str, batch: int, server: str | None) -> dict[str, Any]:
    send = http_transport(server) if server else wsgi_transport()  # bench.agents' own
    latencies, failures = [], []
    send(PATH, share[0], "tdi_warm_up")  # refused (401): loads the handler, outside the clock
    streams.get_stream()  # opened once per process, outside the clock too
    cpu_before = time.process_time()
    started = time.perf_counter()
    for body in share:
        t0 = time.perf_counter()
        status, answer = send(PATH, body, token)
        latencies.append((time.perf_counter() - t0) * 1000)
        accepted = answer.get("accepted") if isinstance(answer, dict) else None
        if status != 200 or accepted != batch:
            failures.append(f"{status} {str(answer)[:200]}")
    return {
        "latencies": latencies,
        "started": started,
        "ended": time.perf_counter(),
        "cpu": time.process_time() - cpu_before,
        "failures": failures,
    }


def _run_worker(args: tuple[Any, ...], results: Any) -> None:
    connections.close_all()  # a forked child opens its own connection (and stream)
    try:
        results.put(_worker(*args))
    except BaseException as exc:  # report, never leave the parent waiting
        results.put(exc)
        raise


def _nats_server_cpu() -> float | None:
    """CPU seconds the local nats-server has used (utime + stime), if one runs here."""
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "nats-server":
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        return (int(fields[11]) + int(fields[12])) / ticks
    return None


@contextmanager
def stream_settings(kind: str, stamp: str) -> Iterator[dict[str, str]]:
    """Point this process (and children, and a gunicorn started meanwhile) at a scratch
    stream of ``kind``; delete it afterwards."""
    folder = tempfile.mkdtemp(prefix="tandem-bench-stream-")
    values: dict[str, Any] = {
        "LOG_STREAM": kind,
        "LOG_STREAM_DIR": Path(folder),
        "NATS_STREAM": f"TANDEM_BENCH_{stamp}",
        "NATS_SUBJECT_PREFIX": f"tandem.bench.{stamp}",
        "LOG_STREAM_GROUPS": ["bench"],
        "INGEST_TENANT_EVENTS_PER_MINUTE": 10**12,
    }
    env: dict[str, str] = {
        "TANDEM_LOG_STREAM": kind,
        "TANDEM_LOG_STREAM_DIR": folder,
        "TANDEM_NATS_STREAM": values["NATS_STREAM"],
        "TANDEM_NATS_SUBJECT_PREFIX": values["NATS_SUBJECT_PREFIX"],
        "TANDEM_LOG_STREAM_GROUPS": "bench",
        "TANDEM_INGEST_TENANT_EVENTS_PER_MINUTE": str(10**12),
    }
    saved = {name: getattr(settings, name) for name in values}
    saved_env = {name: os.environ.get(name) for name in env}
    for name, value in values.items():
        setattr(settings, name, value)
    os.environ.update(env)
    streams.reset_stream()
    try:
        streams.get_stream()  # made (with its group) before anything is sent
        streams.reset_stream()  # children open their own
        yield env
    finally:
        stream = streams.get_stream()
        if isinstance(stream, JetStreamStream):
            stream.delete_stream()
        streams.reset_stream()
        shutil.rmtree(folder, ignore_errors=True)
        for name, value in saved.items():
            setattr(settings, name, value)
        for name, old in saved_env.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def _read_back() -> int:
    """Events in the stream, read by the bench's own group (acknowledged as read)."""
    consumer = streams.consumer("bench", "bench-reader")
    count = 0
    while batches := consumer.fetch(max_batches=100, timeout=2.0):
        for batch in batches:
            count += len(batch.events)
            consumer.ack(batch)
    consumer.close()
    return count


def _send_all(
    kind: str,
    payloads: list[bytes],
    token: str,
    batch: int,
    workers: int,
    server: str | None,
    *,
    read_back: bool,
) -> dict[str, Any]:
    shares = [payloads[w::workers] for w in range(workers)]
    nats_before = _nats_server_cpu() if kind == "nats" else None
    if workers == 1:
        outcomes: list[Any] = [_worker(shares[0], token, batch, server)]
    else:
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        connections.close_all()
        children = [
            context.Process(target=_run_worker, args=((share, token, batch, server), results))
            for share in shares
        ]
        for child in children:
            child.start()
        outcomes = [results.get(timeout=3600) for _ in children]
        for child in children:
            child.join()
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    if failed:
        raise RuntimeError(f"a bench worker failed: {failed[0]!r}")
    nats_after = _nats_server_cpu() if kind == "nats" else None
    latencies = [ms for o in outcomes for ms in o["latencies"]]
    elapsed = max(o["ended"] for o in outcomes) - min(o["started"] for o in outcomes)
    events = len(latencies) * batch
    cpu = sum(o["cpu"] for o in outcomes)
    detail: dict[str, Any] = {
        "requests": len(latencies),
        "events": events,
        "seconds": round(elapsed, 2),
        "cpu_us_per_event_senders": round(cpu * 1e6 / max(1, events), 2),
    }
    if nats_before is not None and nats_after is not None:
        detail["cpu_us_per_event_nats_server"] = round(
            (nats_after - nats_before) * 1e6 / max(1, events), 2
        )
    figures = [
        Figure(f"{kind}: events", events / elapsed if elapsed else 0.0, "per s", detail),
        Figure(f"{kind}: request p50", _percentile(latencies, 50), "ms"),
        Figure(f"{kind}: request p95", _percentile(latencies, 95), "ms"),
    ]
    return {
        "figures": figures,
        "failures": [f for o in outcomes for f in o["failures"]],
        "read_back": _read_back() if read_back else None,
    }


def new_stamp() -> str:
    """A name part unique to one run (tenant slug, NATS stream name)."""
    return time.strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:4]


def bench_tenant(stamp: str) -> Tenant:
    """The run's scratch tenant (``bench-ingest-<stamp>``)."""
    actor = system_principal("bench ingest set-up")
    with system_context("bench ingest set-up"):
        return create_tenant(
            actor=actor, name=f"Bench ingest {stamp}", slug=f"bench-ingest-{stamp}"
        )


def run(
    *,
    stream: str = "both",
    batches: int = 200,
    batch: int = 500,
    workers: int = 2,
    seed: int = 1,
    gunicorn: int = 0,
    server: str | None = None,
) -> dict[str, Any]:
    """Send ``batches`` bodies of ``batch`` events to each chosen back-end; the figures as
    plain data. ``gunicorn``: that many gunicorn workers on loopback (0: in-process)."""
    if batches < 1 or batch < 1 or workers < 1:
        raise ValueError("--batches, --batch and --workers must be positive")
    kinds = ["embedded", "nats"] if stream == "both" else [stream]
    stamp = new_stamp()
    actor = system_principal("bench ingest set-up")
    tenant = bench_tenant(stamp)
    with system_context("bench ingest set-up"):
        _, token = create_ingest_source(
            actor=actor, tenant=tenant, name="Bench shipper", kind="http", max_batch_events=100_000
        )
    assert token is not None
    payloads, raw_bytes = bodies(batches, batch, seed)
    figures: list[Figure] = []
    failures: list[str] = []
    read_back: dict[str, int | None] = {}
    for kind in kinds:
        with stream_settings(kind, stamp):
            if gunicorn:
                with gunicorn_server(gunicorn, timeout=3600) as url:
                    outcome = _send_all(kind, payloads, token, batch, workers, url, read_back=True)
            else:
                outcome = _send_all(
                    kind, payloads, token, batch, workers, server, read_back=server is None
                )
            figures += outcome["figures"]
            failures += outcome["failures"]
            read_back[kind] = outcome["read_back"]
    driven = (
        f"gunicorn ({gunicorn} workers) on loopback over HTTP, {workers} client process(es)"
        if gunicorn
        else f"HTTP server {server}, {workers} client process(es)"
        if server
        else f"Django WSGI handler with the full middleware stack, in {workers} "
        "process(es), no socket"
    )
    return {
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "driven": driven,
        "tenant": tenant.slug,
        "batches": batches,
        "batch": batch,
        "workers": workers,
        "body_bytes_gzip_mean": round(sum(map(len, payloads)) / len(payloads)),
        "event_bytes_mean": round(raw_bytes / (batches * batch)),
        "figures": [asdict(f) for f in figures],
        "read_back": read_back,
        "expected_per_stream": batches * batch,
        "failures": failures[:10],
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def report(result: dict[str, Any], *, as_json: bool) -> str:
    if as_json:
        return json.dumps(result, indent=2)
    lines = [
        f"tandem bench ingest on {result['database']}: {result['batches']} batches of "
        f"{result['batch']} events (mean {result['event_bytes_mean']} B/event, "
        f"{result['body_bytes_gzip_mean']:,} B gzip body)",
        f"  driven: {result['driven']}; {result['cpus']} CPUs, "
        f"load {result['load_average_1m']} at the end",
    ]
    for fig in result["figures"]:
        extra = ", ".join(f"{k}={v}" for k, v in fig["detail"].items())
        lines.append(f"  {fig['name']:<28} {fig['value']:>12,.1f} {fig['unit']:<6} {extra}")
    for kind, count in result["read_back"].items():
        if count is None:
            continue
        lines.append(
            f"  read back from {kind}: {count:,} of {result['expected_per_stream']:,} events"
        )
    for failure in result["failures"]:
        lines.append(f"  FAILED: {failure}")
    return "\n".join(lines)
