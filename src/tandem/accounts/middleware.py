"""Who is acting: the principal of a request (session or API token), and its tenant scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from tandem.accounts.models import User
from tandem.accounts.principals import has_confirmed_totp, resolve_principal, resolve_signed_in
from tandem.accounts.tokens import find_live_token
from tandem.core.principal import ANONYMOUS, Principal, acting_as
from tandem.core.request import TandemRequest
from tandem.core.scoping import principal_scope, system_context

#: Paths a signed-in user who still has to set up a second factor may reach.
MFA_ENROLMENT_PATHS = ("/account/mfa/", "/logout/", "/static/")
#: Where an ``Authorization: Bearer`` token is a credential. Pages ignore the header: a
#: token is for programs, a page for a person who signed in (decision 0016).
API_PATHS = ("/api/",)
#: Methods that read. A read-only token is refused every other method, whatever the
#: operation (decision 0016): one gate here instead of a check per endpoint.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY_TOKEN_REFUSAL = (
    "This API token is read-only: it may only read (GET, HEAD, OPTIONS). "
    "Use a token with the write scope, issued on your API tokens page."
)


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class PrincipalMiddleware:
    """Resolve who is acting (session or ``Authorization: Bearer`` token) and scope the request.

    The principal is read on every request: suspending an engagement removes the provider's
    access on its next request, whatever its session or token (its accesses come from a
    per-process cache whose key every access change replaces; see ``accounts.access_cache``).

    Tokens count on the API only, and a read-only token is refused any method that is not a
    read before any view runs (docs/decisions/0016-api-token-boundaries.md).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, http_request: HttpRequest) -> HttpResponse:
        # From here on the request is a TandemRequest: this is where it becomes one.
        request = cast(TandemRequest, http_request)
        principal: Principal = ANONYMOUS
        request.api_token_invalid = False
        auth_header = request.headers.get("Authorization", "")
        if auth_header.startswith("Bearer ") and request.path_info.startswith(API_PATHS):
            with system_context("authenticate an API token"):
                token = find_live_token(auth_header[7:].strip(), ip=_client_ip(request))
                if token is not None:
                    principal = resolve_principal(token.user, token=token)
                    request.api_token = token
                else:
                    request.api_token_invalid = True
            if principal.token_read_only and request.method not in SAFE_METHODS:
                return JsonResponse({"detail": READ_ONLY_TOKEN_REFUSAL}, status=403)
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
        request.principal = principal
        with acting_as(principal), principal_scope(principal):
            return self.get_response(request)
