"""``POST /agent/v1/check-in`` answered in front of Django's middleware stack (decision 0028).

The check-in is the one request every device sends every ``CHECK_IN_INTERVAL`` seconds,
100,000 devices make it 1,000 a second, and through Django's full request it cost about
twice its own work: sessions, CSRF, auth, messages, CSP, htmx, axes and the principal
middleware, URL resolution, none of which the agent's protocol uses. This WSGI wrapper
takes exactly that path and method, and runs the same pieces the full path runs, in the
same order, each from its one implementation:

- the request's lifecycle: ``request_started`` / ``request_finished`` (database connections
  are checked and closed as for any Django request), a request id for logs and audit;
- ``SecurityMiddleware``'s rules (HTTPS redirect, ``nosniff``, HSTS, referrer policy) and
  ``Cache-Control: no-store`` on the answer; the ``Host`` is checked against
  ``ALLOWED_HOSTS``;
- the device credential (``credentials.authenticate_device``), and the device principal's
  fail-closed scope (``principal_scope``: the tenant, narrowed to the device);
- the body with its limits, the parsing, the check-in service and the answer
  (``protocol_views.answer_check_in``, also behind the Django view).

Anything else — another path, another method, a host not allowed, a redirect to HTTPS —
goes to Django untouched (the body is not read before that is known). An error the
handler does not expect is logged on ``django.request`` like Django's own, and answers 500
in the protocol's error shape (the agent retries later).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.core import signals
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from tandem.agents.credentials import authenticate_device
from tandem.agents.protocol_views import answer_check_in, answer_unchanged_check_in
from tandem.agents.wire import encode_answer
from tandem.core.principal import acting_as
from tandem.core.request_context import reset_request_id, set_request_id, usable_request_id
from tandem.core.scoping import principal_scope

CHECK_IN_PATH = "/agent/v1/check-in"

log = logging.getLogger("django.request")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _never_called(request: HttpRequest) -> HttpResponse:  # pragma: no cover - not reached
    raise AssertionError("the fast path calls SecurityMiddleware's hooks, not the middleware")


class CheckInFastPath:
    """A WSGI application: the check-in answered here, every other request by ``django``."""

    def __init__(self, django: WSGIApp) -> None:
        self.django = django
        self.security = SecurityMiddleware(_never_called)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") != CHECK_IN_PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.django(environ, start_response)
        signals.request_started.send(sender=self.__class__, environ=environ)
        request = WSGIRequest(environ)
        try:
            request.get_host()
        except DisallowedHost:
            signals.request_finished.send(sender=self.__class__)
            return self.django(environ, start_response)
        redirect = self.security.process_request(request)
        if redirect is not None:
            signals.request_finished.send(sender=self.__class__)
            return self.django(environ, start_response)
        token = set_request_id(usable_request_id(request.headers.get("X-Request-ID", "")))
        try:
            response = self._answer(request)
        finally:
            reset_request_id(token)
        response = self.security.process_response(request, response)
        add_never_cache_headers(response)
        # ``close()`` (called by the WSGI server) sends ``request_finished``, as Django's.
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        status = f"{response.status_code} {response.reason_phrase}"
        start_response(status, [*response.items(), *_cookies(response)])
        return response

    def _answer(self, request: HttpRequest) -> HttpResponse:
        try:
            authorization = request.headers.get("Authorization", "")
            # Almost every check-in: unchanged, answered in raw SQL (decision 0039).
            quick, payload = answer_unchanged_check_in(request, authorization)
            if quick is not None:
                return quick
            auth = authenticate_device(authorization)
            with acting_as(auth.principal), principal_scope(auth.principal):
                return answer_check_in(request, auth, payload)
        except Exception:
            log.exception(
                "Internal Server Error: %s",
                request.path,
                extra={"status_code": 500, "request": request},
            )
            return HttpResponse(
                encode_answer(
                    {
                        "detail": "The server failed to take the check-in; try again later.",
                        "code": "server_error",
                        "server_time": timezone.now().isoformat(),
                    }
                ),
                status=500,
                content_type="application/json",
            )


def _cookies(response: HttpResponse) -> list[tuple[str, str]]:
    return [("Set-Cookie", c.output(header="")) for c in response.cookies.values()]
