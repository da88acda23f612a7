"""``tandem`` sub-commands of the service desk: its mail listener, and inbound mail an
operator processes again or inspects."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from tandem.core.cli import CommandError, Commands, system_actor


def cmd_mail_listen(args: argparse.Namespace) -> int:
    """Receive service-desk mail over SMTP until stopped (Ctrl-C or SIGTERM)."""
    import threading

    from django.conf import settings

    from tandem.servicedesk.mail.inbound import requeue_pending
    from tandem.servicedesk.mail.listener import listener

    controller = listener(host=args.host, port=args.port)
    try:
        controller.start()
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc}") from exc
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    requeued = requeue_pending()
    domain = settings.MAIL_DOMAIN
    print(
        f"Listening for service-desk mail on {args.host}:{args.port} "
        f"(<tenant>@{domain}, <tenant>+<ticket>@{domain}). Press Ctrl-C to stop.",
        flush=True,
    )
    if requeued:
        print(f"Queued {requeued} message(s) left pending for processing.", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
    print("Stopped.")
    return 0


def cmd_mail_retry(args: argparse.Namespace) -> int:
    """Process failed (or kept) inbound mail again, once the fault is fixed: one message by
    id, or every failed one. Each is processed now, in this process; the outcome is printed."""
    from tandem.core.errors import Conflict
    from tandem.servicedesk.mail.inbound import (
        failed_message_ids,
        inbound_message_for_operator,
        process_inbound_message,
        retry_inbound_message,
    )

    if (args.id is None) == (not args.all_failed):
        raise CommandError("give one message id, or --all-failed")
    ids = failed_message_ids() if args.all_failed else [args.id]
    actor = system_actor("mail-retry")
    problems = 0
    for message_id in ids:
        message = inbound_message_for_operator(message_id)
        if message is None:
            raise CommandError(f"no inbound mail {message_id}")
        try:
            retry_inbound_message(actor=actor, message=message)
        except Conflict as exc:
            raise CommandError(f"inbound mail {message_id}: {exc}") from exc
        # The queued task finds it already processed; a worker is not needed for this.
        done = process_inbound_message(message_id=message_id)
        status = done.status if done is not None else "missing"
        reason = "".join(c if c.isprintable() else "?" for c in (done.reason if done else ""))
        print(f"{message_id}\t{status}" + (f"\t{reason}" if reason else ""))
        problems += status == "failed"
    print(
        f"{len(ids)} message(s) processed again, {problems} failed.",
        file=sys.stderr,
    )
    return 1 if problems else 0


def cmd_mail_unrouted(args: argparse.Namespace) -> int:
    """Mail the listener kept that no tenant's review page shows: sent to a desk address
    with no tenant behind it (a mistyped or retired desk)."""
    from tandem.servicedesk.mail.queries import unrouted_inbound

    if args.raw is not None:
        found = unrouted_inbound(args.raw)
        if not found:
            raise CommandError(f"no unrouted inbound mail {args.raw}")
        out = open(args.output, "wb") if args.output else sys.stdout.buffer  # noqa: SIM115
        try:
            out.write(bytes(found[0].raw))
        finally:
            if args.output:
                out.close()
        return 0
    if args.limit < 1:
        raise CommandError("--limit must be at least 1")
    rows = unrouted_inbound(limit=args.limit)

    def shown(text: str) -> str:
        # Sender, subject and reason come from the mail: no control characters to the
        # operator's terminal.
        return "".join(c if c.isprintable() else "?" for c in text) or "-"

    for message in rows:
        to = shown(", ".join(message.envelope_to))
        sender = shown(message.from_address or message.envelope_from)
        print(f"{message.pk}\t{message.received_at:%Y-%m-%d %H:%M}\t{sender}\t{to}")
        print(f"\tsubject: {shown(message.subject)}\n\t{message.status}: {shown(message.reason)}")
    print(
        f"{len(rows)} unrouted message(s)"
        + (f" (the newest {args.limit}; --limit for more)." if len(rows) == args.limit else ".")
        + (" `tandem mail-unrouted --raw ID` writes one as it arrived (.eml)." if rows else ""),
        file=sys.stderr,
    )
    return 0


def register(commands: Commands) -> None:
    add = commands.add
    p = add(
        "mail-listen",
        cmd_mail_listen,
        "Receive service-desk e-mail over SMTP (run a worker to process it).",
        needs_data=False,
    )
    p.add_argument("--host", default=os.environ.get("TANDEM_MAIL_LISTEN_HOST", "127.0.0.1"))
    p.add_argument(
        "--port", type=int, default=int(os.environ.get("TANDEM_MAIL_LISTEN_PORT", "2525"))
    )
    p = add(
        "mail-retry",
        cmd_mail_retry,
        "Process failed inbound e-mail again (by id, or --all-failed).",
    )
    p.add_argument("id", type=int, nargs="?", metavar="ID", help="the inbound mail's id")
    p.add_argument("--all-failed", action="store_true", help="every failed message")
    p = add(
        "mail-unrouted",
        cmd_mail_unrouted,
        "List kept e-mail that matched no tenant's desk, or write one out raw.",
    )
    p.add_argument("--raw", type=int, metavar="ID", help="write this message as it arrived")
    p.add_argument("--limit", type=int, default=100, help="list at most this many (newest)")
    p.add_argument("--output", "-o", metavar="FILE", help="with --raw: file (default stdout)")
