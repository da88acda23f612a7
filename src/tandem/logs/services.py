"""Writes of the logs app (decision 0035): ingest sources made, rotated, disabled and
enabled, and a syslog source's device changed (audited), the tenant's event archive
retention (audited, decision 0045), and the hot path's bookkeeping: quota windows reserved
and released, counters of accepted and refused events (not audited: they are counts, like
check-ins)."""

from __future__ import annotations

import ipaddress
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from tandem.agents.credentials import hash_secret, new_secret
from tandem.assets.models import Device
from tandem.audit.services import diff, record_audit
from tandem.core.errors import Conflict, InvalidInput, Refused
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.scoping import system_context, within_tenant
from tandem.core.validation import clean_name
from tandem.logs.choices import SourceKind
from tandem.logs.models import (
    MAX_RETENTION_DAYS,
    MIN_RETENTION_DAYS,
    ArchiveSettings,
    IngestSource,
    IngestWindow,
)
from tandem.logs.ndjson import REASONS
from tandem.logs.permissions import CHANGE_ARCHIVE_SETTINGS, MANAGE_SOURCES
from tandem.logs.policies import may_manage_in
from tandem.tenancy.models import Tenant

#: An ingest token: ``tdi_<prefix>_<secret>`` (the agents' secret scheme, its own tag).
INGEST_TAG = "tdi"
MAX_NETWORKS = 100
MAX_BATCH_EVENTS = 100_000


def _networks(values: list[str] | tuple[str, ...]) -> list[str]:
    """CIDR networks, normalised (``10.1.2.3/8`` is refused: host bits set)."""
    if len(values) > MAX_NETWORKS:
        raise InvalidInput({"allowed_networks": [f"At most {MAX_NETWORKS} networks."]})
    cleaned = []
    for value in values:
        try:
            cleaned.append(str(ipaddress.ip_network(str(value).strip(), strict=True)))
        except ValueError:
            raise InvalidInput(
                {"allowed_networks": [f"{value!r} is not a network such as 192.0.2.0/24."]}
            ) from None
    return sorted(set(cleaned))


def _limits(max_events_per_minute: int | None, max_batch_events: int) -> None:
    if max_events_per_minute is not None and not 1 <= max_events_per_minute <= 10**9:
        raise InvalidInput({"max_events_per_minute": ["Between 1 and 1,000,000,000, or empty."]})
    if not 1 <= max_batch_events <= MAX_BATCH_EVENTS:
        raise InvalidInput({"max_batch_events": [f"Between 1 and {MAX_BATCH_EVENTS:,}."]})


def create_ingest_source(
    *,
    actor: Principal,
    tenant: Tenant,
    name: str,
    kind: str,
    allowed_networks: list[str] | tuple[str, ...] = (),
    max_events_per_minute: int | None = None,
    max_batch_events: int = 10_000,
    device_id: int | None = None,
) -> tuple[IngestSource, str | None]:
    """A new source. An HTTP source gets an ingest token, returned here and never again
    (its hash is kept); a syslog source is known by its sender networks, at least one, and
    may be one device of the tenant (``device_id``): its events are recorded as that
    device's (decision 0045)."""
    authorize(actor, MANAGE_SOURCES, tenant)
    if not may_manage_in(actor, tenant.pk):
        raise Refused("Your engagement does not cover the whole tenant.")
    if kind not in (SourceKind.HTTP, SourceKind.SYSLOG):
        raise InvalidInput({"kind": ["Either 'http' or 'syslog'."]})
    networks = _networks(allowed_networks)
    if kind == SourceKind.SYSLOG and not networks:
        raise InvalidInput({"allowed_networks": ["A syslog source needs its sender networks."]})
    _limits(max_events_per_minute, max_batch_events)
    _check_device(tenant.pk, kind, device_id)
    raw = prefix = secret_hash = None
    if kind == SourceKind.HTTP:
        raw, prefix, secret_hash = new_secret(INGEST_TAG)
    source = IngestSource(
        tenant=tenant,
        name=clean_name(name, max_length=200),
        kind=kind,
        prefix=prefix or "",
        secret_hash=secret_hash,
        allowed_networks=networks,
        max_events_per_minute=max_events_per_minute,
        max_batch_events=max_batch_events,
        device_id=device_id,
        created_by_id=actor.user_id,
    )
    with transaction.atomic(), within_tenant(tenant.pk):
        source.save()
        record_audit(
            actor=actor,
            action="logs.create_ingest_source",
            target=source,
            tenant_id=tenant.pk,
            changes={
                "name": [None, source.name],
                "kind": [None, kind],
                "allowed_networks": [None, networks],
                "max_events_per_minute": [None, max_events_per_minute],
                "max_batch_events": [None, max_batch_events],
                "device_id": [None, device_id],
            },
        )
    return source, raw


def _check_device(tenant_id: int, kind: str, device_id: int | None) -> None:
    """A source's device: none, or a device of the same tenant for a syslog source."""
    if device_id is None:
        return
    if kind != SourceKind.SYSLOG:
        raise InvalidInput({"device_id": ["Only a syslog source is mapped to a device."]})
    with within_tenant(tenant_id):
        if not Device.objects.filter(tenant_id=tenant_id, pk=device_id).exists():
            raise InvalidInput({"device_id": ["No such device in this tenant."]})


def set_ingest_source_device(
    *, actor: Principal, source: IngestSource, device_id: int | None
) -> IngestSource:
    """Map a syslog source to another device of its tenant, or to none (``None``).

    Events taken from now on are recorded as that device's (decision 0045); events already
    archived keep the device they were recorded with (the archive is never rewritten, and
    the old mapping was true when they came). Unchanged is a 409 (nothing to record)."""
    authorize(actor, MANAGE_SOURCES, source)
    if not may_manage_in(actor, source.tenant_id):
        raise Refused("Your engagement does not cover the whole tenant.")
    _check_device(source.tenant_id, source.kind, device_id)
    before = source.device_id
    if before == device_id:
        raise Conflict("The source is already mapped to that device.")
    with transaction.atomic(), within_tenant(source.tenant_id):
        source.device_id = device_id
        source.save(update_fields=["device", "updated_at"])
        record_audit(
            actor=actor,
            action="logs.change_ingest_source_device",
            target=source,
            tenant_id=source.tenant_id,
            changes={"device_id": [before, device_id]},
        )
    return source


def rotate_ingest_token(*, actor: Principal, source: IngestSource) -> tuple[IngestSource, str]:
    """A new token for an HTTP source; the old one stops working at once."""
    authorize(actor, MANAGE_SOURCES, source)
    if source.kind != SourceKind.HTTP:
        raise Conflict("Only an HTTP source has an ingest token.")
    raw, prefix, secret_hash = new_secret(INGEST_TAG)
    with transaction.atomic(), within_tenant(source.tenant_id):
        old_prefix = source.prefix
        source.prefix, source.secret_hash = prefix, secret_hash
        source.save(update_fields=["prefix", "secret_hash", "updated_at"])
        record_audit(
            actor=actor,
            action="logs.rotate_ingest_token",
            target=source,
            tenant_id=source.tenant_id,
            changes={"prefix": [old_prefix, prefix]},
        )
    return source, raw


def set_ingest_source_enabled(
    *, actor: Principal, source: IngestSource, enabled: bool
) -> IngestSource:
    """Disable a source (its token and senders are refused) or enable it again. Asking for
    the state it is in is recorded too (someone meant it), with no change."""
    authorize(actor, MANAGE_SOURCES, source)
    before = source.enabled
    with transaction.atomic(), within_tenant(source.tenant_id):
        source.enabled = enabled
        source.save(update_fields=["enabled", "updated_at"])
        record_audit(
            actor=actor,
            action="logs.enable_ingest_source" if enabled else "logs.disable_ingest_source",
            target=source,
            tenant_id=source.tenant_id,
            changes={"enabled": [before, enabled]},
        )
    return source


def agent_source(tenant_id: int) -> IngestSource:
    """The tenant's one source for its agents' logs, made on first use. The caller is in
    the tenant's scope (a device principal's request)."""
    with within_tenant(tenant_id):
        found = IngestSource.objects.filter(tenant_id=tenant_id, kind=SourceKind.AGENT).first()
        if found is not None:
            return found
        try:
            with transaction.atomic():
                return IngestSource.objects.create(
                    tenant_id=tenant_id, name="Endpoint agents", kind=SourceKind.AGENT
                )
        except IntegrityError:  # another receiver made it first
            return IngestSource.objects.get(tenant_id=tenant_id, kind=SourceKind.AGENT)


def find_source_by_token(raw: str) -> IngestSource | None:
    """The source whose ingest token is ``raw`` (enabled or not: the caller says why it is
    refused). Run in a system context: the sender has no tenant yet."""
    if not raw.startswith(f"{INGEST_TAG}_") or len(raw) > 200:
        return None
    return IngestSource.objects.filter(secret_hash=hash_secret(raw)).first()


def current_minute() -> int:
    return int(time.time() // 60)


def reserve_quota(*, source: IngestSource, events: int, minute: int) -> bool:
    """Count ``events`` against the tenant's and the source's quota for this minute, all or
    nothing: False (and nothing counted) when either would go over."""
    tenant_limit = settings.INGEST_TENANT_EVENTS_PER_MINUTE
    windows: list[tuple[IngestSource | None, int]] = [(None, tenant_limit)]
    if source.max_events_per_minute is not None:
        windows.append((source, source.max_events_per_minute))
    with transaction.atomic(), within_tenant(source.tenant_id):
        for window_source, limit in windows:
            if not _take(source.tenant_id, window_source, minute, events, limit):
                transaction.set_rollback(True)
                return False
    return True


def _take(
    tenant_id: int, source: IngestSource | None, minute: int, events: int, limit: int
) -> bool:
    if events > limit:
        return False
    rows = IngestWindow.objects.filter(tenant_id=tenant_id, source=source, minute=minute)
    if rows.filter(events__lte=limit - events).update(events=F("events") + events):
        return True
    if rows.exists():
        return False
    try:
        with transaction.atomic():
            IngestWindow.objects.create(
                tenant_id=tenant_id, source=source, minute=minute, events=events
            )
        return True
    except IntegrityError:  # made meanwhile by another receiver: count against it
        return bool(rows.filter(events__lte=limit - events).update(events=F("events") + events))


def release_quota(*, source: IngestSource, events: int, minute: int) -> None:
    """Give back a reservation whose events the stream did not take."""
    with within_tenant(source.tenant_id):
        rows = IngestWindow.objects.filter(
            tenant_id=source.tenant_id, minute=minute, events__gte=events
        )
        rows.filter(source=None).update(events=F("events") - events)
        if source.max_events_per_minute is not None:
            rows.filter(source=source).update(events=F("events") - events)


def count_ingest(*, source: IngestSource, accepted: int, refused: dict[str, int]) -> None:
    """Add one request's outcome to the source's counters (one UPDATE)."""
    changes: dict[str, F | object] = {}
    if accepted:
        changes["accepted"] = F("accepted") + accepted
        changes["last_event_at"] = timezone.now()
    for reason, count in refused.items():
        if reason in REASONS and count:
            field = f"refused_{reason}"
            changes[field] = F(field) + count
    if changes:
        with within_tenant(source.tenant_id):
            IngestSource.objects.filter(pk=source.pk).update(**changes)


def purge_ingest_windows() -> int:
    """Delete quota windows older than an hour."""
    old = current_minute() - 60
    with system_context("purge ingest quota windows"):
        deleted, _ = IngestWindow.objects.filter(minute__lt=old).delete()
    return deleted


@task()
def purge_ingest_windows_task() -> int:
    """``LogsConfig.schedule``: hourly."""
    return purge_ingest_windows()


def set_archive_settings(
    *, actor: Principal, tenant: Tenant, retention_days: int
) -> ArchiveSettings:
    """Set how many days the tenant's archived events are kept (the tenant's own IT).

    Takes effect at the next run of the retention job: hours older than the period are
    deleted then, for good. 409 when the setting already says this."""
    authorize(actor, CHANGE_ARCHIVE_SETTINGS, tenant)
    if (
        isinstance(retention_days, bool)
        or not isinstance(retention_days, int)
        or not MIN_RETENTION_DAYS <= retention_days <= MAX_RETENTION_DAYS
    ):
        raise InvalidInput(
            {
                "retention_days": [
                    f"A whole number of days from {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS}."
                ]
            }
        )
    with transaction.atomic(), within_tenant(tenant.pk):
        found = ArchiveSettings.objects.select_for_update().filter(tenant=tenant).first()
        before = found.retention_days if found is not None else None
        if found is None:
            found = ArchiveSettings(tenant=tenant)
        elif before == retention_days:
            raise Conflict("The retention already says this.")
        found.retention_days = retention_days
        found.save()
        record_audit(
            actor=actor,
            action="logs.set_archive_settings",
            target=found,
            tenant_id=tenant.pk,
            changes=diff({"retention_days": before}, {"retention_days": retention_days}),
        )
    return found
