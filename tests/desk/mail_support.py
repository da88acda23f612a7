"""What the mail suites share: Tandem's own SMTP listener on 127.0.0.1 (sharing the test's
database connection, so what it keeps is inside the test's transaction and its processing
runs through django-tasks' immediate backend on "commit"), an in-process SMTP server standing
in for the relay, and a way to write a message."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connections

from tandem.core.scoping import system_context
from tandem.servicedesk.mail import inbound as mail_inbound
from tandem.servicedesk.mail import listener as mail_listener
from tandem.servicedesk.mail.models import InboundMessage

DOMAIN = "tandem.localhost"
DESK = f"acme@{DOMAIN}"
REQUESTER = "requester@acme.test"
LISTENER_LIMIT = 64 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Outbox:
    """A real SMTP server that keeps every message it is given."""

    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


@dataclass
class Listener:
    port: int
    capture: Any

    def send(
        self, raw: bytes, *, to: str = DESK, sender: str = REQUESTER, utf8: bool = False
    ) -> InboundMessage:
        """Deliver ``raw`` over SMTP; return the kept (and by then processed) message.
        ``utf8`` sends it with SMTPUTF8 (RFC 6531), as internationalised mail is sent."""
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # SMTP lines end in CRLF
        with (
            self.capture(execute=True),
            smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.test") as smtp,
        ):
            smtp.sendmail(sender, [to], raw, mail_options=["SMTPUTF8"] if utf8 else [])
        with system_context("test: the newest inbound mail"):
            return InboundMessage.objects.order_by("-id").first()  # type: ignore[return-value]


@pytest.fixture
def mail_settings(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MAIL_DOMAIN = DOMAIN
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.DEFAULT_FROM_EMAIL = "Tandem <desk@tandem.example>"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return settings


@pytest.fixture
def outbox(mail_settings) -> Iterator[Outbox]:  # type: ignore[no-untyped-def]
    sink = Outbox()
    port = free_port()
    server = Controller(sink, hostname="127.0.0.1", port=port, server_hostname="relay.test")
    server.start()
    mail_settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    mail_settings.EMAIL_HOST, mail_settings.EMAIL_PORT = "127.0.0.1", port
    yield sink
    server.stop()


@pytest.fixture
def listener(world, mail_settings, django_capture_on_commit_callbacks) -> Iterator[Listener]:  # type: ignore[no-untyped-def]
    shared = connections["default"]
    shared.inc_thread_sharing()

    def accept(**kwargs: Any) -> int:
        # In aiosmtpd's thread: use the test's connection, so the kept message is inside the
        # test's transaction and its on-commit processing is captured by the test.
        connections["default"] = shared
        try:
            return mail_inbound.receive_message(**kwargs).pk
        finally:
            del connections["default"]

    port = free_port()
    server = mail_listener.listener(
        host="127.0.0.1", port=port, accept=accept, max_message_bytes=LISTENER_LIMIT
    )
    server.start()
    yield Listener(port, django_capture_on_commit_callbacks)
    server.stop()
    shared.dec_thread_sharing()


def make_mail(
    subject: str = "Printer on the 3rd floor jams",
    body: str = "It jams on every second page.",
    *,
    sender: str = REQUESTER,
    to: str = DESK,
    headers: dict[str, str] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="acme.test")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes()
