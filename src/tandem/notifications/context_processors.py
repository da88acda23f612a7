"""Template context of every page: the signed-in person's unread notifications (the bell).

The count is read lazily, at most once per request (one ``COUNT`` over the inbox index,
capped at :data:`BELL_CAP`), and only when a template shows it: htmx partials and API
answers never pay for it.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from tandem.notifications.queries import unread_count_capped

#: Counted up to this many; the bell then says "99+".
BELL_CAP = 100


class UnreadBell:
    """The bell of one request: how many notifications are unread, and its label."""

    def __init__(self, principal: Any) -> None:
        self._principal = principal

    @cached_property
    def count(self) -> int:
        principal = self._principal
        if principal is None or not principal.is_authenticated or principal.user_id is None:
            return 0
        return unread_count_capped(principal, cap=BELL_CAP)

    @property
    def label(self) -> str:
        """ "7", or "99+" once the cap is reached."""
        return f"{BELL_CAP - 1}+" if self.count >= BELL_CAP else str(self.count)


def unread_notifications(request: HttpRequest) -> dict[str, Any]:
    bell = getattr(request, "_tandem_bell", None)
    if bell is None:
        # Kept on the request: several templates rendered for one request share one count.
        bell = UnreadBell(getattr(request, "principal", None))
        request._tandem_bell = bell  # type: ignore[attr-defined]
    return {"bell": bell}
