"""Sending requests through the production WSGI fast path (``agents.fast_path``) from
tests, with the test client's conveniences (``.json()``) and without the connection
handling that would close the test's transaction (as Django's ``ClientHandler`` does)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.http import HttpResponse
from django.test import Client

from tandem.agents.fast_path import CHECK_IN_PATH, CheckInFastPath


@contextmanager
def _connections_kept() -> Iterator[None]:
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def through_fast_path(
    environ: dict[str, Any], app: CheckInFastPath | None = None
) -> tuple[HttpResponse, list[Any]]:
    """Call the fast path as a WSGI server would: (response, the headers started)."""
    app = app or CheckInFastPath(WSGIHandler())
    started: list[Any] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        started.extend([status, headers])

    with _connections_kept():
        response = app(environ, start_response)
        b"".join(response)
        response.close()  # type: ignore[attr-defined]
    return response, started  # type: ignore[return-value]


class FastPathClient(Client):
    """A test client whose ``POST /agent/v1/check-in`` goes through the WSGI fast path;
    every other request goes through Django's test handler as usual."""

    def __init__(self, **defaults: Any) -> None:
        super().__init__(**defaults)
        self.app = CheckInFastPath(WSGIHandler())

    def request(self, **request: Any) -> Any:
        environ = self._base_environ(**request)
        if environ["PATH_INFO"] != CHECK_IN_PATH or environ["REQUEST_METHOD"] != "POST":
            return super().request(**request)
        response, _ = through_fast_path(environ, self.app)
        response.json = functools.partial(self._parse_json, response)  # type: ignore[attr-defined]
        response.fast_path = True  # type: ignore[attr-defined]
        return response
