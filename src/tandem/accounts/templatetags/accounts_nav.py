"""Template helpers of the account navigation."""

from __future__ import annotations

from typing import Any

from django import template

from tandem.accounts.services import is_requester_somewhere

register = template.Library()


@register.simple_tag
def is_requester(principal: Any) -> bool:
    """True if the principal is a requester in some tenant (they get the portal link)."""
    return bool(principal is not None and is_requester_somewhere(principal))
