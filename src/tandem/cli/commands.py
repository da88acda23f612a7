"""The ``tandem`` commands that belong to no app: run the server and workers, migrate, load
demo data, look after the domain-event outbox, write the OpenAPI schema, benchmark. Each
app's own commands live in the app (``<app>/cli.py``, declared in its ``AppConfig``)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from tandem.core.cli import EXIT_FAILED, CommandError, Commands, positive_int, print_table


def cmd_migrate(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    from tandem.core.maintenance import refresh_query_statistics

    call_command("migrate", interactive=False, verbosity=1 if args.verbose else 0)
    refresh_query_statistics()
    print("Database is up to date.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from tandem.demo import DEMO_LOGINS, DEMO_PASSWORD, demo_present, load_demo

    if args.scale:
        return _demo_scale(args)
    names = ("tenants", "providers", "tickets", "seed")
    given = [f"--{n}" for n in names if getattr(args, n) is not None]
    if given:
        from tandem.core.errors import InvalidInput

        raise InvalidInput(f"{', '.join(given)} only go with --scale")
    if demo_present():
        print("Demo data is already loaded.")
    else:
        load_demo()
        print("Demo data loaded.")
    _print_logins(DEMO_LOGINS, DEMO_PASSWORD)
    return 0


def _demo_scale(args: argparse.Namespace) -> int:
    """``tandem demo --scale``: MSP-sized data for benchmarks (decision 0011)."""
    from tandem.demo import DEMO_PASSWORD
    from tandem.scale import ScaleOptions, generate

    defaults = ScaleOptions()
    options = ScaleOptions(
        tenants=defaults.tenants if args.tenants is None else args.tenants,
        providers=defaults.providers if args.providers is None else args.providers,
        tickets=defaults.tickets if args.tickets is None else args.tickets,
        seed=defaults.seed if args.seed is None else args.seed,
    )
    summary = generate(options, progress=lambda line: print(line, flush=True))
    from tandem.core.maintenance import refresh_query_statistics

    refresh_query_statistics()  # SQLite plans the queues from these (PostgreSQL analysed)
    minutes, seconds = divmod(int(round(summary.seconds)), 60)
    rows = summary.rows
    print(
        f"\nScale data written in {minutes}m{seconds:02d}s ({summary.seconds:.1f} s): "
        f"{summary.tenants} tenants, {summary.providers} providers, {summary.people:,} people, "
        f"{rows.get('tickets', 0):,} tickets ({summary.open_tickets:,} open), "
        f"{rows.get('events', 0):,} events, {rows.get('comments', 0):,} comments, "
        f"{rows.get('time_entries', 0):,} time entries, {rows.get('handoffs', 0):,} handoffs, "
        f"{rows.get('watchers', 0):,} watchers; as of {summary.as_of}."
    )
    phases = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in summary.phases.items())
    print(f"Time in this process: {phases}.")
    print(f"\nLogins (password for all: {DEMO_PASSWORD}), for example:")
    for email, who in (
        ("owner@scale-0001.scale.test", "owner of tenant scale-0001"),
        ("it1@scale-0001.scale.test", "internal technician of scale-0001 (it1, it2, ...)"),
        ("user1@scale-0001.scale.test", "requester in scale-0001 (user1, user2, ...)"),
        ("admin@scale-msp-01.scale.test", "admin of provider scale-msp-01"),
        ("tech1@scale-msp-01.scale.test", "technician of scale-msp-01 (tech1, tech2, ...)"),
    ):
        print(f"  {email:<32} {who}")
    return 0


def _print_logins(logins: Sequence[Any], password: str) -> None:
    print(f"\nDemo logins (password for all: {password}):")
    for login in logins:
        print(f"  {login.email:<28} {login.who}")


def openapi_document() -> str:
    """The API's OpenAPI schema as committed in docs/openapi.json (stable key order)."""
    import json

    from tandem.config.api import api

    return json.dumps(api.get_openapi_schema(), indent=2, sort_keys=True) + "\n"


def cmd_openapi(args: argparse.Namespace) -> int:
    document = openapi_document()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(document)
        print(f"Wrote {args.output}.")
    else:
        sys.stdout.write(document)
    return 0


def _bench_agents(args: argparse.Namespace) -> int:
    """``tandem bench agents``: simulated agents through the check-in path (decision 0028)."""
    from tandem.bench import agents

    if args.devices < 1 or args.check_ins < 1 or args.workers < 1:
        raise CommandError("--devices, --check-ins and --workers must be positive")
    if args.server and args.gunicorn:
        raise CommandError("--server and --gunicorn exclude each other")
    options = {
        "devices": args.devices,
        "check_ins": args.check_ins,
        "workers": args.workers,
        "seed": args.seed,
        "template": None if args.template == "mix" else args.template,
    }
    if args.gunicorn:
        with agents.gunicorn_server(args.gunicorn_workers, timeout=args.gunicorn_timeout) as url:
            result = agents.run(server=url, **options)
        result["driven"] = (
            f"gunicorn ({args.gunicorn_workers} workers) on loopback; " + result["driven"]
        )
    else:
        result = agents.run(server=args.server, **options)
    print(agents.report(result, as_json=args.json))
    return EXIT_FAILED if result["failures"] else 0


def _bench_ingest(args: argparse.Namespace) -> int:
    """``tandem bench ingest``: durable ingestion over ``/ingest/v1/events`` (decision 0035);
    with ``--parts``, also syslog and detection workers (decision 0046)."""
    from dataclasses import asdict

    from django.conf import settings

    from tandem.bench import ingest, pipeline

    parts = tuple(p.strip() for p in args.parts.split(",") if p.strip())
    if not parts or set(parts) - {"http", "syslog", "detection"}:
        raise CommandError("--parts takes http, syslog and detection, separated by commas")
    if args.batches < 1 or args.batch < 1 or args.workers < 1:
        raise CommandError("--batches, --batch and --workers must be positive")
    if args.server and args.gunicorn:
        raise CommandError("--server and --gunicorn exclude each other")
    if args.server and args.stream == "both":
        raise CommandError("--server drives that server's own stream: leave out --stream both")
    if args.server and parts != ("http",):
        raise CommandError("--server measures the HTTP part only: leave out --parts")
    if "http" in parts:
        result = ingest.run(
            stream=args.stream,
            batches=args.batches,
            batch=args.batch,
            workers=args.workers,
            seed=args.seed,
            gunicorn=args.gunicorn_workers if args.gunicorn else 0,
            server=args.server,
        )
    else:
        result = {
            "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            "driven": "real tandem processes on loopback",
            "batches": args.batches,
            "batch": args.batch,
            "event_bytes_mean": 0,
            "body_bytes_gzip_mean": 0,
            "figures": [],
            "read_back": {},
            "failures": [],
            "cpus": os.cpu_count(),
        }
    others = tuple(p for p in parts if p != "http")
    if others:
        extra = pipeline.run(
            stream=args.stream, batches=args.batches, batch=args.batch, parts=others
        )
        result["figures"] += [asdict(f) for f in extra["figures"]]
        result["load_average_1m"] = round(os.getloadavg()[0], 2)
    result["parts"] = list(parts)
    print(ingest.report(result, as_json=args.json))
    return EXIT_FAILED if result["failures"] else 0


def _bench_detect(args: argparse.Namespace) -> int:
    """``tandem bench detect``: the Sigma engine end to end (decision 0034)."""
    from pathlib import Path

    from tandem.bench import detect

    rules = Path(args.rules or os.environ.get("TANDEM_SIGMA_RULES") or "../shared/sigma")
    if not rules.exists():
        raise CommandError(f"no rules at {rules}: give --rules PATH (a folder or zip)")
    if args.events < 1:
        raise CommandError("--events must be positive")
    result = detect.run(rules=rules, events=args.events, seed=args.seed, cold=not args.no_cold)
    print(detect.report(result, as_json=args.json))
    return 0


def _bench_patching(args: argparse.Namespace) -> int:
    """``tandem bench patching``: patch compliance at fleet size (decision 0048)."""
    from tandem.bench import patching

    if args.devices < 1 or args.states < 1 or args.requests < 1:
        raise CommandError("--devices, --states and --requests must be positive")
    result = patching.run(
        devices=args.devices, states=args.states, requests=args.requests, seed=args.seed
    )
    print(patching.report(result, as_json=args.json))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from tandem.bench import desk

    if args.scenario == "agents":
        return _bench_agents(args)
    if args.scenario == "ingest":
        return _bench_ingest(args)
    if args.scenario == "detect":
        return _bench_detect(args)
    if args.scenario == "patching":
        return _bench_patching(args)
    if args.scenario != "desk":
        raise CommandError(
            f"unknown scenario {args.scenario!r}; try: desk, agents, ingest, detect, patching"
        )
    if args.processes < 1 or args.tickets < args.processes or args.requests < 1:
        raise CommandError("--processes, --tickets and --requests must be positive")
    try:
        figures = desk.run(
            tickets=args.tickets,
            queue_requests=args.requests,
            recompute=args.recompute,
            processes=args.processes,
            scale=args.scale,
        )
    except LookupError as exc:
        raise CommandError(str(exc)) from exc
    print(desk.report(figures, as_json=args.json))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    if not args.no_schedule:
        # Periodic jobs (the apps' schedules) are claimed here and run as ordinary tasks.
        from tandem.core.scheduler import start_scheduler

        start_scheduler()
    call_command("db_worker", interval=args.interval)
    return 0


def cmd_events_list(args: argparse.Namespace) -> int:
    """Domain events whose subscribers have not all run, oldest first."""
    from tandem.core.events import pending

    rows = pending(args.type or (), failed_only=args.failed, limit=args.limit)
    print_table(
        ("id", "type", "tenant", "recorded", "attempts", "next attempt", "last error"),
        [
            (
                str(row.pk),
                row.type,
                str(row.tenant_id or "-"),
                f"{row.occurred_at:%Y-%m-%d %H:%M}",
                str(row.attempts),
                f"{row.next_attempt_at:%Y-%m-%d %H:%M}" if row.next_attempt_at else "-",
                row.last_error.splitlines()[0] if row.last_error else "-",
            )
            for row in rows
        ],
        empty="No domain event is waiting.",
    )
    return 0


def cmd_events_retry(args: argparse.Namespace) -> int:
    """Run the subscribers still due of some events now, once the fault is fixed."""
    from tandem.core.events import pending, retry_now

    if bool(args.ids) == args.all_failed:
        raise CommandError("name event ids or --all-failed (not both)")
    ids = args.ids or [row.pk for row in pending(failed_only=True)]
    if not ids:
        print("No failed domain event.", file=sys.stderr)
        return 0
    outcomes = retry_now(ids)
    for event_id, outcome in outcomes.items():
        print(f"{event_id}  {outcome}")
    return EXIT_FAILED if {"failed", "missing"} & set(outcomes.values()) else 0


def cmd_events_purge(args: argparse.Namespace) -> int:
    """Delete dispatched events older than the keeping time (the daily job does this too)."""
    from tandem.core.events import purge_dispatched

    keep = dt.timedelta(days=args.older_than) if args.older_than is not None else None
    print(f"Deleted {purge_dispatched(keep=keep):,} dispatched domain event(s).")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication

    from tandem.config.wsgi import application

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("threads", args.threads)
            self.cfg.set("accesslog", "-" if args.access_log else None)

        def load(self):  # type: ignore[no-untyped-def]
            return application

    Server().run()
    return 0


def _follow_site_url(host: str, port: int) -> str:
    """The address ``tandem up`` serves, made the site URL of e-mailed links (in this process
    and, through the environment, in the worker it starts) unless TANDEM_SITE_URL is set: a
    run on another port must not mail links to the default one."""
    from django.conf import settings

    shown = "127.0.0.1" if host in {"0.0.0.0", "", "::"} else host  # noqa: S104 - a name
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"  # an IPv6 address in a URL
    url = f"http://{shown}:{port}/"
    if not os.environ.get("TANDEM_SITE_URL"):
        os.environ["TANDEM_SITE_URL"] = url.rstrip("/")
        settings.SITE_URL = url.rstrip("/")
    return url


def _port_free(host: str, port: int) -> bool:
    """Whether ``port`` can be bound on ``host`` for both UDP and TCP (the syslog listener
    takes both), so ``up`` says so instead of starting a listener that dies at once."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, kind) as probe:
            if kind == socket.SOCK_STREAM:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                return False
    return True


def _background(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """What ``tandem up`` runs beside the web server (decision 0046): the task worker, the
    detection worker and the archive worker on the event stream, and a syslog listener on a
    loopback port. Each is a ``tandem`` command of its own, named here by its words (core
    imports no app)."""
    me = [sys.executable, "-m", "tandem.cli"]
    jobs = [("worker (tasks and schedule)", [*me, "worker"])]
    jobs.append(("detection worker (Sigma rules over the event stream)", [*me, "detection-worker"]))
    if not args.no_archive:
        jobs.append(("archive worker (events into hourly Parquet)", [*me, "archive-worker"]))
    if args.syslog_port:
        where = f"{args.syslog_host}:{args.syslog_port}"
        if _port_free(args.syslog_host, args.syslog_port):
            listen = ["--host", args.syslog_host, "--udp-port", str(args.syslog_port)]
            listen += ["--tcp-port", str(args.syslog_port), "--tls-port", "0"]
            jobs.append(
                (f"syslog listener on udp and tcp {where}", [*me, "syslog-listen", *listen])
            )
        else:
            print(f"Port {where} is taken: no syslog listener (--syslog-port 0 to say so).")
    return jobs


def _print_syslog_hint(args: argparse.Namespace, *, demo: bool) -> None:
    """How to send the listener a line (a line the starter pack's sshd rule alerts on). The
    listener files a line under the syslog source whose networks hold its sender and refuses
    senders no source names: the demo has one for this machine (decision 0050)."""
    host = "127.0.0.1" if args.syslog_host in {"0.0.0.0", "", "::"} else args.syslog_host  # noqa: S104
    print(
        f"\n  Send a test line:  logger -n {host} -P {args.syslog_port} -t sshd "
        '"Failed password for root from 203.0.113.9 port 22 ssh2"'
    )
    if demo:
        print("  (the demo tenant Contoso's syslog source takes senders on this machine)")
    else:
        print("  (first add a syslog source for your senders: POST /api/v1/ingest-sources)")


def _with_archive_group() -> None:
    """The stream keeps what the ``archive`` group has not read, so the group is declared
    (in this process, whose server appends, and in the children) when its worker runs."""
    from django.conf import settings

    groups = list(dict.fromkeys([*settings.LOG_STREAM_GROUPS, "archive"]))
    settings.LOG_STREAM_GROUPS = groups
    os.environ["TANDEM_LOG_STREAM_GROUPS"] = ",".join(groups)


def _stop(started: list[tuple[str, Any]]) -> None:
    """SIGTERM every process ``up`` started, then wait for each (a kill after 10 s)."""
    for _label, process in started:
        process.send_signal(signal.SIGTERM)
    for _label, process in started:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def cmd_up(args: argparse.Namespace) -> int:
    """Migrate, load the demo, start the workers and the syslog listener, then the server;
    Ctrl-C stops them all."""
    from django.conf import settings
    from django.core.management import call_command

    from tandem.demo import DEMO_LOGINS, DEMO_PASSWORD, demo_present, load_demo

    url = _follow_site_url(args.host, args.port)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if not args.no_demo and not demo_present():
        load_demo()
    if not args.no_archive:
        _with_archive_group()
    started: list[tuple[str, Any]] = []
    try:
        for label, argv in _background(args):
            started.append((label, subprocess.Popen(argv)))  # noqa: S603 - our own command
        print(f"\nTandem is running at {url}  (database: {settings.DATABASES['default']['NAME']})")
        for label, process in started:
            print(f"  {label}  (pid {process.pid})")
        if any(label.startswith("syslog listener") for label, _process in started):
            _print_syslog_hint(args, demo=not args.no_demo)
        if not args.no_demo:
            _print_logins(DEMO_LOGINS, DEMO_PASSWORD)
        print("\nPress Ctrl-C to stop.\n", flush=True)
        args.workers = args.workers or 2
        return cmd_serve(args)
    finally:
        _stop(started)


def register(commands: Commands) -> None:
    """The commands that run and operate an instance as a whole, whatever apps it has."""
    add = commands.add

    def server_options(p: argparse.ArgumentParser, workers: int) -> None:
        p.add_argument("--host", default=os.environ.get("TANDEM_HOST", "127.0.0.1"))
        p.add_argument("--port", type=int, default=int(os.environ.get("TANDEM_PORT", "8000")))
        p.add_argument("--workers", type=int, default=workers, help="web processes")
        p.add_argument("--threads", type=int, default=4, help="threads per web process")
        p.add_argument("--access-log", action="store_true", help="log every request")

    p = add(
        "up",
        cmd_up,
        "Migrate, load demo data, and run the server and a worker.",
        needs_data=False,
    )
    server_options(p, 2)
    p.add_argument("--no-demo", action="store_true", help="do not load demo data")
    p.add_argument(
        "--syslog-port",
        type=int,
        default=5514,
        help="syslog listener's UDP and TCP port (default 5514; 0: no listener)",
    )
    p.add_argument(
        "--syslog-host", default="127.0.0.1", help="syslog listener's address (default loopback)"
    )
    p.add_argument("--no-archive", action="store_true", help="do not run the archive worker")
    server_options(add("serve", cmd_serve, "Run the web server (gunicorn).", needs_data=False), 2)
    p = add(
        "worker",
        cmd_worker,
        "Run a background worker (any number may run).",
        needs_data=False,
    )
    p.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    p.add_argument(
        "--no-schedule", action="store_true", help="do not run periodic jobs (the apps' schedules)"
    )
    add("migrate", cmd_migrate, "Create or upgrade the database schema.", needs_data=False)
    p = add("demo", cmd_demo, "Load demo tenants, providers and people; print the logins.")
    p.add_argument(
        "--scale",
        action="store_true",
        help="generate MSP-sized benchmark data instead (into a database without it)",
    )
    p.add_argument("--tenants", type=int, help="with --scale: tenants (default 500)")
    p.add_argument("--providers", type=int, help="with --scale: providers (default 40)")
    p.add_argument("--tickets", type=int, help="with --scale: tickets (default 1000000)")
    p.add_argument("--seed", type=int, help="with --scale: random seed (default 1)")

    events = commands.group(
        "events", "Domain events waiting in the outbox: list, retry, purge.", dest="events_command"
    )
    p = events.add("list", cmd_events_list, "List events whose subscribers have not all run.")
    p.add_argument("--failed", action="store_true", help="only those whose last attempt failed")
    p.add_argument("--type", action="append", metavar="TYPE", help="only this type (repeatable)")
    p.add_argument("--limit", type=positive_int, default=100, help="at most this many rows")
    p = events.add("retry", cmd_events_retry, "Run an event's due subscribers now.")
    p.add_argument("ids", nargs="*", type=positive_int, metavar="ID", help="outbox row ids")
    p.add_argument("--all-failed", action="store_true", help="every event whose attempt failed")
    p = events.add("purge", cmd_events_purge, "Delete dispatched events past their keeping time.")
    p.add_argument(
        "--older-than", type=positive_int, metavar="DAYS", help="default TANDEM_EVENTS_KEEP_DAYS"
    )

    p = add(
        "openapi",
        cmd_openapi,
        "Print or write the OpenAPI schema of the HTTP API.",
        needs_data=False,
    )
    p.add_argument("--output", "-o", metavar="FILE", help="file to write (default stdout)")

    p = add(
        "bench",
        cmd_bench,
        "Measure a scenario on the configured (scratch) database.",
        needs_data=False,
    )
    p.add_argument(
        "scenario",
        choices=["desk", "agents", "ingest", "detect", "patching"],
        help="what to measure",
    )
    p.add_argument("--tickets", type=int, default=2000, help="desk: tickets to create")
    p.add_argument(
        "--requests",
        type=int,
        default=200,
        help="desk: queue page requests; patching: requests per page",
    )
    p.add_argument("--recompute", type=int, default=20000, help="synthetic SLA histories")
    p.add_argument(
        "--processes", type=int, default=2, help="processes opening tickets / recomputing"
    )
    p.add_argument(
        "--scale",
        action="store_true",
        help="measure the queues on the `tandem demo --scale` data",
    )
    p.add_argument(
        "--devices", type=int, default=200, help="agents: simulated devices; patching: fleet size"
    )
    p.add_argument("--states", type=int, default=50, help="patching: update states per device")
    p.add_argument(
        "--check-ins", type=int, default=5, help="agents: unchanged check-ins per device"
    )
    p.add_argument("--workers", type=int, default=2, help="agents: client processes")
    p.add_argument(
        "--template",
        default="mix",
        choices=["mix", "debian-server", "ubuntu-desktop", "rhel-server", "windows-11", "macos"],
        help="agents: every device of this template (default: a mixed fleet)",
    )
    p.add_argument("--seed", type=int, default=1, help="agents: random seed of the fleet")
    p.add_argument("--server", metavar="URL", help="agents: drive this running server over HTTP")
    p.add_argument(
        "--gunicorn", action="store_true", help="agents: drive a gunicorn started on loopback"
    )
    p.add_argument("--gunicorn-workers", type=int, default=2, help="agents: its workers")
    p.add_argument(
        "--gunicorn-timeout", type=int, default=1800, help="agents: it stops by itself after"
    )
    p.add_argument(
        "--stream",
        default="both",
        choices=["embedded", "nats", "both"],
        help="ingest: the stream back-end(s) to measure",
    )
    p.add_argument(
        "--parts",
        default="http",
        help="ingest: http, syslog (UDP, TCP, TLS listener) and/or detection (1 and 2 "
        "workers), comma-separated (default http)",
    )
    p.add_argument("--batches", type=int, default=200, help="ingest: requests per back-end")
    p.add_argument("--batch", type=int, default=500, help="ingest: events per request")
    p.add_argument("--rules", metavar="PATH", help="detect: rules (default ../shared/sigma)")
    p.add_argument("--events", type=int, default=100_000, help="detect: generated events")
    p.add_argument("--no-cold", action="store_true", help="detect: skip the cold rule load")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
