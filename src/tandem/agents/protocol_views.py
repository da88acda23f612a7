"""``/agent/v1/``: the endpoints the agent speaks (decision 0025), as plain views.

Not the ninja API: bodies arrive gzip-compressed and errors carry a ``code`` the agent acts
on. Handlers are thin: read the body (``wire``), call one service, answer JSON. The device
principal was resolved by ``agents.middleware`` (decision 0027); no other credential counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tandem.agents.checkin_services import check_in
from tandem.agents.credentials import DeviceAuthentication
from tandem.agents.services import CHECK_IN_INTERVAL, enrol_device
from tandem.agents.unchanged_services import check_in_unchanged
from tandem.agents.wire import (
    CheckInRequest,
    EnrolRequest,
    WireError,
    decode_body,
    encode_answer,
    parse,
)
from tandem.core.actions import page
from tandem.core.policies import PUBLIC
from tandem.core.principal import system_principal
from tandem.core.request import TandemRequest


def _json(payload: dict[str, Any], status: int = 200) -> HttpResponse:
    return HttpResponse(encode_answer(payload), status=status, content_type="application/json")


def _error(status: int, code: str, detail: str) -> HttpResponse:
    return _json(
        {"detail": detail, "code": code, "server_time": timezone.now().isoformat()}, status
    )


def _body(request: HttpRequest) -> Any:
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise WireError(413, "too_large", "Request body too large.") from exc
    return decode_body(raw, content_encoding=request.headers.get("Content-Encoding", ""))


def _answering_errors(view: Callable[[TandemRequest], HttpResponse]) -> Any:
    def wrapped(request: TandemRequest) -> HttpResponse:
        try:
            return view(request)
        except WireError as error:
            return _error(error.status, error.code, error.detail)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# ``PUBLIC`` as pages go: no session counts here. The enrolment token (in the body) or the
# device credential (resolved by the middleware) is checked by the handler itself.
@page(PUBLIC)
@csrf_exempt
@require_POST
@_answering_errors
def enrol(request: TandemRequest) -> JsonResponse:
    """Trade an enrolment token for a device id and credential."""
    payload = parse(EnrolRequest, _body(request))
    enrolment = enrol_device(
        actor=system_principal("enrol a device with an enrolment token"),
        raw_token=payload.token,
        request=payload,
    )
    return JsonResponse(
        {
            "device_id": str(enrolment.device.pk),
            "credential": enrolment.credential,
            "check_in_interval": CHECK_IN_INTERVAL,
            "server_time": timezone.now().isoformat(),
        },
        status=201,
    )


def answer_unchanged_check_in(
    request: HttpRequest, authorization: str
) -> tuple[HttpResponse | None, CheckInRequest | None]:
    """The fast path's first try (decision 0039): an unchanged check-in or a heartbeat
    answered by ``unchanged_services`` in raw SQL, before any credential is resolved
    through the ORM. (answer, body read): the answer is None when the request is anything
    else (nothing was written), and the body, when it parsed, is handed to
    :func:`answer_check_in` so it is not read twice. A body that does not parse is left
    to the full path, which refuses it in its own order (credential first)."""
    if not authorization.startswith("Bearer "):
        return None, None
    try:
        payload = parse(CheckInRequest, _body(request))
    except WireError:
        return None, None
    answer = check_in_unchanged(raw_credential=authorization[7:].strip(), request=payload)
    return (None if answer is None else _json(answer)), payload


def answer_check_in(
    request: HttpRequest, auth: DeviceAuthentication, payload: CheckInRequest | None = None
) -> HttpResponse:
    """The answer to ``POST /agent/v1/check-in`` once the credential is resolved (``auth``)
    and the request runs as the device's principal in its scope. The one implementation
    behind both the Django view below and the WSGI fast path (``agents.fast_path``,
    decision 0028), so they cannot answer differently. ``payload``: the body, when the
    fast path already read it."""
    try:
        if auth.credential is None:
            code, detail = auth.refusal or (
                "unauthenticated",
                "A device credential is required (Authorization: Bearer).",
            )
            return _error(401, code, detail)
        if payload is None:
            payload = parse(CheckInRequest, _body(request))
        return _json(check_in(actor=auth.principal, credential=auth.credential, request=payload))
    except WireError as error:
        return _error(error.status, error.code, error.detail)


@page(PUBLIC)
@csrf_exempt
@require_POST
def check_in_view(request: TandemRequest) -> HttpResponse:
    """A device's reports, oldest first; the answer lists what was accepted."""
    auth = DeviceAuthentication(
        request.principal,
        credential=getattr(request, "device_credential", None),
        refusal=getattr(request, "device_refusal", None),
    )
    return answer_check_in(request, auth)
