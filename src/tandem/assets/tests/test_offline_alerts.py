"""Offline alerts (decision 0032), end to end: a device that stops checking in passes its
policy's minutes, the periodic check records ``device.went_offline``, the desk's subscriber
opens one ticket routed by the responsibility matrix and linked to the device; the device
checks in again, the check records ``device.came_back``, and the ticket gets a note and is
resolved. Times are relative to now (decision 0019): nothing here names a date."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone
from tests.personas import login_client, user_of

from tandem.accounts.principals import resolve_principal
from tandem.agents.tests.support import check_in, enrol, make_token
from tandem.assets import offline_services
from tandem.assets import services as asset_services
from tandem.assets.models import Device, OfflineAlertPolicy, OfflineEpisode
from tandem.audit.models import AuditEntry
from tandem.core import events
from tandem.core.errors import Conflict, InvalidInput
from tandem.core.models import OutboxEvent
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.responsibility import services as matrix_services
from tandem.servicedesk.tickets.models import Comment, OfflineTicket, Ticket, TicketDevice
from tandem.tenancy.models import ServiceArea, Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_policies(world) -> None:  # type: ignore[no-untyped-def]
    """The persona world has Acme's policy and an HQ override (off, for the isolation
    matrix): each test here starts from none and sets what it tells."""
    with system_context("test: start without offline alert policies"):
        OfflineAlertPolicy.objects.all().delete()


def _get(model, pk):  # type: ignore[no-untyped-def]
    with system_context("test: load a row"):
        return model.objects.get(pk=pk)


def _rows(model, **filters):  # type: ignore[no-untyped-def]
    with system_context("test: read rows"):
        return list(model.objects.filter(**filters).order_by("id"))


def _backup_area(world) -> int:  # type: ignore[no-untyped-def]
    with system_context("test: the backup area"):
        return ServiceArea.objects.get(tenant_id=world["tenant"], key="backup").pk


def _policy(world, **values):  # type: ignore[no-untyped-def]
    owner = resolve_principal(user_of(world, "owner"))
    options = {
        "enabled": True,
        "minutes": 30,
        "service_area_id": _backup_area(world),
        "impact": 2,
        "urgency": 2,
        **values,
    }
    return offline_services.set_offline_policy(
        actor=owner, tenant=_get(Tenant, world["tenant"]), **options
    )


def _northwind_owns_hq_servers(world) -> None:  # type: ignore[no-untyped-def]
    """A matrix row: backup of Acme's "HQ servers" asset group is Northwind's."""
    matrix_services.add_matrix_row(
        actor=system_principal("test: the matrix"),
        tenant=_get(Tenant, world["tenant"]),
        service_area_id=_backup_area(world),
        asset_group_id=world["asset_group"],
        responsible_id=world["party"],
        accountable_id=world["internal_party"],
    )


def _last_seen(device_id: int, when: dt.datetime | None) -> None:
    with system_context("test: a device's last check-in"):
        Device.objects.filter(pk=device_id).update(
            last_seen_at=when, enrolled_at=when or timezone.now() - dt.timedelta(days=3)
        )


def _offline_tickets(device_id: int) -> list[Ticket]:
    with system_context("test: the device's tickets"):
        ids = TicketDevice.objects.filter(device_id=device_id).values_list("ticket_id", flat=True)
        return list(Ticket.objects.filter(pk__in=list(ids), source="monitoring").order_by("id"))


def test_a_device_gone_opens_one_routed_ticket_and_its_return_resolves_it(world) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    _northwind_owns_hq_servers(world)
    # Only the "HQ servers" group: the world's other devices never checked in either.
    _policy(world, devices="asset_group", asset_group_id=world["asset_group"])
    device = world["device"]  # Acme HQ, in "HQ servers"
    _last_seen(device, now - dt.timedelta(minutes=45))

    assert offline_services.check_offline_devices(now=now) == {"went": 1, "back": 0}
    (ticket,) = _offline_tickets(device)
    # Routed by the matrix's row for the device's asset group: Northwind holds it.
    assert ticket.party_id == world["party"]
    assert ticket.subject == "Device offline: acme-hq-db01"
    assert "not checked in for more than 30 minutes" in ticket.description
    assert "Last check-in: " + (now - dt.timedelta(minutes=45)).strftime("%Y-%m-%d %H:%M") in (
        ticket.description
    )
    assert ticket.service_area_id == _backup_area(world)
    assert ticket.resolved_at is None
    (went,) = _rows(OutboxEvent, type="device.went_offline")
    assert went.payload["device_id"] == device
    assert _rows(AuditEntry, action="assets.device_went_offline")

    # Repeated runs while the device stays away: nothing new, no second ticket.
    for minutes in (1, 5, 60):
        later = now + dt.timedelta(minutes=minutes)
        assert offline_services.check_offline_devices(now=later) == {"went": 0, "back": 0}
    assert len(_offline_tickets(device)) == 1
    assert len(_rows(OutboxEvent, type="device.went_offline")) == 1

    # It checks in again: the next check sees it back, notes and resolves the ticket.
    _last_seen(device, now + dt.timedelta(minutes=61))
    back = offline_services.check_offline_devices(now=now + dt.timedelta(minutes=62))
    assert back == {"went": 0, "back": 1}
    ticket = _get(Ticket, ticket.pk)
    assert ticket.resolved_at is not None
    (note,) = _rows(Comment, ticket_id=ticket.pk)
    assert "acme-hq-db01 checked in again" in note.body
    assert offline_services.check_offline_devices(now=now + dt.timedelta(minutes=63)) == {
        "went": 0,
        "back": 0,
    }
    assert len(_rows(Comment, ticket_id=ticket.pk)) == 1

    # Gone again later: a new episode, a new ticket.
    _last_seen(device, now + dt.timedelta(minutes=61))
    assert offline_services.check_offline_devices(now=now + dt.timedelta(minutes=200))["went"] == 1
    assert len(_offline_tickets(device)) == 2


def test_an_unplaced_device_goes_to_internal_it_and_a_note_only_policy_keeps_it_open(world) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    _northwind_owns_hq_servers(world)
    _policy(world, resolve_on_return=False)
    device = world["device_unplaced"]
    _last_seen(device, now - dt.timedelta(hours=2))
    offline_services.check_offline_devices(now=now)
    (ticket,) = _offline_tickets(device)
    assert ticket.party_id == world["internal_party"]
    _last_seen(device, now + dt.timedelta(minutes=2))
    offline_services.check_offline_devices(now=now + dt.timedelta(minutes=3))
    ticket = _get(Ticket, ticket.pk)
    assert ticket.resolved_at is None
    assert len(_rows(Comment, ticket_id=ticket.pk)) == 1


def test_a_disabled_policy_or_a_fresh_check_in_opens_nothing(world) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    _policy(world, enabled=False)
    _last_seen(world["device"], now - dt.timedelta(days=2))
    _last_seen(world["device_unplaced"], now - dt.timedelta(minutes=10))
    assert offline_services.check_offline_devices(now=now) == {"went": 0, "back": 0}
    _policy(world, enabled=True)
    _last_seen(world["device"], now - dt.timedelta(minutes=10))
    assert offline_services.check_offline_devices(now=now) == {"went": 0, "back": 0}
    assert _rows(OfflineEpisode) == []
    assert _offline_tickets(world["device"]) == []


def test_the_policy_chooses_devices_and_a_site_overrides_it(world) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    for name in ("device", "device_out_of_scope", "device_unplaced"):
        _last_seen(world[name], now - dt.timedelta(hours=3))
    # Only the HQ servers group, and the Branch site (device_out_of_scope) mutes alerts.
    _policy(world, devices="asset_group", asset_group_id=world["asset_group"])
    _policy(world, site_id=world["site_out_of_scope"], enabled=False)
    assert offline_services.check_offline_devices(now=now)["went"] == 1
    assert [e.device_id for e in _rows(OfflineEpisode)] == [world["device"]]
    # The tenant watches everything; the Branch override still mutes its site.
    _policy(world, devices="all")
    assert offline_services.check_offline_devices(now=now)["went"] == 1
    assert sorted(e.device_id for e in _rows(OfflineEpisode)) == sorted(
        [world["device"], world["device_unplaced"]]
    )


def test_only_the_tenants_it_sets_the_policy_and_bad_input_changes_nothing(world) -> None:  # type: ignore[no-untyped-def]
    acme = _get(Tenant, world["tenant"])
    for persona in ("provider_admin", "requester", "other_tenant_owner"):
        with pytest.raises(PermissionDenied):
            offline_services.set_offline_policy(
                actor=resolve_principal(user_of(world, persona)),
                tenant=acme,
                enabled=True,
                minutes=30,
            )
    with pytest.raises(InvalidInput) as refused:
        _policy(world, minutes=2)
    assert "minutes" in refused.value.field_errors
    with pytest.raises(InvalidInput) as refused:
        _policy(world, devices="asset_group")
    assert "asset_group_id" in refused.value.field_errors
    with pytest.raises(InvalidInput):
        _policy(world, service_area_id=world["other_service_area"])
    assert _rows(OfflineAlertPolicy) == []
    policy = _policy(world)
    assert policy.requester_id == user_of(world, "owner").pk
    with pytest.raises(Conflict):
        _policy(world)
    (entry,) = _rows(AuditEntry, action="assets.set_offline_policy", target_id=str(policy.pk))
    assert entry.changes["minutes"] == [None, 30]


def test_full_path_through_the_agent_protocol(world, client) -> None:  # type: ignore[no-untyped-def]
    """A real enrolment and check-ins through ``/agent/v1/``: silence, the check, the
    ticket; a heartbeat, the check, the resolution."""
    _policy(world)
    _, secret = make_token(world)
    answer = enrol(client, secret, hardware_id="hw-offline", hostname="lab-offline")
    assert answer.status_code == 201, answer.content
    credential, device_id = answer.json()["credential"], answer.json()["device_id"]
    now = timezone.now()
    _last_seen(device_id, now - dt.timedelta(hours=1))
    offline_services.check_offline_devices(now=now)
    (ticket,) = _offline_tickets(device_id)
    assert ticket.party_id == world["internal_party"]
    beat = check_in(client, credential, device_id, [])
    assert beat.status_code == 200, beat.content
    offline_services.check_offline_devices(now=timezone.now() + dt.timedelta(seconds=5))
    assert _get(Ticket, ticket.pk).resolved_at is not None
    assert _rows(OfflineTicket, ticket_id=ticket.pk)[0].came_back_at is not None


def test_the_settings_page_saves_the_policy_for_the_tenants_it_only(world, client) -> None:  # type: ignore[no-untyped-def]
    url = f"/tenants/{world['tenant']}/devices/offline-alerts/"
    form = {
        "site": "",
        "enabled": "on",
        "minutes": "20",
        "devices": "protected",
        "service_area": str(_backup_area(world)),
        "impact": "1",
        "urgency": "2",
        "resolve_on_return": "on",
    }
    provider = login_client(Client(), world, "provider_admin")
    assert provider.get(url).status_code == 404
    assert provider.post(url, form).status_code == 404
    assert _rows(OfflineAlertPolicy) == []
    owner = login_client(Client(), world, "owner")
    page = owner.get(url)
    assert page.status_code == 200 and "No policy yet" in page.content.decode()
    bad = owner.post(url, {**form, "minutes": "3"})
    assert bad.status_code == 422 and "Between 5 and" in bad.content.decode()
    assert owner.post(url, form).status_code == 302
    (policy,) = _rows(OfflineAlertPolicy)
    assert (policy.enabled, policy.minutes, policy.devices, policy.impact) == (
        True,
        20,
        "protected",
        1,
    )
    listed = owner.get(url).content.decode()
    assert "Protected devices only" in listed and "Resolve" in listed


def test_through_the_outbox_the_ticket_waits_for_the_worker(world, settings) -> None:  # type: ignore[no-untyped-def]
    """As in production: the check commits its event; the desk's subscriber runs when the
    worker dispatches the outbox row, once, however often it is dispatched again."""
    settings.EVENTS_EAGER = False
    now = timezone.now()
    _policy(world, devices="asset_group", asset_group_id=world["asset_group"])
    _last_seen(world["device"], now - dt.timedelta(hours=1))
    offline_services.check_offline_devices(now=now)
    (row,) = _rows(OutboxEvent, type="device.went_offline")
    assert row.dispatched_at is None and _offline_tickets(world["device"]) == []
    later = timezone.now() + dt.timedelta(minutes=10)
    assert events.dispatch(row.pk, now=later) == "dispatched"
    assert len(_offline_tickets(world["device"])) == 1
    assert events.dispatch(row.pk, now=later + dt.timedelta(minutes=10)) == "skipped"
    assert len(_offline_tickets(world["device"])) == 1


def _gone(world, now: dt.datetime) -> int:  # type: ignore[no-untyped-def]
    """The world's device, watched and silent for 45 minutes: its episode opened at ``now``."""
    _policy(world, devices="asset_group", asset_group_id=world["asset_group"])
    _last_seen(world["device"], now - dt.timedelta(minutes=45))
    offline_services.check_offline_devices(now=now)
    return int(world["device"])


def test_retiring_a_device_ends_its_offline_episode_and_none_opens_again(world) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    device = _gone(world, now)
    (episode,) = _rows(OfflineEpisode, device_id=device)
    assert episode.ended_at is None

    owner = resolve_principal(user_of(world, "owner"))
    asset_services.retire_device(actor=owner, device=_get(Device, device))
    (episode,) = _rows(OfflineEpisode, device_id=device)
    assert episode.ended_at is not None and episode.back_seen_at is None
    (retired,) = _rows(AuditEntry, action="assets.retire_device")
    assert retired.changes["offline_since"] == [episode.started_at.isoformat(), None]
    # It did not come back: no return recorded, the desk's ticket is left to a person.
    assert _rows(OutboxEvent, type="device.came_back") == []
    (ticket,) = _offline_tickets(device)
    assert _get(Ticket, ticket.pk).resolved_at is None

    # Silent for ever now, but retired: no new episode, however often the check runs.
    for minutes in (1, 60, 60 * 24):
        result = offline_services.check_offline_devices(now=now + dt.timedelta(minutes=minutes))
        assert result == {"went": 0, "back": 0}
    assert len(_rows(OfflineEpisode, device_id=device)) == 1
    assert len(_offline_tickets(device)) == 1


def test_the_check_ends_an_episode_left_open_by_a_device_retired_before(world) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    device = _gone(world, now)
    with system_context("test: a device retired before retirement ended episodes"):
        Device.objects.filter(pk=device).update(status="retired")
    later = now + dt.timedelta(minutes=5)
    assert offline_services.check_offline_devices(now=later) == {"went": 0, "back": 0}
    (episode,) = _rows(OfflineEpisode, device_id=device)
    assert episode.ended_at == later
    (ended,) = _rows(AuditEntry, action="assets.end_offline_episode")
    assert ended.changes == {"offline_since": [episode.started_at.isoformat(), None]}
