"""``tandem syslog-listen``: the syslog listener (UDP, TCP, TLS; decisions 0036 and 0041)
taking events into the event stream until SIGTERM or SIGINT. Ports, address and the TLS
certificate come from the settings (docs/operations.md "Detection and syslog"); options
override them. ``tandem archive-worker``: the stream's ``archive`` group into the event
archive (decision 0040)."""

from __future__ import annotations

import argparse
import logging

from tandem.core.cli import CommandError, Commands, positive_int

log = logging.getLogger(__name__)


def _port(value: int | None) -> int | None:
    """A configured port; 0 means "do not open" (the listener's 0 would pick a free one)."""
    return value or None


def cmd_syslog_listen(args: argparse.Namespace) -> int:
    from django.conf import settings

    from tandem.logs.normalise import from_syslog
    from tandem.logs.syslog.listener import ListenerConfig, run_listener
    from tandem.logs.syslog_sink import SyslogSink

    def pick(option: object, setting: object) -> object:
        return setting if option is None else option

    cert = pick(args.tls_cert, settings.SYSLOG_TLS_CERT) or None
    key = pick(args.tls_key, settings.SYSLOG_TLS_KEY) or None
    tls_port = _port(pick(args.tls_port, settings.SYSLOG_TLS_PORT))  # type: ignore[arg-type]
    if bool(cert) != bool(key):
        raise CommandError("TLS needs both a certificate and its key (--tls-cert, --tls-key)")
    if not cert:
        tls_port = None
    config = ListenerConfig(
        host=str(pick(args.host, settings.SYSLOG_HOST)),
        udp_port=_port(pick(args.udp_port, settings.SYSLOG_UDP_PORT)),  # type: ignore[arg-type]
        tcp_port=_port(pick(args.tcp_port, settings.SYSLOG_TCP_PORT)),  # type: ignore[arg-type]
        tls_port=tls_port,
        tls_certfile=str(cert) if cert else None,
        tls_keyfile=str(key) if key else None,
        tls_cafile=str(pick(args.tls_ca, settings.SYSLOG_TLS_CA)) or None,
    )
    if not (config.udp_port or config.tcp_port or config.tls_port):
        raise CommandError("no port to listen on: give a UDP, TCP or TLS port")
    sink = SyslogSink()
    try:
        run_listener(sink, config, to_event=from_syslog)
    except OSError as exc:
        raise CommandError(f"cannot listen: {exc}") from exc
    if sink.unknown_senders:
        log.warning("syslog refused from unknown senders: %s", dict(sink.unknown_senders))
    return 0


def cmd_archive_worker(args: argparse.Namespace) -> int:
    from tandem.logs.archiving import ArchiveWorker
    from tandem.logs.workers import run_until_signalled

    worker = ArchiveWorker(name=args.name or "")
    run_until_signalled(worker, once=args.once, max_batches=args.batches)
    print(f"archived {worker.events} events in {worker.batches} batches")
    return 1 if worker.failed_batches else 0


def register(commands: Commands) -> None:
    p = commands.add(
        "syslog-listen",
        cmd_syslog_listen,
        "Receive syslog (UDP, TCP, TLS) into the event stream until SIGTERM.",
    )
    p.add_argument("--host", help="address to listen on (TANDEM_SYSLOG_HOST, 0.0.0.0)")
    p.add_argument("--udp-port", type=int, help="0: no UDP (TANDEM_SYSLOG_UDP_PORT, 5514)")
    p.add_argument("--tcp-port", type=int, help="0: no TCP (TANDEM_SYSLOG_TCP_PORT, 5514)")
    p.add_argument("--tls-port", type=int, help="0: no TLS (TANDEM_SYSLOG_TLS_PORT, 6514)")
    p.add_argument("--tls-cert", help="PEM certificate (TANDEM_SYSLOG_TLS_CERT)")
    p.add_argument("--tls-key", help="PEM private key (TANDEM_SYSLOG_TLS_KEY)")
    p.add_argument(
        "--tls-ca", help="require client certificates from this CA (TANDEM_SYSLOG_TLS_CA)"
    )
    a = commands.add(
        "archive-worker",
        cmd_archive_worker,
        "Archive the event stream's 'archive' group as hourly Parquet (until SIGTERM).",
    )
    a.add_argument("--name", help="this consumer's name in the group (default archive)")
    a.add_argument("--batches", type=positive_int, default=10, help="batches per fetch")
    a.add_argument("--once", action="store_true", help="process what is waiting, then stop")
