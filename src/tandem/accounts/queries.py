"""Reads about people and access."""

from __future__ import annotations

from django.db.models import QuerySet

from tandem.accounts.models import ApiToken, Membership, Role
from tandem.core.policies import get_visible_or_404, visible
from tandem.core.principal import Principal
from tandem.core.scoping import system_context


def memberships(
    principal: Principal, action: str = "accounts.view_membership"
) -> QuerySet[Membership]:
    """Tenant memberships where the principal manages people, plus its providers' staff.

    Provider staff rows have no tenant, so the base query runs in a system context; the
    policy's filter is built from the principal alone and never widens to all rows.
    """
    with system_context("memberships of tenants and providers the principal manages"):
        base = Membership.objects.select_related("user", "role")
        return visible(principal, action, base)


def membership(principal: Principal, membership_id: int) -> Membership:
    with system_context("one membership, filtered by the principal's policy"):
        base = Membership.objects.select_related("user", "role")
        return get_visible_or_404(principal, "accounts.view_membership", base, pk=membership_id)


def roles(principal: Principal) -> QuerySet[Role]:
    return visible(principal, "accounts.view_role", Role.objects.all())


def own_tokens(principal: Principal) -> QuerySet[ApiToken]:
    """A person's own tokens; nobody lists another person's tokens.

    A request made with a token sees only the tokens of that token's membership: a token
    carries one membership's access, and the person's other memberships are none of its
    business (decision 0016).
    """
    if principal.user_id is None:
        return ApiToken.objects.none()
    rows = ApiToken.objects.filter(user_id=principal.user_id)
    if principal.is_token:
        rows = rows.filter(membership_id=principal.token_membership_id or 0)  # 0: no row
    return rows


def own_memberships(principal: Principal) -> QuerySet[Membership]:
    """The person's active memberships; for a token, only the one it acts for."""
    with system_context("the principal's own memberships"):
        if principal.user_id is None:
            return Membership.objects.none()
        rows = Membership.objects.filter(user_id=principal.user_id, is_active=True)
        if principal.is_token:
            rows = rows.filter(pk=principal.token_membership_id or 0)  # 0: no row
        return rows.select_related("role", "tenant", "provider")
