"""The ``tandem-agent`` command: enrol, run, once, status.

Exit codes: 0 done; 1 the server could not be reached or refused the reports (they stay
queued); 2 bad usage or input; 3 not enrolled; 4 the server revoked this device or refused
the enrolment token. Errors are one line on stderr, starting ``tandem-agent:``.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import signal
import sys
import threading
import urllib.parse
from collections.abc import Sequence
from types import FrameType
from typing import Any

from tandem_agent import __version__
from tandem_agent.backends import choose_backend
from tandem_agent.client import (
    AgentClient,
    EnrolmentError,
    Revoked,
    TransportError,
    UrllibTransport,
)
from tandem_agent.collect import collect, device_identity, os_facts
from tandem_agent.inventory import state_hash
from tandem_agent.jobs import default_runner
from tandem_agent.logs.config import ConfigError, LogConfig, load_config
from tandem_agent.logs.forward import Forwarder, build_sources
from tandem_agent.logs.queue import EventQueue
from tandem_agent.queue import ReportQueue
from tandem_agent.service import queue_inventory, run_loop, send
from tandem_agent.state import StateDir, resolve_state_dir

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_ENROLLED, EXIT_REFUSED = 0, 1, 2, 3, 4


class CommandError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandem-agent", description="Tandem's endpoint agent (decision 0025)."
    )
    parser.add_argument("--version", action="version", version=f"tandem-agent {__version__}")
    parser.add_argument(
        "--state-dir",
        help="where the agent keeps its credential and queue "
        "(default: $TANDEM_AGENT_STATE_DIR or /var/lib/tandem-agent)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    enrol = commands.add_parser("enrol", help="enrol this device with an enrolment token")
    enrol.add_argument("--server", required=True, help="the Tandem server, https://…")
    enrol.add_argument("--token", required=True, help="the tenant's or site's enrolment token")
    enrol.add_argument("--site", help="the site to place the device in")
    enrol.add_argument("--ca-file", help="CA bundle to verify the server's certificate with")
    commands.add_parser("run", help="run as a service: check in every interval until stopped")
    once = commands.add_parser("once", help="collect and send once")
    once.add_argument("--print", action="store_true", help="print the report, send nothing")
    commands.add_parser("status", help="enrolled?, last check-in, queue length, last error")
    logs = commands.add_parser(
        "logs", help="forward this machine's logs only (settings in <state>/logs.json)"
    )
    logs.add_argument("--once", action="store_true", help="read the sources and send once")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="tandem-agent: %(message)s")
    state = StateDir(resolve_state_dir(args.state_dir))
    handlers = {"enrol": _enrol, "run": _run, "once": _once, "status": _status, "logs": _logs}
    try:
        return handlers[args.command](args, state)
    except CommandError as error:
        print(f"tandem-agent: {error}", file=sys.stderr)
        return error.code
    except BrokenPipeError:  # `tandem-agent once --print | head`
        return EXIT_OK
    except PermissionError as error:
        print(f"tandem-agent: permission denied: {error.filename}", file=sys.stderr)
        return EXIT_FAILED


def _check_server(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        raise CommandError(f"--server must be an https:// URL, not {url!r}", EXIT_USAGE)
    if parsed.scheme == "http" and parsed.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise CommandError(
            "plain http:// is for a test server on this machine only; use https://", EXIT_USAGE
        )
    if parsed.query or parsed.fragment:
        raise CommandError("--server takes the server's address only", EXIT_USAGE)
    return url.rstrip("/")


def _enrol(args: argparse.Namespace, state: StateDir) -> int:
    server = _check_server(args.server)
    if not args.token.strip():
        raise CommandError("--token is empty", EXIT_USAGE)
    client = AgentClient(state=state, transport=UrllibTransport(ca_file=args.ca_file))
    device = {**device_identity(), "os": os_facts()}
    try:
        enrolment = client.enrol(
            server=server,
            token=args.token.strip(),
            site=args.site,
            device=device,
            ca_file=args.ca_file,
        )
    except TransportError as error:
        raise CommandError(f"cannot reach {server}: {error}", EXIT_FAILED) from error
    except EnrolmentError as error:
        raise CommandError(str(error), EXIT_REFUSED) from error
    print(f"enrolled as device {enrolment.device_id} with {server}")
    return EXIT_OK


def _client(state: StateDir) -> AgentClient:
    enrolment = state.enrolment()
    if enrolment is None or state.credential() is None:
        raise CommandError(
            f"not enrolled (state in {state.path}); run `tandem-agent enrol` first",
            EXIT_NOT_ENROLLED,
        )
    revoked = state.status().revoked
    if revoked:
        raise CommandError(
            f"the server revoked this device ({revoked}); enrol it again to resume",
            EXIT_REFUSED,
        )
    return AgentClient(state=state, transport=UrllibTransport(ca_file=enrolment.ca_file))


def _once(args: argparse.Namespace, state: StateDir) -> int:
    if args.print:
        document = collect()
        print(json.dumps({"state_hash": state_hash(document), "inventory": document}, indent=1))
        return EXIT_OK
    client = _client(state)
    queue = ReportQueue(state.queue_path)
    try:
        queue_inventory(state, queue, collect())
        result = send(client, queue, default_runner(state, choose_backend))
    except TransportError as error:
        raise CommandError(
            f"server unreachable, {len(queue)} reports kept for later: {error}", EXIT_FAILED
        ) from error
    except Revoked as error:
        raise CommandError(f"the server revoked this device: {error}", EXIT_REFUSED) from error
    finally:
        queue.close()
    if result.outcome.action not in ("ok", "full") or result.remaining:
        raise CommandError(
            f"check-in incomplete ({result.outcome.detail}); {result.remaining} reports kept",
            EXIT_FAILED,
        )
    print(f"sent {result.acknowledged} reports")
    return EXIT_OK


def _run(args: argparse.Namespace, state: StateDir) -> int:
    client = _client(state)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logging.getLogger("tandem_agent").info("stopping on signal %d", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    forwarder = _forwarder(state, client)
    forwarding = threading.Thread(
        target=forwarder.run, args=(stop,), kwargs={"rng": random.SystemRandom()}, daemon=True
    )
    forwarding.start()
    queue = ReportQueue(state.queue_path)
    try:
        outcome = run_loop(
            client=client,
            queue=queue,
            collect=collect,
            stop=stop,
            rng=random.SystemRandom(),
            runner=default_runner(state, choose_backend),
        )
    finally:
        stop.set()
        forwarding.join(30)
        queue.close()
        forwarder.queue.close()
    if outcome.stopped_by == "revoked":
        raise CommandError("the server revoked this device; stopped", EXIT_REFUSED)
    return EXIT_OK


def _log_config(state: StateDir) -> LogConfig:
    try:
        return load_config(state.path / "logs.json")
    except ConfigError as error:
        raise CommandError(str(error), EXIT_USAGE) from error


def _forwarder(state: StateDir, client: AgentClient) -> Forwarder:
    config = _log_config(state)
    return Forwarder(
        state=state,
        queue=EventQueue(state.events_path),
        sources=build_sources(config),
        config=config,
        transport=client.transport,
    )


def _logs(args: argparse.Namespace, state: StateDir) -> int:
    """Forward logs only: ``--once`` for one round, else until SIGTERM."""
    forwarder = _forwarder(state, _client(state))
    names = ", ".join(source.name for source in forwarder.sources) or "none"
    logging.getLogger("tandem_agent").info("log sources: %s", names)
    try:
        if args.once:
            outcome = forwarder.round()
            if outcome.failed:
                raise CommandError(
                    f"{outcome.detail}; {len(forwarder.queue)} log records kept", EXIT_FAILED
                )
            print(f"sent {outcome.sent} log records ({len(forwarder.queue)} queued)")
            return EXIT_OK
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
        signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
        if forwarder.run(stop, rng=random.SystemRandom()) == "revoked":
            raise CommandError("the server revoked this device; stopped", EXIT_REFUSED)
        return EXIT_OK
    except Revoked as error:
        raise CommandError(f"the server revoked this device: {error}", EXIT_REFUSED) from error
    finally:
        forwarder.queue.close()


def _status(args: argparse.Namespace, state: StateDir) -> int:
    enrolment = state.enrolment()
    status = state.status()
    queued = 0
    if state.queue_path.exists():
        queue = ReportQueue(state.queue_path)
        queued = len(queue)
        queue.close()
    queued_logs = 0
    followed: list[str] = []
    if state.events_path.exists():
        events = EventQueue(state.events_path)
        queued_logs = len(events)
        followed = list(events.positions())
        events.close()
    lines: dict[str, Any] = {
        "state directory": str(state.path),
        "enrolled": "yes" if enrolment and state.credential() else "no",
        "server": enrolment.server if enrolment else "-",
        "device id": enrolment.device_id if enrolment else "-",
        "revoked": status.revoked or "no",
        "last check-in": status.last_check_in or "never",
        "queued reports": queued,
        "server clock offset": (
            f"{status.server_offset_seconds:+.1f} s"
            if status.server_offset_seconds is not None
            else "unknown"
        ),
        "last error": status.last_error or "none",
        "log sources": ", ".join(followed) or "none",
        "queued log records": queued_logs,
        "logs last sent": status.extra.get("logs_last_sent") or "never",
        "logs last error": status.extra.get("logs_last_error") or "none",
        "log records refused": ", ".join(
            f"{reason} {count}" for reason, count in status.extra.get("logs_dropped", {}).items()
        )
        or "none",
    }
    width = max(len(key) for key in lines)
    for key, value in lines.items():
        print(f"{key + ':':<{width + 1}} {value}")
    return EXIT_OK if enrolment else EXIT_NOT_ENROLLED
