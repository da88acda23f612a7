"""``tandem bench agents``: simulated agents checking in, on the configured database.

Creates a scratch tenant (``bench-agents-<time>``) and an enrolment token, then drives
``/agent/v1/`` exactly as agents do (gzip JSON bodies, bearer device credentials, the
documents of :mod:`tandem.bench.agent_templates`) in phases:

1. **enrol** every device (``POST /agent/v1/enrol``);
2. **first full inventory** of every device;
3. **unchanged** check-ins: ``--check-ins`` rounds of one "unchanged" report per device
   (what almost every check-in is);
4. **delta** check-ins: three packages upgraded on every device, sent as the agent's delta.

Each phase reports check-ins per second over all workers (wall time from the first request
to the last) and p50/p95 latency of one request, and the last figure is the size the
agents' and devices' tables grew by, per 10,000 devices. ``packages_per_device`` says how
large the inventories were: the default mixed fleet averages ~600 packages (Windows and
macOS devices have few); the issue's first-inventory target is for an inventory of about
1,500 packages, which ``--template ubuntu-desktop`` (~1,700) measures.

What is driven: by default the production WSGI application (``tandem.config.wsgi``: the
check-in fast path in front of Django's handler with the full middleware stack, decision
0028; ``TANDEM_AGENT_FAST_PATH=0`` leaves only Django's), in ``--workers`` forked processes
(each its own database connection), with no network or HTTP server between; with
``--server URL`` an HTTP server already running against the same database (one keep-alive
connection per worker); with ``--gunicorn`` a gunicorn the bench starts on loopback for the
run (``--gunicorn-workers`` processes) and stops afterwards.

Run it against a scratch database: it writes, and leaves its tenant and devices behind.
"""

from __future__ import annotations

import gzip
import http.client
import io
import json
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, connections

from tandem.agents.documents import state_hash
from tandem.agents.models import (
    AgentState,
    InstalledSoftware,
    PendingUpdate,
    SoftwareChange,
    SoftwareTitle,
)
from tandem.agents.services import create_enrolment_token
from tandem.assets.models import Device
from tandem.bench import agent_templates as templates
from tandem.bench.desk import Figure, _percentile
from tandem.config import wsgi
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.tenancy.services import create_tenant

#: (status, parsed JSON body) of one request.
Answer = tuple[int, Any]
Transport = Callable[[str, bytes, str | None], Answer]
#: One request: path, gzip body, device credential (None to enrol).
Request = tuple[str, bytes, str | None]

#: Tables a device's agent data lives in (sized before and after the run).
TABLES = (
    "assets_device",
    "agents_devicecredential",
    "agents_agentstate",
    "agents_agentreport",
    "agents_installedsoftware",
    "agents_softwaretitle",
    "agents_pendingupdate",
    "agents_softwarechange",
)


@dataclass
class Phase:
    """One phase's requests as a worker saw them."""

    name: str
    latencies_ms: list[float] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    #: CPU seconds the worker process spent (the client and, driven in-process, Django):
    #: unlike wall time, hardly moved by other load on the machine.
    cpu: float = 0.0
    #: CPU seconds the worker's own PostgreSQL backend spent (in-process only; None when
    #: it cannot be read: another database, an HTTP server, a connection that changed).
    db_cpu: float | None = None
    failures: list[str] = field(default_factory=list)


# --- Transports ------------------------------------------------------------------------------


def _encode(payload: Any) -> bytes:
    return gzip.compress(
        json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode(), mtime=0
    )


def wsgi_transport() -> Transport:
    """Requests into the production WSGI application (no network): the check-in fast
    path, unless switched off, then Django's handler with the whole middleware stack."""
    handler = wsgi.application
    host = next((h for h in settings.ALLOWED_HOSTS if h not in ("*", "")), "localhost")

    def send(path: str, body: bytes, credential: str | None) -> Answer:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": host.strip("[]"),
            "SERVER_PORT": "443",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": host,
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": "gzip",
            "HTTP_USER_AGENT": "tandem-bench-agent/1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "https",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if credential:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {credential}"
        status_line: list[str] = []

        def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            status_line.append(status)

        chunks = handler(environ, start_response)  # type: ignore[arg-type]
        try:
            content = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        return int(status_line[0].split()[0]), json.loads(content or b"null")

    send.in_process = True  # type: ignore[attr-defined]
    return send


def http_transport(server: str) -> Transport:
    """Requests over HTTP to ``server`` on one keep-alive connection."""
    parsed = urllib.parse.urlsplit(server)
    factory = (
        http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
    )
    conn = factory(parsed.netloc, timeout=60)

    def send(path: str, body: bytes, credential: str | None) -> Answer:
        headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "User-Agent": "tandem-bench-agent/1",
            "X-Forwarded-Proto": "https",
        }
        if credential:
            headers["Authorization"] = f"Bearer {credential}"
        conn.request("POST", parsed.path.rstrip("/") + path, body=body, headers=headers)
        response = conn.getresponse()
        content = response.read()
        try:
            return response.status, json.loads(content or b"null")
        except ValueError:
            return response.status, content[:200].decode(errors="replace")

    return send


# --- One worker: its share of the devices through every phase ---------------------------------


@dataclass
class _Device:
    index: int
    device_id: str = ""
    credential: str = ""
    sequence: int = 0
    document_hash: str = ""


def _backend() -> tuple[int, float] | None:
    """(pid, CPU seconds so far) of this process's PostgreSQL backend, read from
    ``/proc`` (the server runs on this machine), or None: the server's share of a
    check-in is the web process's CPU plus this."""
    if connection.vendor != "postgresql":
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = int(cursor.fetchone()[0])
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    # utime and stime, fields 14 and 15 of proc(5) (11 and 12 after the name).
    return pid, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(
    phase: Phase, send: Transport, requests: list[Request], *, in_process: bool = True
) -> list[Answer]:
    answers = []
    backend = _backend() if in_process else None
    phase.started = time.time()
    cpu = time.process_time()
    for path, body, credential in requests:
        start = time.perf_counter()
        answer = send(path, body, credential)
        phase.latencies_ms.append((time.perf_counter() - start) * 1000)
        answers.append(answer)
        if answer[0] >= 300 and len(phase.failures) < 5:
            phase.failures.append(f"{path}: {answer[0]} {str(answer[1])[:200]}")
    phase.ended = time.time()
    phase.cpu = time.process_time() - cpu
    after = _backend() if backend is not None else None
    if backend is not None and after is not None and after[0] == backend[0]:
        phase.db_cpu = after[1] - backend[1]
    return answers


def _report(device: _Device, **body: Any) -> dict[str, Any]:
    device.sequence += 1
    return {
        "id": str(uuid.uuid4()),
        "sequence": device.sequence,
        "kind": "inventory",
        "agent_time": None,
        **body,
    }


def _check_in(device: _Device, report: dict[str, Any]) -> Request:
    payload = {
        "device_id": device.device_id,
        "agent_version": "0.1.0",
        "agent_time": None,
        "server_offset_seconds": 0,
        "reports": [report],
    }
    return "/agent/v1/check-in", _encode(payload), device.credential


def _worker(
    indexes: list[int],
    token: str,
    seed: int,
    template: str | None,
    check_ins: int,
    transport: Callable[[], Transport],
    *,
    wait: Callable[[], Any],
) -> list[Phase]:
    send = transport()
    in_process = getattr(send, "in_process", False)
    if in_process:
        # One backend per worker for the whole run, so its CPU can be read before and
        # after each phase (production closes connections after CONN_MAX_AGE seconds).
        connection.settings_dict["CONN_MAX_AGE"] = None
        # A connection opened before (one worker: the set-up's) keeps the closing time it
        # was opened with; without this it is closed mid-phase and the phase's database
        # CPU cannot be read.
        connection.close_at = None
    devices = [_Device(i) for i in indexes]

    def doc(index: int) -> dict[str, Any]:
        return templates.document(index, seed, template=template)

    phases: list[Phase] = []
    # Untimed warm-up: a server's worker loads its URLs and apps on its first request.
    for _ in range(4):
        send("/agent/v1/check-in", _encode({}), None)
    # 1. Enrol.
    enrol = Phase("enrol")
    bodies: list[Request] = []
    for device in devices:
        facts = templates.device_facts(device.index, seed, template=template)
        facts["os"] = templates.os_facts(device.index, seed, template=template)
        bodies.append(
            ("/agent/v1/enrol", _encode({"token": token, "site": None, "device": facts}), None)
        )
    wait()
    enrolled = _timed(enrol, send, bodies, in_process=in_process)
    for device, (status, body) in zip(devices, enrolled, strict=True):
        if status == 201:
            device.device_id, device.credential = body["device_id"], body["credential"]
    phases.append(enrol)

    # 2. First full inventory.
    full = Phase("first full inventory")
    bodies = []
    for device in devices:
        document = doc(device.index)
        device.document_hash = state_hash(document)
        bodies.append(
            _check_in(device, _report(device, state_hash=device.document_hash, inventory=document))
        )
    wait()
    _timed(full, send, bodies, in_process=in_process)
    bodies = []
    phases.append(full)

    # 3. Unchanged check-ins, round after round (each device once a round).
    unchanged = Phase("unchanged check-in")
    for _ in range(check_ins):
        for device in devices:
            bodies.append(
                _check_in(device, _report(device, state_hash=device.document_hash, unchanged=True))
            )
    wait()
    _timed(unchanged, send, bodies, in_process=in_process)
    bodies = []
    phases.append(unchanged)

    # 4. Delta: three packages upgraded on each device.
    changed = Phase("delta check-in (3 packages upgraded)")
    for device in devices:
        before = doc(device.index)
        after = templates.upgraded(before, random.Random(f"{seed}:upgrade:{device.index}"))
        device.document_hash = state_hash(after)
        bodies.append(
            _check_in(
                device,
                _report(
                    device, state_hash=device.document_hash, delta=templates.delta(before, after)
                ),
            )
        )
    wait()
    _timed(changed, send, bodies, in_process=in_process)
    phases.append(changed)
    return phases


def _run_worker(args: tuple[Any, ...], barrier: Any, results: Any) -> None:
    connections.close_all()  # a forked child opens its own connection
    try:
        results.put(_worker(*args, wait=barrier.wait))
    except BaseException as exc:  # report, never leave the parent waiting
        results.put(exc)
        raise


# --- Sizes -----------------------------------------------------------------------------------


def table_sizes() -> dict[str, int]:
    """Bytes each of :data:`TABLES` takes with its indexes (PostgreSQL), or its pages
    (SQLite's ``dbstat``; the whole file when that is not compiled in)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sizes = {}
            for table in TABLES:
                cursor.execute("SELECT pg_total_relation_size(%s)", [table])
                sizes[table] = int(cursor.fetchone()[0])
            return sizes
        try:
            cursor.execute(
                "SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"
            )
            owner = {name: table for name, table in cursor.fetchall()}
            cursor.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
            sizes = dict.fromkeys(TABLES, 0)
            for name, size in cursor.fetchall():
                if owner.get(name) in sizes:
                    sizes[owner[name]] += int(size)
            return sizes
        except Exception:  # noqa: BLE001 - dbstat is optional in SQLite builds
            path = Path(str(settings.DATABASES["default"]["NAME"]))
            return {"database file": path.stat().st_size if path.exists() else 0}


# --- The run ---------------------------------------------------------------------------------


@contextmanager
def gunicorn_server(workers: int, timeout: float) -> Iterator[str]:
    """A gunicorn serving Tandem on a free loopback port for the block; stopped after it
    (and by itself after ``timeout`` seconds, so a stuck bench leaves nothing running)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "TANDEM_SSL_REDIRECT": "false"}
    command = [
        "timeout",
        str(int(timeout)),
        sys.executable,
        "-m",
        "gunicorn",
        "tandem.config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env, start_new_session=True)  # noqa: S603 - our own argv
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _set_up(stamp: str) -> tuple[Any, str]:
    actor = system_principal("bench agents set-up")
    with system_context("bench agents set-up"):
        tenant = create_tenant(
            actor=actor, name=f"Bench agents {stamp}", slug=f"bench-agents-{stamp}"
        )
        _, raw = create_enrolment_token(actor=actor, tenant=tenant, name="Bench agents")
    return tenant, raw


def run(
    *,
    devices: int = 200,
    check_ins: int = 5,
    workers: int = 2,
    seed: int = 1,
    template: str | None = None,
    server: str | None = None,
) -> dict[str, Any]:
    """Run the phases and return the figures (and what was driven) as plain data.

    ``template``: every device follows that template (``ubuntu-desktop`` measures the
    ~1,650-package inventory); None mixes them as :data:`agent_templates.MIX` says.
    ``server``: an HTTP server to drive instead of the WSGI handler in-process.
    """
    if devices < 1 or check_ins < 1 or workers < 1:
        raise ValueError("--devices, --check-ins and --workers must be positive")
    if template is not None and template not in templates.TEMPLATES:
        raise ValueError(f"unknown template {template!r}; one of {', '.join(templates.TEMPLATES)}")
    stamp = time.strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:4]
    tenant, token = _set_up(stamp)
    with system_context("bench agents: sizes"):
        before = table_sizes()
    workers = min(workers, devices)
    shares = [list(range(w, devices, workers)) for w in range(workers)]

    def transport() -> Transport:
        return http_transport(server) if server else wsgi_transport()

    jobs = [(share, token, seed, template, check_ins, transport) for share in shares]
    if workers == 1:
        outcomes: list[Any] = [_worker(*jobs[0], wait=lambda: None)]
    else:
        context = multiprocessing.get_context("fork")
        barrier, results = context.Barrier(workers), context.Queue()
        connections.close_all()
        children = [
            context.Process(target=_run_worker, args=(job, barrier, results)) for job in jobs
        ]
        for child in children:
            child.start()
        outcomes = [results.get(timeout=6 * 3600) for _ in children]
        for child in children:
            child.join()
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    if failures:
        raise RuntimeError(f"a bench worker failed: {failures[0]!r}")
    with system_context("bench agents: sizes"):
        after = table_sizes()
    figures: list[Figure] = []
    problems: list[str] = []
    for index, name in enumerate(p.name for p in outcomes[0]):
        phase_parts = [worker_phases[index] for worker_phases in outcomes]
        latencies = [ms for part in phase_parts for ms in part.latencies_ms]
        elapsed = max(p.ended for p in phase_parts) - min(p.started for p in phase_parts)
        problems += [f for part in phase_parts for f in part.failures]
        cpu = sum(p.cpu for p in phase_parts)
        detail: dict[str, Any] = {
            "requests": len(latencies),
            "seconds": round(elapsed, 2),
            "cpu_ms_per_request": round(cpu * 1000 / max(1, len(latencies)), 2),
        }
        if all(p.db_cpu is not None for p in phase_parts):
            db_cpu = sum(p.db_cpu or 0.0 for p in phase_parts)
            detail["db_cpu_ms_per_request"] = round(db_cpu * 1000 / max(1, len(latencies)), 2)
        figures += [
            Figure(name, len(latencies) / elapsed if elapsed else 0.0, "per s", detail),
            Figure(f"{name} p50", _percentile(latencies, 50), "ms"),
            Figure(f"{name} p95", _percentile(latencies, 95), "ms"),
        ]
    grown = {table: after.get(table, 0) - before.get(table, 0) for table in after}
    per_10k = sum(grown.values()) * 10_000 / devices
    figures.append(
        Figure(
            "database size per 10,000 devices",
            per_10k / 1024**2,
            "MiB",
            {t: round(v * 10_000 / devices / 1024**2, 1) for t, v in grown.items()},
        )
    )
    with system_context("bench agents: what landed"):
        landed = _landed(tenant.pk)
    return {
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "driven": (
            f"HTTP server {server}, {workers} client process(es), one keep-alive connection each"
            if server
            else ("check-in fast path, then " if settings.AGENT_FAST_PATH else "")
            + f"Django WSGI handler with the full middleware stack, in {workers} "
            "forked process(es), no network"
        ),
        "tenant": tenant.slug,
        "devices": devices,
        "check_ins": check_ins,
        "workers": workers,
        "template": template or "mix",
        "seed": seed,
        "figures": [asdict(f) for f in figures],
        "landed": landed,
        "packages_per_device": round(landed["installed_software"] / max(1, landed["devices"])),
        "failures": problems[:10],
    }


def _landed(tenant_id: int) -> dict[str, int]:
    """Rows the run left in its tenant: what a reader checks the inventory arrived by."""
    return {
        "devices": Device.objects.filter(tenant_id=tenant_id).count(),
        "with_inventory": AgentState.objects.filter(tenant_id=tenant_id)
        .exclude(state_hash="")
        .count(),
        "installed_software": InstalledSoftware.objects.filter(tenant_id=tenant_id).count(),
        # Distinct packages of the fleet (decision 0043); they grow with the fleet's
        # variety, not its size, so the size per 10,000 devices overstates them.
        "software_titles": SoftwareTitle.objects.filter(tenant_id=tenant_id).count(),
        "pending_updates": PendingUpdate.objects.filter(tenant_id=tenant_id).count(),
        "software_changes": SoftwareChange.objects.filter(tenant_id=tenant_id).count(),
    }


def report(result: dict[str, Any], *, as_json: bool) -> str:
    if as_json:
        return json.dumps(result, indent=2)
    lines = [
        f"tandem bench agents on {result['database']}: {result['devices']:,} devices "
        f"({result['template']}, {result['packages_per_device']:,} packages per device), "
        f"{result['check_ins']} unchanged round(s)",
        f"  driven: {result['driven']}",
    ]
    for fig in result["figures"]:
        extra = ", ".join(f"{k}={v}" for k, v in fig["detail"].items())
        lines.append(f"  {fig['name']:<44} {fig['value']:>10,.1f} {fig['unit']:<6} {extra}")
    landed = ", ".join(f"{k}={v:,}" for k, v in result["landed"].items())
    lines.append(f"  landed: {landed}")
    for failure in result["failures"]:
        lines.append(f"  FAILED: {failure}")
    return "\n".join(lines)
