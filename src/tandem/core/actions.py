"""Declaring the action of every view and API operation.

``@declare_action("tenancy.view_site")`` marks a handler; the isolation matrix and the
meta-test read the mark. For pages the decorator also enforces it: anonymous users are sent
to the login page and others without the permission anywhere get 404 (object-level checks
happen in the view through ``get_visible_or_404``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from tandem.core import policies

F = TypeVar("F", bound=Callable[..., Any])


def declare_action(action: str) -> Callable[[F], F]:
    """Declare and enforce the action of an API operation.

    A caller whose memberships grant the action nowhere gets 403 before the handler runs:
    the answer is the same whether or not the object exists, so it leaks nothing. Handlers
    then look objects up through the action's policy, so rows of another tenant or outside
    an engagement answer 404.
    """

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def enforced(request: Any, *args: Any, **kwargs: Any) -> Any:
            if not policies.allowed(request.principal, action):
                raise PermissionDenied(f"not allowed: {action}")
            return func(request, *args, **kwargs)

        enforced.tandem_action = action  # type: ignore[attr-defined]
        return enforced  # type: ignore[return-value]

    return wrap


def action_of(func: Callable[..., Any]) -> str | None:
    """The declared action of a handler, looking through ``functools.wraps`` layers."""
    seen = 0
    while func is not None and seen < 10:
        declared = getattr(func, "tandem_action", None)
        if declared:
            return str(declared)
        func = getattr(func, "__wrapped__", None)  # type: ignore[assignment]
        seen += 1
    return None


def page(action: str) -> Callable[[F], F]:
    """Declare and enforce the action of a server-rendered page.

    Anonymous visitors go to the login page; a signed-in user whose memberships grant the
    action nowhere gets 404, because for them the page does not exist.
    """

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
            principal = request.principal
            if action != policies.PUBLIC and not principal.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if action not in (policies.PUBLIC, policies.SIGNED_IN) and not policies.allowed(
                principal, action
            ):
                raise Http404("no such page")
            return view(request, *args, **kwargs)

        wrapped.tandem_action = action  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return wrap
