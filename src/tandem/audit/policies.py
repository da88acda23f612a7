"""Who may read the audit log.

- Inside a tenant: owners and auditors the whole tenant's chain, a provider its own party's
  entries.
- The instance chain (entries with no tenant: people created, second factors, password
  resets, sign-in links, provider staff and their tokens): the instance operator reads all
  of it; a provider admin reads the entries tagged with its provider (its own people).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from tandem.core.policies import ScopedPermission, policy
from tandem.core.principal import Principal, ProviderAccess, TenantAccess


def _audit_rule(access: TenantAccess) -> Q:
    if "audit.view_all_auditentry" in access.permissions and access.is_internal:
        return Q()
    if access.party_id is None:
        return Q(pk__in=[])
    return Q(party_id=access.party_id)


def _own_people(access: ProviderAccess) -> Q:
    """Instance-level entries about the provider's own people (memberships at the provider,
    their tokens, people the provider invited)."""
    return Q(tenant__isnull=True, provider_id=access.provider_id)


class AuditReadPermission(ScopedPermission):
    """The tenant and provider rules, plus the whole instance chain for the operator.

    The operator (``is_superuser``, signed in: tokens never carry it) sees no tenant's chain
    by that role alone, only the entries that belong to no tenant.
    """

    def q(self, principal: Principal) -> Q:
        rows = super().q(principal)
        if principal.is_superuser:
            rows |= Q(tenant__isnull=True)
        return rows

    def __call__(self, principal: Principal, obj: Any) -> bool:
        if obj is None and principal.is_superuser:
            return True
        return super().__call__(principal, obj)


policy("audit.view_auditentry")(
    AuditReadPermission("audit.view_auditentry", rule=_audit_rule, provider_rule=_own_people)
)


def _internal_tenant(access: TenantAccess) -> Q:
    return Q() if access.is_internal else Q(pk__in=[])


# Verifying a whole chain reveals how many entries it holds: owners and auditors only.
policy("audit.verify_chain")(
    ScopedPermission("audit.view_all_auditentry", tenant_field="id", rule=_internal_tenant)
)
