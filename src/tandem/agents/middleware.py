"""The device credential: a principal of its own, resolved on ``/agent/v1/`` only
(decision 0027).

Runs inside ``accounts.middleware.PrincipalMiddleware``. On an agent path it replaces
whatever that resolved (a browser session counts for nothing there) with the device's
principal, or ``ANONYMOUS`` with the reason the credential was refused, and scopes the
request to that device's tenant. Everywhere else it does nothing, so a device credential
sent to ``/api/v1/`` or a page is never a credential there (it does not have the API
token's ``tdm_`` form, and pages ignore bearer headers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django.http import HttpRequest, HttpResponse

from tandem.agents.credentials import authenticate_device
from tandem.core.principal import acting_as
from tandem.core.request import TandemRequest
from tandem.core.scoping import principal_scope

AGENT_PATH = "/agent/v1/"


class DeviceCredentialMiddleware:
    """Resolve ``Authorization: Bearer tdd_...`` on ``/agent/v1/`` into a device principal."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, http_request: HttpRequest) -> HttpResponse:
        if not http_request.path_info.startswith(AGENT_PATH):
            return self.get_response(http_request)
        request = cast(TandemRequest, http_request)
        auth = authenticate_device(request.headers.get("Authorization", ""))
        request.device_credential = auth.credential  # type: ignore[attr-defined]
        #: (code, detail) when a credential was sent and refused; None when none was sent.
        request.device_refusal = auth.refusal  # type: ignore[attr-defined]
        request.principal = auth.principal
        with acting_as(auth.principal), principal_scope(auth.principal):
            return self.get_response(request)
