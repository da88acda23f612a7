"""Recording detections (decision 0037): one alert per rule × host × key fields within the
tenant's dedup window, counted and sampled; a new alert after the window or after the
alert was closed; suppressions count what they silence. Times are relative to now."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.alerts import services
from tandem.alerts.models import Alert, AlertEvent, Suppression
from tandem.alerts.tests.support import RULE, alerts_of, detection, get, record
from tandem.audit.models import AuditEntry
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.models import OutboxEvent
from tandem.core.scoping import system_context
from tandem.tenancy.models import Tenant

pytestmark = pytest.mark.django_db


def _owner(world):  # type: ignore[no-untyped-def]
    return resolve_principal(user_of(world, "owner"))


def _events(alert_id: int) -> list[AlertEvent]:
    with system_context("test: an alert's sample"):
        return list(AlertEvent.objects.filter(alert_id=alert_id).order_by("ordinal"))


def _outbox(kind: str, alert_id: int) -> list[OutboxEvent]:
    with system_context("test: outbox"):
        return [
            e
            for e in OutboxEvent.objects.filter(type=kind).order_by("id")
            if e.payload.get("alert_id") == alert_id
        ]


def _audit(action: str, alert_id: int) -> list[AuditEntry]:
    with system_context("test: audit"):
        return list(AuditEntry.objects.filter(action=action, target_id=str(alert_id)))


def test_a_detection_raises_an_alert_with_its_facts(world) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    result = record(world["tenant"], detection(host="ACME-HQ-DB01.acme.example", at=now), now=now)
    assert len(result.raised) == 1 and result.updated == [] and result.refused == []
    alert = get(Alert, result.raised[0])
    assert alert.severity == "high" and alert.status == "new"
    assert alert.tactics == ["credential-access"] and alert.techniques == ["T1110.001"]
    # The host is compared in lower case; its short name finds the tenant's device.
    assert alert.host == "acme-hq-db01.acme.example"
    assert alert.device_id == world["device"]
    assert alert.event_count == 1 and alert.first_seen == alert.last_seen == now
    assert [e.event["Event"]["EventData"]["TargetUserName"] for e in _events(alert.pk)] == ["bob"]
    assert len(_outbox("alert.raised", alert.pk)) == 1
    entry = _audit("alerts.raise_alert", alert.pk)[0]
    assert entry.actor_label == "system: detection worker"


def test_dedup_within_the_window_outside_it_and_by_key_fields(world) -> None:  # type: ignore[no-untyped-def]
    t0 = timezone.now() - dt.timedelta(hours=2)
    tenant = world["tenant"]
    first = record(tenant, detection(at=t0), now=t0).raised[0]
    # Ten minutes later (default window: 15 minutes after the last): the same alert.
    again = record(
        tenant, detection(at=t0 + dt.timedelta(minutes=10)), now=t0 + dt.timedelta(minutes=10)
    )
    assert again.raised == [] and again.updated == [first]
    # Another user is another occurrence: its own alert.
    other_user = record(tenant, detection(at=t0 + dt.timedelta(minutes=11), user="alice"))
    assert len(other_user.raised) == 1
    # Twenty minutes after the last detection: past the window, a new alert starts.
    late = t0 + dt.timedelta(minutes=30)
    after = record(tenant, detection(at=late), now=late)
    assert len(after.raised) == 1 and after.raised[0] != first
    old = get(Alert, first)
    assert old.event_count == 2
    assert old.last_seen == t0 + dt.timedelta(minutes=10)
    assert old.open_key is None and old.status == "new"  # still for people to see to
    assert [a.event_count for a in alerts_of(tenant)] == [2, 1, 1]


def test_the_tenants_window_is_its_own(world) -> None:  # type: ignore[no-untyped-def]
    services.set_alert_settings(
        actor=_owner(world), tenant=get(Tenant, world["tenant"]), dedup_window_minutes=60
    )
    t0 = timezone.now() - dt.timedelta(hours=2)
    record(world["tenant"], detection(at=t0), now=t0)
    later = record(world["tenant"], detection(at=t0 + dt.timedelta(minutes=45)))
    assert later.raised == [] and len(later.updated) == 1
    # Globex keeps the default: 45 minutes apart are two alerts there.
    record(world["other_tenant"], detection(host="plant", at=t0), now=t0)
    assert (
        len(
            record(
                world["other_tenant"], detection(host="plant", at=t0 + dt.timedelta(minutes=45))
            ).raised
        )
        == 1
    )
    with pytest.raises(InvalidInput):
        services.set_alert_settings(
            actor=_owner(world), tenant=get(Tenant, world["tenant"]), dedup_window_minutes=0
        )


def test_a_resolved_or_false_positive_alert_is_not_reopened(world) -> None:  # type: ignore[no-untyped-def]
    tenant = world["tenant"]
    first = get(Alert, record(tenant, detection()).raised[0])
    services.resolve_alert(actor=_owner(world), alert=first, note="Locked the account.")
    second_id = record(tenant, detection()).raised[0]
    assert second_id != first.pk
    assert get(Alert, first.pk).event_count == 1
    services.mark_false_positive(
        actor=_owner(world), alert=get(Alert, second_id), reason="Pen test"
    )
    third = record(tenant, detection())
    assert len(third.raised) == 1 and third.raised[0] not in (first.pk, second_id)
    assert get(Alert, second_id).status == "false_positive"
    assert get(Alert, second_id).reason == "Pen test"


def test_a_batch_of_hundreds_keeps_a_bounded_sample(world) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    start = now - dt.timedelta(minutes=10)
    batch = [detection(at=start + dt.timedelta(seconds=i), n=i) for i in range(300)]
    batch += [detection(at=start, user=f"user{i}") for i in range(100)]
    result = record(world["tenant"], *batch, now=now)
    assert len(result.raised) == 101
    main = get(
        Alert,
        next(pk for pk in result.raised if get(Alert, pk).key_fields == {"TargetUserName": "bob"}),
    )
    assert main.event_count == 300
    kept = _events(main.pk)
    assert [e.ordinal for e in kept] == list(range(1, 21)) + list(range(281, 301))
    # Another batch: the latest twenty move on, the first twenty stay.
    record(world["tenant"], *[detection(at=now, n=1000 + i) for i in range(5)], now=now)
    kept = _events(main.pk)
    assert get(Alert, main.pk).event_count == 305
    assert [e.ordinal for e in kept] == list(range(1, 21)) + list(range(286, 306))
    assert kept[-1].event["Event"]["EventData"]["n"] == 1004


def test_bad_detections_are_refused_and_the_rest_recorded(world) -> None:  # type: ignore[no-untyped-def]
    bad = detection(rule_id="")
    result = record(world["tenant"], bad, detection())
    assert len(result.raised) == 1
    assert result.refused == ["detection 0: a detection needs its rule id"]


def test_only_the_worker_records_detections(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        services.record_detections(
            tenant_id=world["tenant"], detections=[detection()], actor=_owner(world)
        )
    assert alerts_of(world["tenant"]) == []


def _suppression(world, **values):  # type: ignore[no-untyped-def]
    options = {
        "reason": "Known scanner",
        "expires_at": timezone.now() + dt.timedelta(days=7),
        **values,
    }
    return services.create_suppression(
        actor=_owner(world), tenant=get(Tenant, world["tenant"]), **options
    )


def test_a_suppression_counts_instead_of_alerting_until_it_expires(world) -> None:  # type: ignore[no-untyped-def]
    tenant = world["tenant"]
    suppression = _suppression(world, rule_id=RULE, key_fields={"TargetUserName": "bob"})
    result = record(tenant, detection(), detection(), detection(user="alice"))
    assert result.suppressed == 2 and len(result.raised) == 1
    assert get(Alert, result.raised[0]).key_fields == {"TargetUserName": "alice"}
    assert get(Suppression, suppression.pk).suppressed_count == 2
    # A host-wide suppression, by a field of the event (not a key field).
    _suppression(world, host="ACME-HQ-DB01", key_fields={"LogonType": "3"})
    assert record(tenant, detection(user="carol", LogonType=3)).suppressed == 1
    assert record(tenant, detection(user="carol", LogonType=10)).raised != []
    # Expired: it stops applying.
    later = timezone.now() + dt.timedelta(days=8)
    assert record(tenant, detection(at=later), now=later).raised != []
    assert get(Suppression, suppression.pk).suppressed_count == 2
    with system_context("test: audit"):
        assert AuditEntry.objects.filter(
            action="alerts.create_suppression", target_id=str(suppression.pk)
        ).exists()


def test_a_lifted_suppression_stops_applying(world) -> None:  # type: ignore[no-untyped-def]
    suppression = _suppression(world, rule_id=RULE)
    assert record(world["tenant"], detection()).suppressed == 1
    services.lift_suppression(actor=_owner(world), suppression=suppression)
    assert record(world["tenant"], detection()).raised != []
    with pytest.raises(Conflict):
        services.lift_suppression(actor=_owner(world), suppression=suppression)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"reason": "  "}, "reason"),
        ({"expires_at": timezone.now() - dt.timedelta(minutes=1)}, "expires_at"),
        ({"expires_at": timezone.now() + dt.timedelta(days=91)}, "expires_at"),
        ({"rule_id": "", "host": "", "key_fields": {}}, "rule_id"),
    ],
)
def test_a_bad_suppression_says_why_and_changes_nothing(world, values, field) -> None:  # type: ignore[no-untyped-def]
    options = {"rule_id": RULE, **values}
    with pytest.raises(InvalidInput) as caught:
        _suppression(world, **options)
    assert field in caught.value.field_errors
    with system_context("test: suppressions"):
        # Only the persona world's own suppression.
        assert list(
            Suppression.objects.filter(tenant_id=world["tenant"]).values_list("pk", flat=True)
        ) == [world["suppression"]]


def test_triage_statuses_and_their_audit(world) -> None:  # type: ignore[no-untyped-def]
    alert = get(Alert, record(world["tenant"], detection()).raised[0])
    owner = _owner(world)
    with pytest.raises(InvalidInput):
        services.mark_false_positive(actor=owner, alert=alert, reason="")
    assert get(Alert, alert.pk).status == "new"
    services.acknowledge_alert(actor=owner, alert=alert)
    acknowledged = get(Alert, alert.pk)
    assert acknowledged.status == "acknowledged"
    assert acknowledged.acknowledged_by_id == owner.user_id
    with pytest.raises(Conflict):
        services.acknowledge_alert(actor=owner, alert=alert)
    # Acknowledged alerts keep collecting.
    assert record(world["tenant"], detection()).updated == [alert.pk]
    services.resolve_alert(actor=owner, alert=alert, resolve_ticket=True)
    resolved = get(Alert, alert.pk)
    assert resolved.status == "resolved" and resolved.closed_by_id == owner.user_id
    with pytest.raises(Conflict):
        services.resolve_alert(actor=owner, alert=alert)
    with system_context("test: audit"):
        actions = sorted(
            AuditEntry.objects.filter(
                target_type="alerts.Alert", target_id=str(alert.pk)
            ).values_list("action", flat=True)
        )
    assert "alerts.acknowledge_alert" in actions and "alerts.resolve_alert" in actions
    assert _outbox("alert.resolved", alert.pk)[0].payload["resolve_ticket"] is True


def test_a_batch_of_updates_costs_a_fixed_number_of_queries(world) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    users = [f"user{i}" for i in range(50)]
    record(world["tenant"], *[detection(user=u, at=now) for u in users], now=now)
    batch = [detection(user=users[i % 50], at=now) for i in range(300)]
    with CaptureQueriesContext(connection) as queries:
        result = record(world["tenant"], *batch, now=now)
    assert len(result.updated) == 50 and result.raised == []
    # Settings, suppressions, the locked alerts, devices, area, one bulk update, one insert
    # of the sampled events, one trim, and the savepoints: not one per detection or alert.
    assert len(queries) <= 15, [q["sql"][:80] for q in queries]


def test_events_the_database_would_refuse_are_kept_storable(world) -> None:  # type: ignore[no-untyped-def]
    # A NUL character and NaN (Python's JSON reader accepts it): PostgreSQL refuses both.
    odd = detection(user="bo\x00b", Note="a\x00b", Score=float("nan"), Big="x" * 40_000)
    result = record(world["tenant"], odd)
    alert = get(Alert, result.raised[0])
    assert alert.key_fields == {"TargetUserName": "bob"}
    [kept] = _events(alert.pk)
    assert kept.event["_truncated"] is True and kept.event["_size"] > 40_000
    small = record(world["tenant"], detection(user="eve", Note="a\x00b", Score=float("nan")))
    [kept] = _events(small.raised[0])
    data = kept.event["Event"]["EventData"]
    assert data["Note"] == "a\ufffdb" and data["Score"] == "nan"


def test_a_batch_recorded_before_records_nothing_again(world) -> None:  # type: ignore[no-untyped-def]
    """Decision 0046: the stream may deliver a batch again after its detections were
    recorded; its key makes the second recording a no-op, even once the alert it raised was
    resolved (a plain dedup would open a new alert and a new ticket then)."""
    tenant = world["tenant"]
    batch = [detection(user="bob"), detection(user="bob"), detection(user="alice")]
    first = services.record_detections(tenant_id=tenant, detections=batch, batch_key="e:1:1.5")
    assert len(first.raised) == 2 and not first.replayed
    bob = next(a for a in alerts_of(tenant) if a.key_fields == {"TargetUserName": "bob"})
    assert bob.event_count == 2 and len(_events(bob.pk)) == 2

    again = services.record_detections(tenant_id=tenant, detections=batch, batch_key="e:1:1.5")
    assert again.replayed and again.raised == [] and again.updated == []
    assert get(Alert, bob.pk).event_count == 2 and len(_events(bob.pk)) == 2
    assert len(alerts_of(tenant)) == 2

    services.resolve_alert(actor=_owner(world), alert=get(Alert, bob.pk))
    late = services.record_detections(tenant_id=tenant, detections=batch, batch_key="e:1:1.5")
    assert late.replayed and len(alerts_of(tenant)) == 2
    # Another batch (another position, or the same position of a stream started afresh)
    # is recorded; another tenant's batch of the same key too.
    other = services.record_detections(tenant_id=tenant, detections=batch, batch_key="e:1:9.5")
    assert len(other.raised) == 1 and not other.replayed
    assert services.record_detections(
        tenant_id=world["other_tenant"], detections=[detection()], batch_key="e:1:1.5"
    ).raised


def test_recorded_batch_keys_are_forgotten_after_a_week(world) -> None:  # type: ignore[no-untyped-def]
    tenant = world["tenant"]
    key = "e:2:2.5"
    services.record_detections(tenant_id=tenant, detections=[detection()], batch_key=key)
    assert services.purge_recorded_batches() == 0
    assert services.record_detections(
        tenant_id=tenant, detections=[detection()], batch_key=key
    ).replayed
    assert services.purge_recorded_batches(timezone.now() + dt.timedelta(days=8)) >= 1
    again = services.record_detections(tenant_id=tenant, detections=[detection()], batch_key=key)
    assert not again.replayed


def test_many_alerts_updated_in_one_batch_each_get_their_own_count_and_times(world, monkeypatch):
    """Decision 0050: the batch's updated alerts are written in one ``UPDATE … FROM
    (VALUES …)`` per chunk of rows; with chunks of two, the five alerts are spread over
    three statements, and each gets its own values (one past its window stops collecting)."""
    from tandem.alerts import batch_sql

    monkeypatch.setattr(batch_sql, "ROWS_PER_STATEMENT", 2)
    tenant = world["tenant"]
    start = timezone.now() - dt.timedelta(hours=3)
    users = [f"user{n}" for n in range(5)]
    record(tenant, *(detection(user=u, at=start) for u in users))
    later = start + dt.timedelta(minutes=5)
    late = start + dt.timedelta(hours=2)  # past the dedup window for user4
    second = [detection(user=u, at=later + dt.timedelta(seconds=n)) for n, u in enumerate(users)]
    second[4] = detection(user="user4", at=late)
    second.append(detection(user="user0", at=later + dt.timedelta(minutes=1)))
    record(tenant, *second)
    by_user: dict[str, list[Alert]] = {}
    for alert in alerts_of(tenant):
        by_user.setdefault(alert.key_fields["TargetUserName"], []).append(alert)
    assert [a.event_count for a in by_user["user0"]] == [3]
    assert by_user["user0"][0].last_seen == later + dt.timedelta(minutes=1)
    for n in (1, 2, 3):
        [alert] = by_user[f"user{n}"]
        assert alert.event_count == 2
        assert (alert.first_seen, alert.last_seen) == (start, later + dt.timedelta(seconds=n))
        assert alert.open_key is not None
    old, new = by_user["user4"]
    assert (old.event_count, old.open_key, old.last_seen) == (1, None, start)
    assert (new.event_count, new.first_seen) == (1, late) and new.open_key is not None
