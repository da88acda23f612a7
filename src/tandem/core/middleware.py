"""Per-request context: request id, the acting principal, and its tenant scope."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from tandem.core.principal import ANONYMOUS, Principal, acting_as
from tandem.core.request_context import reset_request_id, set_request_id
from tandem.core.scoping import principal_scope, system_context

#: Paths a signed-in user who still has to set up a second factor may reach.
MFA_ENROLMENT_PATHS = ("/account/mfa/", "/logout/", "/static/")


class RequestIdMiddleware:
    """Give each request an id (or keep a sane incoming X-Request-ID) for audit and logs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        usable = incoming if incoming.isascii() and 8 <= len(incoming) <= 64 else None
        token = set_request_id(usable and "".join(c for c in usable if c.isalnum() or c in "-_"))
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        return response


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class PrincipalMiddleware:
    """Resolve who is acting (session or ``Authorization: Bearer`` token) and scope the request.

    The principal is read on every request: suspending an engagement removes the provider's
    access on its next request, whatever its session or token (its accesses come from a
    per-process cache whose key every access change replaces; see ``accounts.access_cache``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from tandem.accounts.models import User
        from tandem.accounts.principals import (
            has_confirmed_totp,
            resolve_principal,
            resolve_signed_in,
        )
        from tandem.accounts.tokens import find_live_token

        principal: Principal = ANONYMOUS
        request.api_token_invalid = False  # type: ignore[attr-defined]
        auth_header = request.headers.get("Authorization", "")
        if auth_header.startswith("Bearer "):
            with system_context("authenticate an API token"):
                token = find_live_token(auth_header[7:].strip(), ip=_client_ip(request))
                if token is not None:
                    principal = resolve_principal(token.user, token=token)
                    request.api_token = token  # type: ignore[attr-defined]
                else:
                    request.api_token_invalid = True  # type: ignore[attr-defined]
        elif request.user.is_authenticated:
            user: User = request.user  # type: ignore[assignment]
            # Every tenant the person reaches counts for the second factor, through an
            # engagement too: a client that enforces one enforces it on its providers' staff.
            principal, mfa_required = resolve_signed_in(user)
            if mfa_required and not has_confirmed_totp(user):
                principal = Principal(
                    user_id=principal.user_id, label=principal.label, mfa_pending=True
                )
                if not request.path.startswith(MFA_ENROLMENT_PATHS):
                    if request.path.startswith("/api/"):
                        return JsonResponse(
                            {"detail": "Set up a second factor before using Tandem."},
                            status=403,
                        )
                    return redirect("accounts:mfa-setup")
        request.principal = principal  # type: ignore[attr-defined]
        with acting_as(principal), principal_scope(principal):
            return self.get_response(request)


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
            redirected["HX-Redirect"] = response["Location"]
            return redirected
        return response
