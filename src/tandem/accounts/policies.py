"""Who may see and manage memberships, and read roles.

Tenant memberships are managed by the tenant's owners; provider memberships (the provider's
staff) by the provider's admins. A provider never sees the tenant's own people list. API
tokens are issued by their holder, signed in (never by another token).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from tandem.core.policies import ScopedPermission, policy
from tandem.core.principal import Principal, ProviderAccess


def _own_staff(access: ProviderAccess) -> Q:
    return Q(provider_id=access.provider_id)


for _verb in ("view", "add", "change"):
    policy(f"accounts.{_verb}_membership")(
        ScopedPermission(
            f"accounts.{_verb}_membership", internal_only=True, provider_rule=_own_staff
        )
    )


@policy("accounts.view_role")
def view_role(principal: Principal, role: Any) -> bool:
    """Roles are instance-wide data: anyone with any membership may read them."""
    return bool(principal.tenant_accesses or principal.provider_accesses or principal.is_superuser)


@policy("accounts.add_apitoken")
def add_apitoken(principal: Principal, obj: Any) -> bool:
    """Only a person signed in issues API tokens: a token never issues another, so a leaked
    token cannot outlive its revocation through a child (decision 0016)."""
    return not principal.is_token
