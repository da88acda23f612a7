"""Who may read the audit log: owners and auditors the whole tenant, a provider its own party."""

from __future__ import annotations

from django.db.models import Q

from tandem.core.policies import ScopedPermission, policy
from tandem.core.principal import TenantAccess


def _audit_rule(access: TenantAccess) -> Q:
    if "audit.view_all_auditentry" in access.permissions and access.is_internal:
        return Q()
    if access.party_id is None:
        return Q(pk__in=[])
    return Q(party_id=access.party_id)


policy("audit.view_auditentry")(ScopedPermission("audit.view_auditentry", rule=_audit_rule))


def _internal_tenant(access: TenantAccess) -> Q:
    return Q() if access.is_internal else Q(pk__in=[])


# Verifying a whole chain reveals how many entries it holds: owners and auditors only.
policy("audit.verify_chain")(
    ScopedPermission("audit.view_all_auditentry", tenant_field="id", rule=_internal_tenant)
)
