"""Mail on a machine without an SMTP relay (``scripts/run``, a laptop): nothing is sent.

Django's console backend printed every message whole, headers and bodies, into the worker's
output, where a notice burst buried the server's own lines. This backend prints one line per
message (recipients and subject) and keeps the message as an ``.eml`` file, so the links it
carries (password reset, sign-in links) can still be opened.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

_lock = threading.Lock()


def _printable(text: str) -> str:
    # Subjects and addresses can come from outside (inbound mail): no control characters to
    # the operator's terminal.
    return "".join(c if c.isprintable() else "?" for c in text)


class ConsoleSummaryBackend(BaseEmailBackend):
    """``mail to a@example.com: Subject  (var/mail/20261205-204131-000001.eml)`` per message."""

    def __init__(self, *args: Any, stream: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stream = stream or sys.stdout
        self.folder = Path(settings.DATA_DIR) / "mail"

    def _keep(self, message: EmailMessage) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-%f")
        with _lock:
            path = self.folder / f"{stamp}.eml"
            counter = 1
            while path.exists():
                path = self.folder / f"{stamp}-{counter}.eml"
                counter += 1
            path.write_bytes(message.message().as_bytes())
        return path

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            try:
                path = self._keep(message)
            except OSError:
                if not self.fail_silently:
                    raise
                continue
            to = _printable(", ".join(message.recipients())) or "-"
            subject = _printable(str(message.subject)) or "(no subject)"
            self.stream.write(f"mail to {to}: {subject}  ({path})\n")
            self.stream.flush()
            sent += 1
        return sent
