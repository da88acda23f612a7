"""The HTTP API at /api/v1/: one NinjaAPI, the routers every installed app declares
(``TandemAppConfig.api_routers``, in ``INSTALLED_APPS`` order), errors as {"detail": ...}."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from tandem import __version__
from tandem.core.api import AUTH
from tandem.core.errors import Conflict, InvalidInput, Refused
from tandem.core.registry import api_routers

api = NinjaAPI(
    title="Tandem API",
    version=__version__,
    description=(
        "Co-managed IT: tenants, their providers' engagements, people, audit. "
        "Authenticate with a personal API token (`Authorization: Bearer tdm_...`) or a "
        "browser session (with CSRF). A read-only token may only read (GET, HEAD, OPTIONS); "
        "a token never issues tokens and sees only its own membership's. "
        "Objects outside your reach answer 404."
    ),
    auth=AUTH,
    urls_namespace="api",
    docs_url="/docs",
)

for router in api_routers():
    api.add_router("/", router)


@api.exception_handler(InvalidInput)
def invalid_input(request: HttpRequest, exc: InvalidInput) -> HttpResponse:
    detail = [
        {"loc": ["body", name] if name != "__all__" else ["body"], "msg": msg, "type": "invalid"}
        for name, messages in exc.field_errors.items()
        for msg in messages
    ]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    if any(error.get("loc", ())[:1] == ("path",) for error in exc.errors):
        # A path whose id cannot exist (out of range, not a number) names nothing: not
        # found, exactly as an id out of reach or deleted.
        return not_found(request, Http404())
    return api.create_response(request, {"detail": exc.errors}, status=422)


@api.exception_handler(Conflict)
def conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=409)


@api.exception_handler(PermissionDenied)
def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    detail = str(exc) if isinstance(exc, Refused) else "You may not do this here."
    return api.create_response(request, {"detail": detail}, status=403)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, {"detail": "Authentication required: a valid token or session."}, status=401
    )


@api.exception_handler(RequestDataTooBig)
def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return api.create_response(request, {"detail": "Request body too large."}, status=413)
