"""Offline alerts (decision 0032): the tenant IT's policy of when a device that stopped
checking in counts as gone, and the periodic check that notices devices going and coming
back, one offline episode each, recording ``device.went_offline`` and ``device.came_back``.

The check-in hot path (``agents.checkin_services``) does nothing for this: it writes
``last_seen_at`` as it always did, and the check compares that with the open episode's
``last_seen_at`` to see a device back. What a person notices is the ticket the desk opens
from the event (its subscriber), routed by the responsibility matrix.

Every write is audited: a policy saved or removed names the person; an episode opened or
closed names the system check (``system: offline alert check``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from tandem.assets import events
from tandem.assets.choices import AlertDevices, DeviceStatus
from tandem.assets.models import Device, OfflineAlertPolicy, OfflineEpisode
from tandem.assets.policies import SET_OFFLINE_ALERTS
from tandem.audit.services import diff, record_audit
from tandem.core.errors import Conflict, require
from tandem.core.policies import authorize
from tandem.core.principal import Principal, system_principal
from tandem.core.scoping import system_context, within_tenant
from tandem.tenancy.models import AssetGroup, ServiceArea, Site, Tenant

log = logging.getLogger(__name__)

#: How long a device may go silent before it counts as gone: at least five minutes (an
#: agent checks in every 100 s and ``last_seen_at`` moves at most once a minute), at most
#: a week.
MIN_MINUTES, MAX_MINUTES = 5, 7 * 24 * 60
#: The most episodes one run of the check opens, and closes: a site losing its network
#: opens its devices' episodes over a few runs, never in one unbounded sweep.
BATCH = 500
POLICY_FIELDS = (
    "enabled",
    "minutes",
    "devices",
    "asset_group_id",
    "service_area_id",
    "impact",
    "urgency",
    "resolve_on_return",
    "requester_id",
)
CHECK_ACTOR = "offline alert check"


def _fields(policy: OfflineAlertPolicy) -> dict[str, Any]:
    return {name: getattr(policy, name) for name in POLICY_FIELDS}


def _in_tenant(model: Any, tenant_id: int, pk: int | None, field: str, what: str) -> Any:
    if pk is None:
        return None
    found = model.objects.filter(tenant_id=tenant_id, pk=pk).first()
    require(found is not None, field, f"No such {what} in this tenant.")
    return found


def set_offline_policy(
    *,
    actor: Principal,
    tenant: Tenant,
    site_id: int | None = None,
    enabled: bool,
    minutes: int,
    devices: str = AlertDevices.ALL,
    asset_group_id: int | None = None,
    service_area_id: int | None = None,
    impact: int = 2,
    urgency: int = 2,
    resolve_on_return: bool = True,
) -> OfflineAlertPolicy:
    """Save the tenant's offline alert policy, or a site's override of it (``site_id``).

    Only the tenant's own IT (``assets.change_device`` on an internal access) sets it.
    Tickets are opened in the name of the person who saves it. Bad input changes nothing;
    saving what is already there is refused (409) so the audit log records only changes.
    """
    authorize(actor, SET_OFFLINE_ALERTS, tenant)
    require(
        MIN_MINUTES <= minutes <= MAX_MINUTES,
        "minutes",
        f"Between {MIN_MINUTES} and {MAX_MINUTES} minutes (a week).",
    )
    require(devices in AlertDevices.values, "devices", f"One of: {', '.join(AlertDevices.values)}.")
    require(1 <= impact <= 9, "impact", "Use 1 to 9.")
    require(1 <= urgency <= 9, "urgency", "Use 1 to 9.")
    if devices == AlertDevices.ASSET_GROUP:
        require(asset_group_id is not None, "asset_group_id", "Pick the asset group to watch.")
    else:
        require(asset_group_id is None, "asset_group_id", "Only when watching one asset group.")
    with transaction.atomic(), within_tenant(tenant.pk):
        site = _in_tenant(Site, tenant.pk, site_id, "site_id", "site")
        _in_tenant(AssetGroup, tenant.pk, asset_group_id, "asset_group_id", "asset group")
        _in_tenant(ServiceArea, tenant.pk, service_area_id, "service_area_id", "service area")
        policy = (
            OfflineAlertPolicy.objects.select_for_update().filter(tenant=tenant, site=site).first()
        )
        before = _fields(policy) if policy is not None else {}
        if policy is None:
            policy = OfflineAlertPolicy(tenant=tenant, site=site)
        policy.enabled = bool(enabled)
        policy.minutes = minutes
        policy.devices = devices
        policy.asset_group_id = asset_group_id
        policy.service_area_id = service_area_id
        policy.impact = impact
        policy.urgency = urgency
        policy.resolve_on_return = bool(resolve_on_return)
        policy.requester_id = actor.user_id
        changes = diff(before, _fields(policy))
        if policy.pk is not None and not changes:
            raise Conflict("The policy already says this.")
        try:
            with transaction.atomic():
                policy.save()
        except IntegrityError as exc:  # saved at the same moment by someone else
            raise Conflict("Someone saved this policy at the same moment: try again.") from exc
        record_audit(
            actor=actor,
            action="assets.set_offline_policy",
            target=policy,
            tenant_id=tenant.pk,
            changes={**changes, "site_id": [None, site_id]} if before == {} else changes,
        )
    return policy


def remove_offline_policy(*, actor: Principal, policy: OfflineAlertPolicy) -> None:
    """Remove a site's override: its devices follow the tenant's policy again. The tenant's
    own policy is never removed (disable it instead)."""
    authorize(actor, SET_OFFLINE_ALERTS, policy.tenant)
    require(policy.site_id is not None, "site_id", "The tenant's policy stays: disable it instead.")
    with transaction.atomic(), within_tenant(policy.tenant_id):
        record_audit(
            actor=actor,
            action="assets.remove_offline_policy",
            target=policy,
            tenant_id=policy.tenant_id,
            changes=diff(_fields(policy) | {"site_id": policy.site_id}, {}),
        )
        OfflineAlertPolicy.objects.filter(pk=policy.pk).delete()


# --- The periodic check -----------------------------------------------------------------


def _watched(policy: OfflineAlertPolicy, overridden_sites: list[int]) -> QuerySet[Device]:
    """The active devices ``policy`` watches: its site's (an override), or the tenant's
    outside the sites that have their own override; narrowed by ``devices``."""
    found = Device.objects.filter(tenant_id=policy.tenant_id, status=DeviceStatus.ACTIVE)
    if policy.site_id is not None:
        found = found.filter(site_id=policy.site_id)
    elif overridden_sites:
        found = found.filter(Q(site_id__isnull=True) | ~Q(site_id__in=overridden_sites))
    if policy.devices == AlertDevices.PROTECTED:
        found = found.filter(protected=True)
    elif policy.devices == AlertDevices.ASSET_GROUP:
        found = found.filter(asset_group_id=policy.asset_group_id)
    return found


def _went(device: Device, policy: OfflineAlertPolicy, actor: Principal, now: dt.datetime) -> bool:
    """Open the device's offline episode, record ``device.went_offline``, audit it. False
    when an episode is already open (another worker's run got there first)."""
    with transaction.atomic(), within_tenant(device.tenant_id):
        try:
            with transaction.atomic():
                episode = OfflineEpisode.objects.create(
                    tenant_id=device.tenant_id,
                    device=device,
                    policy=policy,
                    started_at=now,
                    last_seen_at=device.last_seen_at,
                )
        except IntegrityError:  # the open-episode constraint: once per episode
            return False
        events.device_went_offline(device=device, episode=episode, policy=policy)
        record_audit(
            actor=actor,
            action="assets.device_went_offline",
            target=device,
            tenant_id=device.tenant_id,
            changes={
                "offline_since": [None, now.isoformat()],
                "last_seen_at": [
                    None,
                    device.last_seen_at.isoformat() if device.last_seen_at else None,
                ],
                "policy_id": [None, policy.pk],
            },
        )
    return True


def _back(episode: OfflineEpisode, actor: Principal, now: dt.datetime) -> bool:
    """Close an episode whose device checked in again, record ``device.came_back``."""
    with transaction.atomic(), within_tenant(episode.tenant_id):
        locked = (
            # Only the episode's row is locked (the policy is an outer join, which
            # PostgreSQL cannot lock).
            OfflineEpisode.objects.select_for_update(of=("self",))
            .select_related("device", "policy")
            .filter(pk=episode.pk, ended_at__isnull=True)
            .first()
        )
        if locked is None:
            return False
        device = locked.device
        locked.ended_at = now
        locked.back_seen_at = device.last_seen_at
        locked.save(update_fields=["ended_at", "back_seen_at", "updated_at"])
        # The policy as it is now decides (it may have changed while the device was gone);
        # a policy removed since falls back to resolving, the default.
        resolve = locked.policy.resolve_on_return if locked.policy is not None else True
        events.device_came_back(device=device, episode=locked, resolve_on_return=resolve)
        record_audit(
            actor=actor,
            action="assets.device_came_back",
            target=device,
            tenant_id=device.tenant_id,
            changes={
                "offline_since": [locked.started_at.isoformat(), None],
                "seen_at": [None, locked.back_seen_at.isoformat() if locked.back_seen_at else None],
            },
        )
    return True


def end_episode_on_retirement(*, device: Device, now: dt.datetime) -> OfflineEpisode | None:
    """Close ``device``'s open offline episode because it was retired: a retired device is
    no longer watched (``_watched`` takes active devices only), so its episode would stay
    open for ever. Not a return: no ``device.came_back`` (the desk's offline ticket is left
    to a person, who knows why the device went), and ``back_seen_at`` stays empty. Called
    by ``assets.services.retire_device`` inside its transaction and audit entry; returns
    the episode closed, if one was open."""
    episode = (
        OfflineEpisode.objects.select_for_update()
        .filter(device_id=device.pk, ended_at__isnull=True)
        .first()
    )
    if episode is None:
        return None
    episode.ended_at = now
    episode.save(update_fields=["ended_at", "updated_at"])
    return episode


def _end_retired(episode: OfflineEpisode, actor: Principal, now: dt.datetime) -> None:
    """Close an open episode of a device that is no longer active (audited)."""
    with transaction.atomic(), within_tenant(episode.tenant_id):
        device = Device.objects.get(pk=episode.device_id)
        ended = end_episode_on_retirement(device=device, now=now)
        if ended is not None:
            record_audit(
                actor=actor,
                action="assets.end_offline_episode",
                target=device,
                tenant_id=device.tenant_id,
                changes={"offline_since": [ended.started_at.isoformat(), None]},
            )


def check_offline_devices(*, now: dt.datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    """The periodic check (every minute, ``assets.tasks``): close the episodes of devices
    that checked in since they went, then open one for each watched device silent longer
    than its policy allows. Set-based reads, at most ``batch`` episodes each way per run;
    a device's episode is opened at most once (a constraint), so runs that overlap or
    repeat record nothing twice. Returns ``{"went": n, "back": n}``.
    """
    now = now or timezone.now()
    actor = system_principal(CHECK_ACTOR)
    back = went = 0
    with system_context("offline alert check: find devices that came back"):
        returning = list(
            OfflineEpisode.objects.filter(ended_at__isnull=True)
            .filter(
                Q(device__last_seen_at__gt=F("last_seen_at"))
                | Q(last_seen_at__isnull=True, device__last_seen_at__isnull=False)
            )
            .order_by("id")[:batch]
        )
    for episode in returning:
        try:
            back += _back(episode, actor, now)
        except Exception:  # one broken row must not stop the others
            log.exception("offline check: closing episode %s failed", episode.pk)
    with system_context("offline alert check: find episodes of retired devices"):
        # Retirement closes the episode itself; these are episodes left open by a device
        # retired before it did (or by a write that went around the service).
        orphaned = list(
            OfflineEpisode.objects.filter(ended_at__isnull=True)
            .exclude(device__status=DeviceStatus.ACTIVE)
            .order_by("id")[:batch]
        )
    for episode in orphaned:
        try:
            _end_retired(episode, actor, now)
        except Exception:
            log.exception("offline check: ending episode %s failed", episode.pk)
    with system_context("offline alert check: find devices that went offline"):
        policies = list(OfflineAlertPolicy.objects.filter(tenant__is_active=True))
        overrides: dict[int, list[int]] = {}
        for policy in policies:
            if policy.site_id is not None:
                overrides.setdefault(policy.tenant_id, []).append(policy.site_id)
        candidates: list[tuple[Device, OfflineAlertPolicy]] = []
        for policy in policies:
            if not policy.enabled or len(candidates) >= batch:
                continue
            cutoff = now - dt.timedelta(minutes=policy.minutes)
            open_episode = OfflineEpisode.objects.filter(
                device_id=OuterRef("pk"), ended_at__isnull=True
            )
            stale = (
                _watched(policy, overrides.get(policy.tenant_id, []))
                .alias(seen=Coalesce("last_seen_at", "enrolled_at"))
                .filter(seen__lt=cutoff)
                .filter(~Exists(open_episode))
                .order_by("id")[: batch - len(candidates)]
            )
            candidates.extend((device, policy) for device in stale)
    for device, policy in candidates:
        try:
            went += _went(device, policy, actor, now)
        except Exception:
            log.exception("offline check: device %s failed", device.pk)
    return {"went": went, "back": back}
