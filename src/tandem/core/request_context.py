"""The id of the request (or task) being handled, recorded in audit entries and logs."""

from __future__ import annotations

import contextvars
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("tandem_request_id", default="")


def current_request_id() -> str:
    return _request_id.get()


def set_request_id(value: str | None = None) -> contextvars.Token[str]:
    return _request_id.set(value or uuid.uuid4().hex)


def reset_request_id(token: contextvars.Token[str]) -> None:
    _request_id.reset(token)


def usable_request_id(incoming: str) -> str | None:
    """An incoming ``X-Request-ID`` kept when sane (8 to 64 ASCII characters, only letters,
    digits, ``-`` and ``_`` kept), else None (a fresh id is made)."""
    usable = incoming if incoming.isascii() and 8 <= len(incoming) <= 64 else None
    return usable and "".join(c for c in usable if c.isalnum() or c in "-_")
