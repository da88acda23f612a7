"""Who may see and do what in tenancy. Rules for provider accesses follow the engagement scope.

An internal access (tenant owner, internal IT, auditor, requester) sees the whole tenant as
far as its role allows. A provider access sees only what its engagement covers.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from tandem.core.policies import ScopedPermission, policy
from tandem.core.principal import Principal, ProviderAccess, TenantAccess
from tandem.tenancy.choices import PartyKind


def _site_rule(access: TenantAccess) -> Q:
    if access.site_ids is None:
        return Q()
    return Q(pk__in=sorted(access.site_ids))


def _asset_group_rule(access: TenantAccess) -> Q:
    if access.asset_group_ids is not None:
        return Q(pk__in=sorted(access.asset_group_ids))
    if access.site_ids is not None:
        return Q(site_id__in=sorted(access.site_ids))
    return Q()


def _service_area_rule(access: TenantAccess) -> Q:
    if access.service_area_ids is None:
        return Q()
    return Q(pk__in=sorted(access.service_area_ids))


def _engagement_rule(access: TenantAccess) -> Q:
    # A provider sees its own engagement, never another provider's mandate in the tenant.
    return Q() if access.provider_id is None else Q(provider_id=access.provider_id)


def _own_provider_engagements(access: ProviderAccess) -> Q:
    return Q(provider_id=access.provider_id)


def _party_rule(access: TenantAccess) -> Q:
    if access.provider_id is None:
        return Q()
    return Q(kind=PartyKind.INTERNAL) | Q(provider_id=access.provider_id)


policy("tenancy.view_tenant")(ScopedPermission("tenancy.view_tenant", tenant_field="id"))
# Managing the tenant and its mandates is the tenant's own business: provider roles never
# count here, whatever permissions they carry.
policy("tenancy.change_tenant")(
    ScopedPermission("tenancy.change_tenant", tenant_field="id", internal_only=True)
)

policy("tenancy.view_engagement")(
    ScopedPermission(
        "tenancy.view_engagement",
        rule=_engagement_rule,
        provider_rule=_own_provider_engagements,
    )
)
for _action in ("grant", "rescope", "suspend", "end"):
    policy(f"tenancy.{_action}_engagement")(
        ScopedPermission(f"tenancy.{_action}_engagement", internal_only=True)
    )
policy("tenancy.accept_engagement")(
    ScopedPermission(
        "tenancy.accept_engagement",
        rule=lambda access: Q(pk__in=[]),
        provider_rule=_own_provider_engagements,
    )
)
policy("tenancy.view_party")(ScopedPermission("tenancy.view_party", rule=_party_rule))

for _verb in ("view", "add", "change"):
    policy(f"tenancy.{_verb}_site")(ScopedPermission(f"tenancy.{_verb}_site", rule=_site_rule))
    policy(f"tenancy.{_verb}_assetgroup")(
        ScopedPermission(f"tenancy.{_verb}_assetgroup", rule=_asset_group_rule)
    )
    policy(f"tenancy.{_verb}_servicearea")(
        ScopedPermission(f"tenancy.{_verb}_servicearea", rule=_service_area_rule)
    )


@policy("tenancy.view_provider")
def view_provider(principal: Principal, provider: Any) -> bool:
    """Any signed-in member of a tenant or provider may read the provider directory (names
    only): tenant owners need it to grant engagements."""
    return bool(principal.tenant_accesses or principal.provider_accesses or principal.is_superuser)


@policy("tenancy.change_provider")
def change_provider(principal: Principal, provider: Any) -> bool:
    """A provider's own admins manage its settings (name, enforced second factor)."""
    if provider is None:
        return bool(principal.provider_accesses_with("tenancy.change_provider"))
    return bool(principal.provider_accesses_with("tenancy.change_provider", provider.pk))


@policy("tenancy.add_tenant")
def add_tenant(principal: Principal, obj: Any) -> bool:
    """Only the instance operator creates tenants."""
    return principal.is_superuser


@policy("tenancy.add_provider")
def add_provider(principal: Principal, obj: Any) -> bool:
    """Only the instance operator creates providers."""
    return principal.is_superuser
