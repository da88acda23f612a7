"""Per-request plumbing every app shares: request id, no-store, htmx form redirects.

The principal is resolved by ``accounts.middleware``: core knows no app."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from tandem.core.request_context import reset_request_id, set_request_id, usable_request_id


class RequestIdMiddleware:
    """Give each request an id (or keep a sane incoming X-Request-ID) for audit and logs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = set_request_id(usable_request_id(request.headers.get("X-Request-ID", "")))
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        return response


class NoStoreMiddleware:
    """Mark every response Django renders ``Cache-Control: no-store`` (and private).

    Pages and API answers carry a person's data or a CSRF token; no browser cache, proxy or
    shared computer should keep them after sign-out. Static files are served by WhiteNoise,
    which sits above this middleware and answers before it runs, so they stay cacheable.
    One rule for every dynamic response (signed in or not) is simpler to keep true than a
    rule per principal (decision 0016).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response


def _full_load(target: str, current: str) -> str:
    """``target``, without its fragment when it is the page the browser shows: htmx sets
    ``location.href``, and a URL that differs from the current one only by a fragment (or
    not at all, with one) scrolls the page instead of loading it, so a saved note stayed
    invisible until the next reload."""
    wanted, current_parts = urlsplit(target), urlsplit(current)
    if wanted.fragment and (wanted.path, wanted.query) == (current_parts.path, current_parts.query):
        return urlunsplit(wanted._replace(fragment=""))
    return target


class HtmxFormRedirectMiddleware:
    """An htmx form submission answered with a redirect sends the browser there.

    Forms that re-render in place with their errors (``hx-post`` with ``hx-select``) would
    otherwise follow a success's redirect inside the request and swap one fragment of the
    next page into the form, losing the rest of it and its message. A redirect after a
    non-GET htmx request becomes ``HX-Redirect``: a full page load, as without script.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.method != "GET"
            and request.headers.get("HX-Request") == "true"
            and response.status_code in (301, 302, 303)
        ):
            redirected = HttpResponse(status=204)
            redirected["HX-Redirect"] = _full_load(
                response["Location"], request.headers.get("HX-Current-URL", "")
            )
            return redirected
        return response
