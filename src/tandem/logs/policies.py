"""Who manages ingest sources (decision 0035) and who searches archived events (0045).

``logs.manage_sources`` is held by the tenant's owners and internal IT and by its
providers' admins. A source's logs may name any host of the tenant, so a provider reaches
the sources only when its engagement covers the whole tenant: an engagement narrowed to
sites or asset groups sees none (it could otherwise read counters of, and mint tokens for,
logs from hosts it was never given).

``logs.search_events`` reads the tenant's raw events: its own IT, and a provider whose
engagement covers the tenant's *security monitoring* area. An engagement narrowed to sites
or asset groups reads only the events the devices of its scope sent (the device ingest
recorded, decision 0045; ``event_devices``): an event with no recorded device is out of
every narrowed scope (fail closed; a host name is not reliably a known device). The archive's
retention is set by the tenant's own IT (``logs.change_archivesettings``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from tandem.core.policies import ScopedPermission, policy
from tandem.core.principal import Principal, TenantAccess
from tandem.core.scoping import within_tenant
from tandem.logs.permissions import (
    CHANGE_ARCHIVE_SETTINGS,
    MANAGE_SOURCES,
    SEARCH_EVENTS,
    SECURITY_AREA_KEY,
)
from tandem.tenancy.models import ServiceArea


def whole_tenant_scope(access: TenantAccess) -> Q:
    if access.provider_id is None:
        return Q()
    if access.site_ids is not None or access.asset_group_ids is not None:
        return Q(pk__in=[])
    return Q()


manage_sources = policy(MANAGE_SOURCES)(ScopedPermission(MANAGE_SOURCES, rule=whole_tenant_scope))
change_archive_settings = policy(CHANGE_ARCHIVE_SETTINGS)(
    ScopedPermission(CHANGE_ARCHIVE_SETTINGS, internal_only=True)
)


def may_manage_in(principal: Principal, tenant_id: int) -> bool:
    """May ``principal`` add a source to this tenant? One of its accesses with the
    permission must cover the whole tenant (the rule above, for a source not yet made)."""
    if principal.is_system:
        return True
    return any(
        access.provider_id is None or (access.site_ids is None and access.asset_group_ids is None)
        for access in principal.accesses_with(MANAGE_SOURCES, tenant_id)
    )


def security_area_id(tenant_id: int) -> int | None:
    """The tenant's security monitoring service area (None when it has none)."""
    with within_tenant(tenant_id):
        return (
            ServiceArea.objects.filter(tenant_id=tenant_id, key=SECURITY_AREA_KEY)
            .values_list("pk", flat=True)
            .first()
        )


def searches_events(access: TenantAccess, area_id: int | None) -> bool:
    """Whether one access searches its tenant's events (plain data, no query): its own IT
    (not a requester), or an engagement covering security monitoring (when narrowed, the
    events of its devices only: ``narrowed``)."""
    if access.provider_id is None:
        return access.party_id is not None
    return area_id is not None and area_id in (access.service_area_ids or ())


def narrowed(access: TenantAccess) -> bool:
    """Whether an access reads only some devices' events (a provider's engagement narrowed
    to sites or asset groups)."""
    return access.provider_id is not None and (
        access.site_ids is not None or access.asset_group_ids is not None
    )


@policy(SEARCH_EVENTS)
def search_events(principal: Principal, tenant: Any) -> bool:
    """Holds ``logs.search_events`` somewhere (no object), or through an access that
    searches this tenant's events (``searches_events``)."""
    if tenant is None:
        return bool(principal.accesses_with(SEARCH_EVENTS))
    accesses = principal.accesses_with(SEARCH_EVENTS, tenant.pk)
    if not accesses:
        return False
    area_id = security_area_id(tenant.pk)
    return any(searches_events(access, area_id) for access in accesses)
