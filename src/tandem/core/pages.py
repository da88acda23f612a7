"""Helpers shared by the server-rendered pages (views stay thin: parse, look up, call, render)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from tandem.core.errors import Conflict, InvalidInput

#: Status of a page re-rendered because its input was rejected.
INVALID = 422
#: Status of a page re-rendered because the write collided with existing data.
CONFLICT = 409


def add_service_errors(form: forms.Form, exc: InvalidInput) -> None:
    """Show a service's field errors on the matching form fields, the rest above the form."""
    for name, messages in exc.field_errors.items():
        field = name if name in form.fields else None
        for message in messages:
            prefix = "" if field is not None or name == "__all__" else f"{name}: "
            form.add_error(field, prefix + message)


def safe_next(request: HttpRequest, default: str) -> str:
    """The ``next`` target of a form or query string if it is a path on this site, else
    ``default``.

    Only an absolute path (``/tickets/4/``) is kept: ``next=foo`` was taken for a URL name
    by ``redirect()``, which failed to find it (a server error), and any other relative
    target would land somewhere that depends on the page it was sent from.
    """
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def submit_form(
    request: HttpRequest, form: forms.Form, write: Callable[[dict[str, Any]], Any]
) -> tuple[Any, int]:
    """Validate a POSTed form and call ``write`` (one service call) with its cleaned data.

    Returns ``(result, status)``: the service's result and 200 on success, ``None`` and 422
    when the form or the service rejected the input (errors are on the form), ``None`` and
    409 on a conflict (its message is shown above the form). A GET returns ``(None, 200)``.
    """
    if request.method != "POST":
        return None, 200
    if not form.is_valid():
        return None, INVALID
    try:
        return write(form.cleaned_data), 200
    except InvalidInput as exc:
        add_service_errors(form, exc)
        return None, INVALID
    except Conflict as exc:
        form.add_error(None, str(exc))
        return None, CONFLICT
