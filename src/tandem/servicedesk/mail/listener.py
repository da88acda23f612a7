"""The SMTP listener that keeps each incoming message for processing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from tandem.servicedesk.mail import parsing
from tandem.servicedesk.mail.inbound import MAX_RECIPIENTS, log, receive_message

# --- The SMTP listener -------------------------------------------------------------------------


def keep_message(*, envelope_from: str, recipients: Sequence[str], raw: bytes, peer: str) -> int:
    """The listener's way to keep a message: :func:`receive_message` on a fresh or healthy
    database connection (the listener runs for weeks; connections go stale)."""
    close_old_connections()
    try:
        return receive_message(
            envelope_from=envelope_from, recipients=recipients, raw=raw, peer=peer
        ).pk
    finally:
        close_old_connections()


class DeskSMTPHandler:
    """The aiosmtpd handler: desk addresses only, and 250 only once the message is kept."""

    def __init__(self, *, domain: str, accept: Callable[..., int]) -> None:
        self.domain = domain
        self.accept = accept

    async def handle_RCPT(  # noqa: N802 - the name aiosmtpd calls
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if parsing.parse_desk_address(address, self.domain) is None:
            return (
                f"550 5.1.1 <{address}>: not a service desk address here "
                f"(use <tenant>@{self.domain})"
            )
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer or "")
        try:
            kept = await sync_to_async(self.accept)(
                envelope_from=envelope.mail_from or "",
                recipients=list(envelope.rcpt_tos),
                raw=bytes(raw),
                peer=str(peer),
            )
        except Exception:
            log.exception("could not keep a message from %s", envelope.mail_from)
            return "451 4.3.0 The message could not be stored; please try again later"
        return f"250 2.0.0 Accepted as inbound mail {kept}"


class DeskSMTP(SMTP):
    """aiosmtpd's SMTP server, taking lines of any length up to the message size limit.

    RFC 5321 caps a line at 1,000 octets, but real mail systems send longer ones (HTML
    written on one line, long base64 without folding, signatures). aiosmtpd answers those
    with ``500 Line too long`` and the sender's server gives up: the mail is lost. The
    limit is the stream reader's, fixed when the server is built, so it is raised before.
    Commands keep their own limit (``command_size_limit``: 512 octets, "500 Command line
    too long"); only the message's lines may be long, and the message as a whole is still
    held to ``data_size_limit`` (552)."""

    def __init__(self, handler: Any, *, data_size_limit: int, **kwargs: Any) -> None:
        # An instance attribute read by SMTP.__init__ for the reader's limit, and by
        # smtp_DATA for each line: +2 for the CRLF.
        self.line_length_limit = data_size_limit + 2
        super().__init__(handler, data_size_limit=data_size_limit, **kwargs)


class DeskController(Controller):
    """aiosmtpd's threaded controller, serving :class:`DeskSMTP`."""

    def factory(self) -> SMTP:
        return DeskSMTP(self.handler, **self.SMTP_kwargs)


def listener(
    *,
    host: str,
    port: int,
    accept: Callable[..., int] | None = None,
    max_message_bytes: int | None = None,
) -> Controller:
    """An SMTP server for the desk (not started): ``.start()`` runs it in a thread,
    ``.stop()`` ends it. ``accept`` replaces :func:`keep_message` (tests share their
    database connection through it).

    It announces SMTPUTF8 (RFC 6531): internationalised addresses and raw UTF-8 headers
    (RFC 6532) are taken and kept as the bytes that came."""
    handler = DeskSMTPHandler(domain=settings.MAIL_DOMAIN, accept=accept or keep_message)
    return DeskController(
        handler,
        hostname=host,
        port=port,
        server_hostname=settings.MAIL_DOMAIN,
        ident="Tandem service desk",
        data_size_limit=max_message_bytes or settings.MAIL_MAX_MESSAGE_BYTES,
        enable_SMTPUTF8=True,
    )
