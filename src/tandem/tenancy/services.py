"""Every write in tenancy. Keyword-only, actor first, one transaction, audited inside it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Protocol

from django.db import IntegrityError, transaction
from django.utils import timezone

from tandem.audit.services import diff, record_audit
from tandem.core import events
from tandem.core.errors import Conflict, require
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.scoping import system_context, within_tenant
from tandem.core.validation import (
    clean_country,
    clean_name,
    clean_slug,
    clean_text,
    clean_time_zone,
)
from tandem.tenancy.choices import (
    DEFAULT_SERVICE_AREAS,
    ENGAGEMENT_ACTIONS,
    EngagementStatus,
    PartyKind,
)
from tandem.tenancy.events import (
    EngagementAccepted,
    EngagementEnded,
    EngagementResumed,
    EngagementSuspended,
)
from tandem.tenancy.models import (
    AssetGroup,
    Engagement,
    Party,
    Provider,
    ServiceArea,
    Site,
    Tenant,
)

MAX_SCOPE_ITEMS = 500


def _snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in fields}


def _save_unique(obj: Any, *, what: str) -> None:
    """Save, turning a unique-constraint race into a clear :class:`Conflict`."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise Conflict(f"A {what} with that name already exists.") from exc


# --- Tenants and providers (instance operator) -------------------------------------------

# A new tenant's first owner is a person with a membership: accounts' business. Accounts sits
# above tenancy (a membership names a tenant), so tenancy asks through this seam, which
# ``AccountsConfig.ready`` fills, instead of importing accounts (docs/architecture.md,
# "Dependencies").


class OwnerMaker(Protocol):
    def __call__(self, *, actor: Principal, tenant: Tenant, email: str) -> None: ...


_owner_maker: OwnerMaker | None = None


def register_owner_maker(maker: OwnerMaker) -> None:
    """Name the function that makes a person a new tenant's owner (accounts does, once)."""
    global _owner_maker
    _owner_maker = maker


# An app above tenancy that keeps a row per tenant (the desk's settings) makes it in the
# tenant's own transaction through this seam, filled in its ``AppConfig.ready``.


class TenantSetUp(Protocol):
    def __call__(self, *, tenant: Tenant) -> object: ...


_tenant_set_ups: list[TenantSetUp] = []


def register_tenant_set_up(set_up: TenantSetUp) -> None:
    """Name a function that sets a new tenant up for an app above tenancy."""
    if set_up not in _tenant_set_ups:
        _tenant_set_ups.append(set_up)


def create_tenant(
    *,
    actor: Principal,
    name: str,
    slug: str,
    time_zone: str = "UTC",
    country: str = "",
    require_mfa: bool = False,
) -> Tenant:
    """Create a tenant with its internal IT party, the default service areas and what the
    apps above tenancy set up for it (``register_tenant_set_up``)."""
    if not actor.is_system:
        authorize(actor, "tenancy.add_tenant")
    name = clean_name(name, max_length=200)
    slug = clean_slug(slug)
    time_zone = clean_time_zone(time_zone)
    country = clean_country(country)
    with transaction.atomic(), system_context("create a tenant"):
        if Tenant.objects.filter(slug=slug).exists():
            raise Conflict(f"A tenant with slug {slug!r} already exists.")
        if Tenant.objects.filter(name__iexact=name).exists():
            raise Conflict(f"A tenant named {name!r} already exists.")
        tenant = Tenant(
            name=name, slug=slug, time_zone=time_zone, country=country, require_mfa=require_mfa
        )
        _save_unique(tenant, what="tenant")
        Party.objects.create(tenant=tenant, kind=PartyKind.INTERNAL, name=f"{name} IT")
        ServiceArea.objects.bulk_create(
            [
                ServiceArea(tenant=tenant, key=key, name=label)
                for key, label in DEFAULT_SERVICE_AREAS
            ]
        )
        for set_up in _tenant_set_ups:
            set_up(tenant=tenant)
        record_audit(
            actor=actor,
            action="tenancy.create_tenant",
            target=tenant,
            tenant_id=tenant.pk,
            changes=diff({}, _snapshot(tenant, ["name", "slug", "time_zone", "country"])),
        )
    return tenant


def create_tenant_with_owner(
    *,
    actor: Principal,
    name: str,
    slug: str,
    time_zone: str = "UTC",
    country: str = "",
    require_mfa: bool = False,
    owner_email: str | None = None,
) -> Tenant:
    """Create a tenant and, when ``owner_email`` is given, make that person its owner in the
    same transaction (accounts creates the user without a password when they are new: they
    set one through the reset e-mail)."""
    with transaction.atomic():
        tenant = create_tenant(
            actor=actor,
            name=name,
            slug=slug,
            time_zone=time_zone,
            country=country,
            require_mfa=require_mfa,
        )
        if owner_email:
            if _owner_maker is None:  # accounts is always installed; fail loudly if not
                raise RuntimeError("No owner maker registered (accounts is not ready).")
            _owner_maker(actor=actor, tenant=tenant, email=owner_email)
    return tenant


def update_tenant(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str | None = None,
    time_zone: str | None = None,
    country: str | None = None,
    require_mfa: bool | None = None,
) -> Tenant:
    """Change a tenant's settings (name, time zone, country, second-factor enforcement)."""
    authorize(actor, "tenancy.change_tenant", tenant)
    fields = ["name", "time_zone", "country", "require_mfa"]
    before = _snapshot(tenant, fields)
    if name is not None:
        tenant.name = clean_name(name, max_length=200)
    if time_zone is not None:
        tenant.time_zone = clean_time_zone(time_zone)
    if country is not None:
        tenant.country = clean_country(country)
    if require_mfa is not None:
        tenant.require_mfa = require_mfa
    with transaction.atomic(), within_tenant(tenant.pk):
        with system_context("tenant names are unique across the instance"):
            taken = (
                name is not None
                and Tenant.objects.filter(name__iexact=tenant.name).exclude(pk=tenant.pk).exists()
            )
        if taken:
            raise Conflict(f"A tenant named {tenant.name!r} already exists.")
        _save_unique(tenant, what="tenant")
        changes = diff(before, _snapshot(tenant, fields))
        if changes:
            record_audit(
                actor=actor,
                action="tenancy.change_tenant",
                target=tenant,
                tenant_id=tenant.pk,
                changes=changes,
            )
    return tenant


def create_provider(
    *, actor: Principal, name: str, slug: str, require_mfa: bool = False
) -> Provider:
    """Register a provider (MSP/MSSP) on this instance."""
    if not actor.is_system:
        authorize(actor, "tenancy.add_provider")
    name = clean_name(name, max_length=200)
    slug = clean_slug(slug)
    with transaction.atomic():
        if Provider.objects.filter(slug=slug).exists():
            raise Conflict(f"A provider with slug {slug!r} already exists.")
        if Provider.objects.filter(name__iexact=name).exists():
            raise Conflict(f"A provider named {name!r} already exists.")
        provider = Provider(name=name, slug=slug, require_mfa=require_mfa)
        _save_unique(provider, what="provider")
        record_audit(
            actor=actor,
            action="tenancy.create_provider",
            target=provider,
            tenant_id=None,
            changes=diff({}, _snapshot(provider, ["name", "slug", "require_mfa"])),
        )
    return provider


def update_provider(
    *,
    actor: Principal,
    provider: Provider,
    name: str | None = None,
    require_mfa: bool | None = None,
) -> Provider:
    """A provider's admin changes its name or enforces a second factor for all its staff."""
    authorize(actor, "tenancy.change_provider", provider)
    fields = ["name", "require_mfa"]
    before = _snapshot(provider, fields)
    if name is not None:
        provider.name = clean_name(name, max_length=200)
    if require_mfa is not None:
        provider.require_mfa = require_mfa
    with transaction.atomic():
        taken = Provider.objects.filter(name__iexact=provider.name).exclude(pk=provider.pk)
        if name is not None and taken.exists():
            raise Conflict(f"A provider named {provider.name!r} already exists.")
        _save_unique(provider, what="provider")
        changes = diff(before, _snapshot(provider, fields))
        if changes:
            record_audit(
                actor=actor,
                action="tenancy.change_provider",
                target=provider,
                tenant_id=None,
                provider_id=provider.pk,
                changes=changes,
            )
    return provider


# --- Engagements ----------------------------------------------------------------------------


def _resolve_scope(
    tenant: Tenant,
    *,
    service_area_ids: Iterable[int],
    site_ids: Iterable[int],
    asset_group_ids: Iterable[int],
    allowed_actions: Iterable[str],
) -> tuple[list[ServiceArea], list[Site], list[AssetGroup], list[str]]:
    """Check that every scope item exists in this tenant; name the ones that do not."""
    area_ids, site_list, group_list = (
        sorted(set(service_area_ids)),
        sorted(set(site_ids)),
        sorted(set(asset_group_ids)),
    )
    for field, ids in (
        ("service_area_ids", area_ids),
        ("site_ids", site_list),
        ("asset_group_ids", group_list),
    ):
        require(len(ids) <= MAX_SCOPE_ITEMS, field, f"At most {MAX_SCOPE_ITEMS} items.")
    require(bool(area_ids), "service_area_ids", "Choose at least one service area.")
    with system_context("resolve engagement scope within one tenant"):
        areas = list(ServiceArea.objects.filter(tenant=tenant, pk__in=area_ids))
        sites = list(Site.objects.filter(tenant=tenant, pk__in=site_list))
        groups = list(AssetGroup.objects.filter(tenant=tenant, pk__in=group_list))
    for field, ids, found in (
        ("service_area_ids", area_ids, areas),
        ("site_ids", site_list, sites),
        ("asset_group_ids", group_list, groups),
    ):
        missing = sorted(set(ids) - {obj.pk for obj in found})
        require(not missing, field, f"Not found in this tenant: {missing}.")
    actions = sorted(set(allowed_actions))
    unknown = [a for a in actions if a not in ENGAGEMENT_ACTIONS]
    require(not unknown, "allowed_actions", f"Unknown actions: {unknown}.")
    return areas, sites, groups, actions


def _scope_snapshot(engagement: Engagement) -> dict[str, Any]:
    return {
        "service_area_ids": sorted(a.pk for a in engagement.service_areas.all()),
        "site_ids": sorted(s.pk for s in engagement.sites.all()),
        "asset_group_ids": sorted(g.pk for g in engagement.asset_groups.all()),
        "allowed_actions": sorted(engagement.allowed_actions),
        "starts_on": engagement.starts_on,
        "ends_on": engagement.ends_on,
    }


def _check_dates(starts_on: dt.date, ends_on: dt.date | None) -> None:
    require(
        ends_on is None or ends_on >= starts_on, "ends_on", "The end date is before the start date."
    )


def grant_engagement(
    *,
    actor: Principal,
    tenant: Tenant,
    provider: Provider,
    name: str,
    service_area_ids: Iterable[int],
    site_ids: Iterable[int] = (),
    asset_group_ids: Iterable[int] = (),
    allowed_actions: Iterable[str] = (),
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
) -> Engagement:
    """The tenant owner grants a provider a mandate. It starts *pending*: the provider has
    no access until its admin accepts."""
    authorize(actor, "tenancy.grant_engagement", tenant)
    name = clean_name(name, max_length=200)
    starts_on = starts_on or timezone.localdate()
    _check_dates(starts_on, ends_on)
    require(provider.is_active, "provider_id", "This provider is deactivated.")
    areas, sites, groups, actions = _resolve_scope(
        tenant,
        service_area_ids=service_area_ids,
        site_ids=site_ids,
        asset_group_ids=asset_group_ids,
        allowed_actions=allowed_actions,
    )
    with transaction.atomic(), within_tenant(tenant.pk):
        if Engagement.objects.filter(tenant=tenant, name__iexact=name).exists():
            raise Conflict(f"An engagement named {name!r} already exists in this tenant.")
        live = Engagement.objects.filter(
            tenant=tenant,
            provider=provider,
            status__in=[
                EngagementStatus.PENDING,
                EngagementStatus.ACTIVE,
                EngagementStatus.SUSPENDED,
            ],
        )
        if live.exists():
            raise Conflict(
                f"{provider.name} already has an engagement here that has not ended; "
                "rescope that one instead."
            )
        engagement = Engagement(
            tenant=tenant,
            provider=provider,
            name=name,
            allowed_actions=actions,
            starts_on=starts_on,
            ends_on=ends_on,
        )
        _save_unique(engagement, what="engagement")
        engagement.service_areas.set(areas)
        engagement.sites.set(sites)
        engagement.asset_groups.set(groups)
        party_name = provider.name
        if Party.objects.filter(tenant=tenant, name=party_name).exists():
            party_name = f"{provider.name} ({name})"
        Party.objects.create(
            tenant=tenant,
            kind=PartyKind.PROVIDER,
            name=party_name[:200],
            provider=provider,
            engagement=engagement,
        )
        record_audit(
            actor=actor,
            action="tenancy.grant_engagement",
            target=engagement,
            tenant_id=tenant.pk,
            changes=diff(
                {},
                {
                    "provider_id": provider.pk,
                    "name": name,
                    "status": engagement.status,
                    **_scope_snapshot(engagement),
                },
            ),
        )
    return engagement


def accept_engagement(*, actor: Principal, engagement: Engagement) -> Engagement:
    """The provider's admin accepts a pending engagement; access opens from now on."""
    authorize(actor, "tenancy.accept_engagement", engagement)
    if engagement.status != EngagementStatus.PENDING:
        raise Conflict(
            f"Only a pending engagement can be accepted; this one is {engagement.status}."
        )
    return _set_status(
        actor=actor,
        engagement=engagement,
        status=EngagementStatus.ACTIVE,
        reason="accepted by the provider",
        action="tenancy.accept_engagement",
        accepted=True,
    )


def rescope_engagement(
    *,
    actor: Principal,
    engagement: Engagement,
    service_area_ids: Iterable[int] | None = None,
    site_ids: Iterable[int] | None = None,
    asset_group_ids: Iterable[int] | None = None,
    allowed_actions: Iterable[str] | None = None,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None | str = "keep",
) -> Engagement:
    """Change what an engagement covers. Takes effect on the provider's next request."""
    authorize(actor, "tenancy.rescope_engagement", engagement)
    if engagement.status == EngagementStatus.ENDED:
        raise Conflict("An ended engagement cannot be rescoped.")
    with within_tenant(engagement.tenant_id):
        before = _scope_snapshot(engagement)
    areas, sites, groups, actions = _resolve_scope(
        engagement.tenant,
        service_area_ids=before["service_area_ids"]
        if service_area_ids is None
        else service_area_ids,
        site_ids=before["site_ids"] if site_ids is None else site_ids,
        asset_group_ids=before["asset_group_ids"] if asset_group_ids is None else asset_group_ids,
        allowed_actions=before["allowed_actions"] if allowed_actions is None else allowed_actions,
    )
    new_start = starts_on or engagement.starts_on
    new_end = engagement.ends_on if ends_on == "keep" else ends_on
    _check_dates(new_start, new_end)  # type: ignore[arg-type]
    with transaction.atomic(), within_tenant(engagement.tenant_id):
        engagement.starts_on = new_start
        engagement.ends_on = new_end  # type: ignore[assignment]
        engagement.allowed_actions = actions
        engagement.save()
        engagement.service_areas.set(areas)
        engagement.sites.set(sites)
        engagement.asset_groups.set(groups)
        changes = diff(before, _scope_snapshot(engagement))
        if changes:
            record_audit(
                actor=actor,
                action="tenancy.rescope_engagement",
                target=engagement,
                tenant_id=engagement.tenant_id,
                changes=changes,
            )
    return engagement


def suspend_engagement(*, actor: Principal, engagement: Engagement, reason: str) -> Engagement:
    """Suspend a provider's access at once (its next request is refused). Resumable."""
    authorize(actor, "tenancy.suspend_engagement", engagement)
    reason = clean_name(reason, field="reason", max_length=500)
    if engagement.status not in (EngagementStatus.ACTIVE, EngagementStatus.PENDING):
        raise Conflict(
            "Only an active or pending engagement can be suspended; "
            f"this one is {engagement.status}."
        )
    return _set_status(
        actor=actor,
        engagement=engagement,
        status=EngagementStatus.SUSPENDED,
        reason=reason,
        action="tenancy.suspend_engagement",
    )


def resume_engagement(*, actor: Principal, engagement: Engagement, reason: str) -> Engagement:
    """Lift a suspension. An engagement never accepted goes back to pending."""
    authorize(actor, "tenancy.suspend_engagement", engagement)
    reason = clean_name(reason, field="reason", max_length=500)
    if engagement.status != EngagementStatus.SUSPENDED:
        raise Conflict(
            f"Only a suspended engagement can be resumed; this one is {engagement.status}."
        )
    status = EngagementStatus.ACTIVE if engagement.accepted_at else EngagementStatus.PENDING
    return _set_status(
        actor=actor,
        engagement=engagement,
        status=status,
        reason=reason,
        action="tenancy.resume_engagement",
    )


def end_engagement(*, actor: Principal, engagement: Engagement, reason: str) -> Engagement:
    """End a mandate for good. The provider's history stays, attributed to it."""
    authorize(actor, "tenancy.end_engagement", engagement)
    reason = clean_name(reason, field="reason", max_length=500)
    if engagement.status == EngagementStatus.ENDED:
        raise Conflict("This engagement has already ended.")
    return _set_status(
        actor=actor,
        engagement=engagement,
        status=EngagementStatus.ENDED,
        reason=reason,
        action="tenancy.end_engagement",
    )


#: The domain event each status change records.
STATUS_EVENTS = {
    "tenancy.accept_engagement": EngagementAccepted,
    "tenancy.suspend_engagement": EngagementSuspended,
    "tenancy.resume_engagement": EngagementResumed,
    "tenancy.end_engagement": EngagementEnded,
}


def _set_status(
    *,
    actor: Principal,
    engagement: Engagement,
    status: str,
    reason: str,
    action: str,
    accepted: bool = False,
) -> Engagement:
    with transaction.atomic(), within_tenant(engagement.tenant_id):
        # Lock the row so two owners suspending and resuming at once end in a defined state.
        locked = Engagement.objects.select_for_update().get(pk=engagement.pk)
        before = {"status": locked.status, "status_reason": locked.status_reason}
        locked.status = status
        locked.status_reason = reason
        if accepted:
            locked.accepted_at = timezone.now()
        if status == EngagementStatus.ENDED and (
            locked.ends_on is None or locked.ends_on > timezone.localdate()
        ):
            locked.ends_on = max(timezone.localdate(), locked.starts_on)
        locked.save()
        record_audit(
            actor=actor,
            action=action,
            target=locked,
            tenant_id=locked.tenant_id,
            changes=diff(before, {"status": locked.status, "status_reason": reason}),
        )
        events.record(
            STATUS_EVENTS[action](
                tenant_id=locked.tenant_id,
                engagement_id=locked.pk,
                provider_id=locked.provider_id,
                status=locked.status,
                reason=reason,
                actor_user_id=actor.user_id,
                actor_label=actor.label[:200],
            )
        )
    engagement.refresh_from_db()
    return engagement


# --- Sites, asset groups, service areas ---------------------------------------------------


def create_site(
    *, actor: Principal, tenant: Tenant, name: str, address: str = "", time_zone: str = ""
) -> Site:
    """Add a site (office, data centre, cloud region) to a tenant."""
    authorize(actor, "tenancy.add_site", tenant)
    site = Site(
        tenant=tenant,
        name=clean_name(name),
        address=clean_text(address, field="address", max_length=1000),
        time_zone=clean_time_zone(time_zone, allow_blank=True),
    )
    with transaction.atomic(), within_tenant(tenant.pk):
        if Site.objects.filter(tenant=tenant, name__iexact=site.name).exists():
            raise Conflict(f"A site named {site.name!r} already exists in this tenant.")
        _save_unique(site, what="site")
        record_audit(
            actor=actor,
            action="tenancy.create_site",
            target=site,
            tenant_id=tenant.pk,
            changes=diff({}, _snapshot(site, ["name", "address", "time_zone"])),
        )
    return site


def update_site(
    *,
    actor: Principal,
    site: Site,
    name: str | None = None,
    address: str | None = None,
    time_zone: str | None = None,
) -> Site:
    authorize(actor, "tenancy.change_site", site)
    fields = ["name", "address", "time_zone"]
    before = _snapshot(site, fields)
    if name is not None:
        site.name = clean_name(name)
    if address is not None:
        site.address = clean_text(address, field="address", max_length=1000)
    if time_zone is not None:
        site.time_zone = clean_time_zone(time_zone, allow_blank=True)
    with transaction.atomic(), within_tenant(site.tenant_id):
        if (
            Site.objects.filter(tenant_id=site.tenant_id, name__iexact=site.name)
            .exclude(pk=site.pk)
            .exists()
        ):
            raise Conflict(f"A site named {site.name!r} already exists in this tenant.")
        _save_unique(site, what="site")
        changes = diff(before, _snapshot(site, fields))
        if changes:
            record_audit(
                actor=actor,
                action="tenancy.change_site",
                target=site,
                tenant_id=site.tenant_id,
                changes=changes,
            )
    return site


def _site_in_tenant(tenant_id: int, site_id: int | None) -> Site | None:
    if site_id is None:
        return None
    with within_tenant(tenant_id):
        site = Site.objects.filter(tenant_id=tenant_id, pk=site_id).first()
    require(site is not None, "site_id", "No such site in this tenant.")
    return site


def create_asset_group(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    site_id: int | None = None,
    description: str = "",
) -> AssetGroup:
    """Add a named group of assets, optionally tied to one site."""
    authorize(actor, "tenancy.add_assetgroup", tenant)
    group = AssetGroup(
        tenant=tenant,
        name=clean_name(name),
        site=_site_in_tenant(tenant.pk, site_id),
        description=clean_text(description, field="description"),
    )
    with transaction.atomic(), within_tenant(tenant.pk):
        if AssetGroup.objects.filter(tenant=tenant, name__iexact=group.name).exists():
            raise Conflict(f"An asset group named {group.name!r} already exists in this tenant.")
        _save_unique(group, what="asset group")
        record_audit(
            actor=actor,
            action="tenancy.create_assetgroup",
            target=group,
            tenant_id=tenant.pk,
            changes=diff({}, _snapshot(group, ["name", "site_id", "description"])),
        )
    return group


def update_asset_group(
    *,
    actor: Principal,
    group: AssetGroup,
    name: str | None = None,
    site_id: int | None | str = "keep",
    description: str | None = None,
) -> AssetGroup:
    authorize(actor, "tenancy.change_assetgroup", group)
    fields = ["name", "site_id", "description"]
    before = _snapshot(group, fields)
    if name is not None:
        group.name = clean_name(name)
    if site_id != "keep":
        group.site = _site_in_tenant(group.tenant_id, site_id)  # type: ignore[arg-type]
    if description is not None:
        group.description = clean_text(description, field="description")
    with transaction.atomic(), within_tenant(group.tenant_id):
        if (
            AssetGroup.objects.filter(tenant_id=group.tenant_id, name__iexact=group.name)
            .exclude(pk=group.pk)
            .exists()
        ):
            raise Conflict(f"An asset group named {group.name!r} already exists in this tenant.")
        _save_unique(group, what="asset group")
        changes = diff(before, _snapshot(group, fields))
        if changes:
            record_audit(
                actor=actor,
                action="tenancy.change_assetgroup",
                target=group,
                tenant_id=group.tenant_id,
                changes=changes,
            )
    return group


def create_service_area(
    *, actor: Principal, tenant: Tenant, key: str, name: str, description: str = ""
) -> ServiceArea:
    """Add a service area beyond the defaults (for example "ERP support")."""
    authorize(actor, "tenancy.add_servicearea", tenant)
    area = ServiceArea(
        tenant=tenant,
        key=clean_slug(key, field="key"),
        name=clean_name(name),
        description=clean_text(description, field="description"),
    )
    with transaction.atomic(), within_tenant(tenant.pk):
        if ServiceArea.objects.filter(tenant=tenant, key=area.key).exists():
            raise Conflict(f"A service area with key {area.key!r} already exists in this tenant.")
        if ServiceArea.objects.filter(tenant=tenant, name__iexact=area.name).exists():
            raise Conflict(f"A service area named {area.name!r} already exists in this tenant.")
        _save_unique(area, what="service area")
        record_audit(
            actor=actor,
            action="tenancy.create_servicearea",
            target=area,
            tenant_id=tenant.pk,
            changes=diff({}, _snapshot(area, ["key", "name", "description"])),
        )
    return area


def update_service_area(
    *,
    actor: Principal,
    area: ServiceArea,
    name: str | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> ServiceArea:
    authorize(actor, "tenancy.change_servicearea", area)
    fields = ["name", "description", "is_active"]
    before = _snapshot(area, fields)
    if name is not None:
        area.name = clean_name(name)
    if description is not None:
        area.description = clean_text(description, field="description")
    if is_active is not None:
        area.is_active = is_active
    with transaction.atomic(), within_tenant(area.tenant_id):
        if (
            ServiceArea.objects.filter(tenant_id=area.tenant_id, name__iexact=area.name)
            .exclude(pk=area.pk)
            .exists()
        ):
            raise Conflict(f"A service area named {area.name!r} already exists in this tenant.")
        _save_unique(area, what="service area")
        changes = diff(before, _snapshot(area, fields))
        if changes:
            record_audit(
                actor=actor,
                action="tenancy.change_servicearea",
                target=area,
                tenant_id=area.tenant_id,
                changes=changes,
            )
    return area
