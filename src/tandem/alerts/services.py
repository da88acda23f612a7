"""Every write of alerts (decision 0037): detections recorded as deduplicated alerts (or
counted on a suppression), triage (acknowledge, false positive, resolve), suppressions made
and lifted, the tenant's dedup window, and the desk's ticket linked to its alert.

Each function is ``verb_noun(*, actor, ...)``, one transaction, audited inside it, and
records its domain events there (``alerts.events``).

:func:`record_detections` is the hot one (the detection worker calls it per batch of a
tenant): a constant number of queries per batch for the suppressions, the collecting alerts
(locked), the devices and the inserts, plus an audit entry and an event per *new* alert.
Updates of an open alert are counted on it (count, last seen, sample), not audited one by
one: the alert is their record.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone
from django_tasks import task

from tandem.alerts import batch_sql, dedup, events, queries
from tandem.alerts.choices import OPEN_STATUSES, SEVERITY_RANK, AlertStatus
from tandem.alerts.detections import (
    Detection,
    Prepared,
    host_of,
    key_fields_of,
    prepare,
    storable,
)
from tandem.alerts.models import (
    MAX_WINDOW_MINUTES,
    MIN_WINDOW_MINUTES,
    RECORDED_BATCH_DAYS,
    Alert,
    AlertEvent,
    AlertSettings,
    RecordedBatch,
    Suppression,
)
from tandem.alerts.permissions import CHANGE_ALERT_SETTINGS, CHANGE_SUPPRESSION, TRIAGE_ALERT
from tandem.alerts.policies import suppressing_access
from tandem.assets.choices import DeviceStatus
from tandem.assets.models import Device
from tandem.audit.services import diff, record_audit
from tandem.core.errors import Conflict, require
from tandem.core.policies import authorize
from tandem.core.principal import Principal, system_principal
from tandem.core.scoping import system_context, within_tenant
from tandem.core.validation import clean_text
from tandem.tenancy.models import Tenant

log = logging.getLogger(__name__)

#: The actor the detection worker records as, when it names none.
WORKER_ACTOR = "detection worker"
#: A sampled event larger than this (as JSON) is kept as its first part only.
MAX_EVENT_BYTES = 32_000
#: A suppression lasts at most this long: noise silenced for good hides the next attack.
MAX_SUPPRESSION_DAYS = 90
MAX_REASON = 2000
#: Attempts at a batch whose new alert collided with another worker's (see below).
ATTEMPTS = 3


@dataclass
class Recorded:
    """What a batch of detections became: the alerts raised and updated (ids), how many
    detections a suppression silenced, and the refused ones with their reasons."""

    raised: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    suppressed: int = 0
    refused: list[str] = field(default_factory=list)
    #: The batch's detections were recorded before (a redelivery): nothing was done.
    replayed: bool = False


# --- Recording detections ----------------------------------------------------------------


def _field_value(item: Prepared, name: str) -> str | None:
    """A suppression's field in a detection: its key fields first, then the event (a
    top-level key, a dotted path, or a Windows event's data or system field)."""
    if name in item.key_fields:
        return item.key_fields[name]
    for path in (name, f"Event.EventData.{name}", f"Event.System.{name}"):
        value: Any = item.event
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            return key_fields_of({name: value})[name]
    return None


def _matches(suppression: Suppression, item: Prepared) -> bool:
    if suppression.rule_id and suppression.rule_id.lower() != item.rule_id.lower():
        return False
    if suppression.host and suppression.host != item.host:
        return False
    return all(_field_value(item, name) == value for name, value in suppression.key_fields.items())


def _suppress(
    tenant_id: int, items: list[Prepared], now: dt.datetime
) -> tuple[list[Prepared], int]:
    """The detections no active suppression silences; the silenced ones are counted on the
    first suppression that matches them."""
    active = list(
        Suppression.objects.filter(
            tenant_id=tenant_id, lifted_at__isnull=True, expires_at__gt=now
        ).order_by("id")
    )
    if not active:
        return items, 0
    kept: list[Prepared] = []
    hits: dict[int, list[dt.datetime]] = defaultdict(list)
    for item in items:
        found = next((s for s in active if _matches(s, item)), None)
        if found is None:
            kept.append(item)
        else:
            hits[found.pk].append(item.at)
    for pk, times in hits.items():
        Suppression.objects.filter(pk=pk).update(
            suppressed_count=F("suppressed_count") + len(times), last_suppressed_at=now
        )
    return kept, sum(len(times) for times in hits.values())


def _devices(tenant_id: int, hosts: set[str]) -> dict[str, Device]:
    """The tenant's active device for each host name (case-insensitive; a fully qualified
    name also finds a device known by its short name)."""
    hosts.discard("")
    if not hosts:
        return {}
    short = {host.split(".", 1)[0] for host in hosts}
    found = (
        Device.objects.filter(tenant_id=tenant_id, status=DeviceStatus.ACTIVE)
        .annotate(lower_hostname=Lower("hostname"))
        .filter(lower_hostname__in=sorted(hosts | short))
        .only("pk", "hostname", "site_id", "asset_group_id")
        .order_by("id")
    )
    by_name: dict[str, Device] = {}
    for device in found:
        by_name.setdefault(device.hostname.lower(), device)
    return {
        host: by_name.get(host) or by_name[host.split(".", 1)[0]]
        for host in hosts
        if host in by_name or host.split(".", 1)[0] in by_name
    }


def _sample(event: dict[str, Any]) -> dict[str, Any]:
    """The event as kept in an alert's sample: whole up to :data:`MAX_EVENT_BYTES` of JSON,
    else its beginning as text, marked (the retained log has the rest); always a value the
    database stores (``detections.storable``)."""
    kept = storable(event)
    text = json.dumps(kept, ensure_ascii=False)
    if len(text) <= MAX_EVENT_BYTES:
        return kept  # type: ignore[no-any-return]
    return {"_truncated": True, "_size": len(text), "_start": text[:MAX_EVENT_BYTES]}


@dataclass
class _Outcome:
    raised: list[Alert] = field(default_factory=list)
    updated: list[Alert] = field(default_factory=list)
    devices: dict[str, Device] = field(default_factory=dict)


def _new_alert(
    tenant_id: int,
    first: Prepared,
    key: str,
    area_id: int | None,
    device: Device | None,
    now: dt.datetime,
) -> Alert:
    return Alert(
        tenant_id=tenant_id,
        rule_id=first.rule_id,
        rule_title=first.rule_title,
        level=first.level,
        severity=first.severity,
        severity_rank=SEVERITY_RANK[first.severity],
        tags=first.tags,
        tactics=first.tactics,
        techniques=first.techniques,
        host=first.host,
        device=device,
        service_area_id=area_id,
        key_fields=first.key_fields,
        dedup_key=key,
        open_key=key,
        first_seen=first.at,
        last_seen=first.at,
        event_count=0,
        raised_at=now,
        update_noticed_at=now,
    )


def _collect(
    tenant_id: int, items: list[Prepared], window: dt.timedelta, now: dt.datetime
) -> _Outcome:
    """Turn the kept detections into new and updated alerts (inside the caller's savepoint).

    The alerts collecting these keys are locked first, so two workers updating one alert
    take turns. Two workers *raising* one alert at once both find none: the second INSERT
    then waits on the first's unique key and fails once it commits, and the caller runs this
    again, finding the first's alert (locked) to update.
    """
    groups: dict[str, list[Prepared]] = defaultdict(list)
    for item in items:
        groups[item.dedup_key].append(item)
    collecting = {
        alert.open_key: alert
        for alert in Alert.objects.select_for_update().filter(
            tenant_id=tenant_id, open_key__in=sorted(groups)
        )
    }
    outcome = _Outcome(devices=_devices(tenant_id, {item.host for item in items}))
    area_id = queries.security_area_id(tenant_id)
    changed: dict[int, Alert] = {}
    samples: list[tuple[Alert, list[Prepared], int]] = []
    for key, group in groups.items():
        current = collecting.get(key)
        for run in dedup.runs(
            current.last_seen if current is not None else None,
            [item.at for item in group],
            window,
        ):
            run_items = sorted((group[i] for i in run.indices), key=lambda item: item.at)
            assert run.first is not None and run.last is not None
            if not run.joins_current:
                if current is not None:
                    # Past its window: it stops collecting (still open for people to see
                    # to), and the new alert takes the key.
                    current.open_key = None
                    if current.pk is not None:
                        changed[current.pk] = current
                first = run_items[0]
                current = _new_alert(
                    tenant_id, first, key, area_id, outcome.devices.get(first.host), now
                )
                outcome.raised.append(current)
            assert current is not None
            samples.append((current, run_items, current.event_count))
            current.event_count += len(run_items)
            current.first_seen = min(current.first_seen, run.first)
            current.last_seen = max(current.last_seen, run.last)
            if current.pk is not None:
                changed[current.pk] = current
    if changed:
        # One statement for the lot (decision 0050), not bulk_update's CASE per row.
        batch_sql.update_collected(changed.values())
    # Inserted after the updates above freed the keys of alerts past their window.
    Alert.objects.bulk_create(outcome.raised)
    rows = [
        AlertEvent(
            tenant_id=tenant_id,
            alert=alert,
            ordinal=before + i + 1,
            at=run_items[i].at,
            event=_sample(run_items[i].event),
        )
        for alert, run_items, before in samples
        for i in dedup.kept(before, len(run_items))
    ]
    AlertEvent.objects.bulk_create(rows)
    if changed:
        # Keep an updated alert's first and latest events only.
        AlertEvent.objects.filter(
            alert_id__in=sorted(changed),
            ordinal__gt=dedup.SAMPLE_FIRST,
            ordinal__lte=F("alert__event_count") - dedup.SAMPLE_LATEST,
        ).delete()
    # Updated: the alerts that were collecting and took detections (not those that only
    # stopped collecting, past their window).
    grown = {alert.pk for alert, _items, _before in samples if alert.pk in changed}
    new_ids = {alert.pk for alert in outcome.raised}
    outcome.updated = [alert for pk, alert in changed.items() if pk in grown and pk not in new_ids]
    return outcome


def _first_recording(tenant_id: int, batch_key: str) -> bool:
    """Claim the batch's key (inside the caller's transaction); False when it was taken:
    the batch was recorded before. The INSERT comes first so that a second worker holding
    the same batch waits on the unique index until the first commits (or rolls back)."""
    try:
        with transaction.atomic():
            RecordedBatch.objects.create(tenant_id=tenant_id, batch_key=batch_key[:200])
    except IntegrityError:
        return False
    return True


def purge_recorded_batches(now: dt.datetime | None = None) -> int:
    """Forget the keys of batches recorded more than :data:`RECORDED_BATCH_DAYS` ago (the
    daily job): bookkeeping of the worker, nobody's change, so not audited."""
    before = (now or timezone.now()) - dt.timedelta(days=RECORDED_BATCH_DAYS)
    with system_context("purge recorded detection batches"):
        deleted, _ = RecordedBatch.objects.filter(created_at__lt=before).delete()
    return deleted


@task()
def purge_recorded_batches_task() -> int:
    """``AlertsConfig.schedule``: daily."""
    return purge_recorded_batches()


def record_detections(
    *,
    tenant_id: int,
    detections: Sequence[Detection],
    actor: Principal | None = None,
    now: dt.datetime | None = None,
    batch_key: str | None = None,
) -> Recorded:
    """Record a batch of one tenant's detections as alerts (issue 12's contract 3).

    Per detection: a suppression that matches it counts it and nothing else happens; else
    it joins the alert collecting its rule, host and key fields when it falls within the
    tenant's dedup window after that alert's last detection (count, last seen and sample
    are updated; a resolved or false-positive alert collects nothing, so a new one starts),
    or raises a new alert (``alert.raised``, audited). An updated alert records
    ``alert.updated`` at most every few minutes. A detection that cannot make an alert is
    refused with its reason in the result, and the rest of the batch is recorded.

    ``batch_key`` names the stream batch the detections came from (decision 0046): it is
    stored in the same transaction, and a batch whose key is there already is a redelivery
    whose detections were recorded: nothing is done (``replayed``), so no count grows twice
    and no alert or ticket opens twice. Two workers holding the same batch at once take
    turns on the key's unique index; the second finds it taken.

    Called by the detection worker with a system principal (the default). Safe under
    concurrent workers: one collecting alert per key (a unique constraint), updates under
    the alert's row lock.
    """
    actor = actor or system_principal(WORKER_ACTOR)
    if not actor.is_system:
        raise PermissionDenied("detections are recorded by the detection worker")
    now = now or timezone.now()
    result = Recorded()
    items: list[Prepared] = []
    for number, detection in enumerate(detections):
        try:
            items.append(prepare(detection, now))
        except (ValueError, TypeError, AttributeError) as exc:
            result.refused.append(f"detection {number}: {exc}")
    if result.refused:
        log.warning("tenant %s: %d detections refused", tenant_id, len(result.refused))
    if not items:
        return result
    with transaction.atomic(), within_tenant(tenant_id):
        if batch_key is not None and not _first_recording(tenant_id, batch_key):
            log.info("tenant %s: batch %s was recorded before", tenant_id, batch_key)
            return Recorded(refused=result.refused, replayed=True)
        window = dt.timedelta(minutes=queries.window_minutes(tenant_id))
        kept, result.suppressed = _suppress(tenant_id, items, now)
        if not kept:
            return result
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    outcome = _collect(tenant_id, kept, window, now)
                break
            except IntegrityError:
                # Another worker raised one of these alerts since we looked: look again.
                if attempt == ATTEMPTS:
                    raise
        for alert in outcome.raised:
            device = outcome.devices.get(alert.host)
            events.alert_raised(
                alert=alert,
                site_id=device.site_id if device is not None else None,
                asset_group_id=device.asset_group_id if device is not None else None,
            )
            record_audit(
                actor=actor,
                action="alerts.raise_alert",
                target=alert,
                tenant_id=tenant_id,
                changes=diff(
                    {},
                    {
                        "rule_id": alert.rule_id,
                        "host": alert.host,
                        "severity": alert.severity,
                        "device_id": alert.device_id,
                        "event_count": alert.event_count,
                    },
                ),
            )
        due = now - dt.timedelta(minutes=events.UPDATE_NOTICE_MINUTES)
        noticed = []
        for alert in outcome.updated:
            if (
                alert.is_open
                and alert.open_key is not None
                and (alert.update_noticed_at is None or alert.update_noticed_at <= due)
            ):
                events.alert_updated(alert=alert)
                noticed.append(alert.pk)
        if noticed:
            Alert.objects.filter(pk__in=noticed).update(update_noticed_at=now)
    result.raised = [alert.pk for alert in outcome.raised]
    result.updated = [alert.pk for alert in outcome.updated]
    return result


# --- Triage ------------------------------------------------------------------------------


def _locked(alert: Alert) -> Alert:
    return Alert.objects.select_for_update().get(pk=alert.pk)


def _reason(reason: str, *, required: bool) -> str:
    text = clean_text(reason, field="reason", max_length=MAX_REASON)
    if required:
        require(bool(text), "reason", "Say why (a reason is required).")
    return text


def acknowledge_alert(*, actor: Principal, alert: Alert) -> Alert:
    """Someone is on it: a new alert becomes acknowledged (it keeps collecting detections)."""
    authorize(actor, TRIAGE_ALERT, alert)
    with transaction.atomic(), within_tenant(alert.tenant_id):
        locked = _locked(alert)
        if locked.status != AlertStatus.NEW:
            raise Conflict(f"The alert is {locked.get_status_display().lower()} already.")
        locked.status = AlertStatus.ACKNOWLEDGED
        locked.acknowledged_at = timezone.now()
        locked.acknowledged_by_id = actor.user_id
        locked.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "updated_at"])
        record_audit(
            actor=actor,
            action="alerts.acknowledge_alert",
            target=locked,
            tenant_id=locked.tenant_id,
            changes=diff({"status": AlertStatus.NEW}, {"status": locked.status}),
        )
    return locked


def _close(
    *, actor: Principal, alert: Alert, status: str, reason: str, resolve_ticket: bool, action: str
) -> Alert:
    authorize(actor, TRIAGE_ALERT, alert)
    with transaction.atomic(), within_tenant(alert.tenant_id):
        locked = _locked(alert)
        if locked.status not in OPEN_STATUSES:
            raise Conflict(f"The alert is {locked.get_status_display().lower()} already.")
        before = locked.status
        locked.status = status
        locked.reason = reason
        locked.closed_at = timezone.now()
        locked.closed_by_id = actor.user_id
        locked.closed_label = actor.label[:200]
        # It collects nothing more: the next detection starts a new alert.
        locked.open_key = None
        locked.save(
            update_fields=[
                "status",
                "reason",
                "closed_at",
                "closed_by",
                "closed_label",
                "open_key",
                "updated_at",
            ]
        )
        events.alert_resolved(actor=actor, alert=locked, resolve_ticket=resolve_ticket)
        record_audit(
            actor=actor,
            action=action,
            target=locked,
            tenant_id=locked.tenant_id,
            changes=diff(
                {"status": before},
                {"status": status, "reason": reason or None, "resolve_ticket": resolve_ticket},
            ),
        )
    return locked


def mark_false_positive(
    *, actor: Principal, alert: Alert, reason: str, resolve_ticket: bool = True
) -> Alert:
    """The alert was no threat: closed as a false positive, with the reason (required).
    Its ticket is resolved too unless ``resolve_ticket`` is False."""
    text = _reason(reason, required=True)
    return _close(
        actor=actor,
        alert=alert,
        status=AlertStatus.FALSE_POSITIVE,
        reason=text,
        resolve_ticket=resolve_ticket,
        action="alerts.mark_false_positive",
    )


def resolve_alert(
    *, actor: Principal, alert: Alert, note: str = "", resolve_ticket: bool = False
) -> Alert:
    """The alert was dealt with: resolved, with an optional note; ``resolve_ticket``
    resolves its ticket too (the desk does, on ``alert.resolved``)."""
    text = _reason(note, required=False)
    return _close(
        actor=actor,
        alert=alert,
        status=AlertStatus.RESOLVED,
        reason=text,
        resolve_ticket=resolve_ticket,
        action="alerts.resolve_alert",
    )


# --- Suppressions ------------------------------------------------------------------------


def create_suppression(
    *,
    actor: Principal,
    tenant: Tenant,
    reason: str,
    expires_at: dt.datetime,
    rule_id: str = "",
    host: str = "",
    key_fields: dict[str, Any] | None = None,
) -> Suppression:
    """Silence detections of the tenant that match ``rule_id``, ``host`` and the
    ``key_fields`` values (those given; at least one), until ``expires_at`` (in the future,
    at most :data:`MAX_SUPPRESSION_DAYS` days away). A reason is required."""
    now = timezone.now()
    rule_id = (rule_id or "").strip()
    host = host_of(host)
    fields = key_fields or {}
    require(isinstance(fields, dict) and len(fields) <= 10, "key_fields", "At most 10 fields.")
    fields = key_fields_of(fields)
    require(len(rule_id) <= 200, "rule_id", "At most 200 characters.")
    require(
        bool(rule_id or host or fields),
        "rule_id",
        "Name a rule, a host or a field value to suppress: at least one.",
    )
    text = _reason(reason, required=True)
    require(
        isinstance(expires_at, dt.datetime) and timezone.is_aware(expires_at),
        "expires_at",
        "Give a date and time with its time zone.",
    )
    require(expires_at > now, "expires_at", "The expiry must be in the future.")
    require(
        expires_at <= now + dt.timedelta(days=MAX_SUPPRESSION_DAYS),
        "expires_at",
        f"At most {MAX_SUPPRESSION_DAYS} days from now.",
    )
    with transaction.atomic(), within_tenant(tenant.pk):
        area_id = queries.security_area_id(tenant.pk)
        if not actor.is_system and suppressing_access(actor, tenant.pk, area_id) is None:
            raise PermissionDenied(f"not allowed: {CHANGE_SUPPRESSION}")
        suppression = Suppression.objects.create(
            tenant=tenant,
            rule_id=rule_id,
            host=host,
            key_fields=fields,
            reason=text,
            expires_at=expires_at,
            service_area_id=area_id,
            created_by_id=actor.user_id,
            created_label=actor.label[:200],
        )
        record_audit(
            actor=actor,
            action="alerts.create_suppression",
            target=suppression,
            tenant_id=tenant.pk,
            changes=diff(
                {},
                {
                    "rule_id": rule_id or None,
                    "host": host or None,
                    "key_fields": fields or None,
                    "reason": text,
                    "expires_at": expires_at.isoformat(),
                },
            ),
        )
    return suppression


def lift_suppression(*, actor: Principal, suppression: Suppression) -> Suppression:
    """End a suppression before its expiry: matching detections alert again."""
    authorize(actor, CHANGE_SUPPRESSION, suppression)
    now = timezone.now()
    with transaction.atomic(), within_tenant(suppression.tenant_id):
        locked = Suppression.objects.select_for_update().get(pk=suppression.pk)
        if locked.lifted_at is not None:
            raise Conflict("The suppression was lifted already.")
        if locked.expires_at <= now:
            raise Conflict("The suppression has expired already.")
        locked.lifted_at = now
        locked.lifted_by_id = actor.user_id
        locked.save(update_fields=["lifted_at", "lifted_by", "updated_at"])
        record_audit(
            actor=actor,
            action="alerts.lift_suppression",
            target=locked,
            tenant_id=locked.tenant_id,
            changes=diff({"lifted_at": None}, {"lifted_at": now.isoformat()}),
        )
    return locked


# --- Settings and the desk's link --------------------------------------------------------


def set_alert_settings(
    *, actor: Principal, tenant: Tenant, dedup_window_minutes: int
) -> AlertSettings:
    """Set how long after an alert's last detection the same detection still updates it."""
    authorize(actor, CHANGE_ALERT_SETTINGS, tenant)
    require(
        isinstance(dedup_window_minutes, int)
        and MIN_WINDOW_MINUTES <= dedup_window_minutes <= MAX_WINDOW_MINUTES,
        "dedup_window_minutes",
        f"Between {MIN_WINDOW_MINUTES} and {MAX_WINDOW_MINUTES} minutes (a day).",
    )
    with transaction.atomic(), within_tenant(tenant.pk):
        found = AlertSettings.objects.select_for_update().filter(tenant=tenant).first()
        before = found.dedup_window_minutes if found is not None else None
        if found is None:
            found = AlertSettings(tenant=tenant)
        elif before == dedup_window_minutes:
            raise Conflict("The settings already say this.")
        found.dedup_window_minutes = dedup_window_minutes
        found.save()
        record_audit(
            actor=actor,
            action="alerts.set_alert_settings",
            target=found,
            tenant_id=tenant.pk,
            changes=diff(
                {"dedup_window_minutes": before},
                {"dedup_window_minutes": dedup_window_minutes},
            ),
        )
    return found


def lock_alert_for_ticket(*, tenant_id: int, alert_id: int) -> Alert | None:
    """The alert, locked for the caller's transaction, when it has no ticket yet (else
    None): the desk opens its ticket and :func:`link_alert_ticket` in that transaction, so
    a retried ``alert.raised`` opens nothing twice."""
    with within_tenant(tenant_id):
        return Alert.objects.select_for_update().filter(pk=alert_id, ticket_id__isnull=True).first()


def link_alert_ticket(*, actor: Principal, alert: Alert, ticket_id: int) -> Alert:
    """Name the desk's ticket of the alert (the desk calls it, having opened the ticket)."""
    with transaction.atomic(), within_tenant(alert.tenant_id):
        require(alert.ticket_id is None, "ticket_id", "The alert has its ticket already.")
        Alert.objects.filter(pk=alert.pk).update(ticket_id=ticket_id)
        alert.ticket_id = ticket_id
        record_audit(
            actor=actor,
            action="alerts.link_alert_ticket",
            target=alert,
            tenant_id=alert.tenant_id,
            changes=diff({"ticket_id": None}, {"ticket_id": ticket_id}),
        )
    return alert
