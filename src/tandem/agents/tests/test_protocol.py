"""``/agent/v1/`` through HTTP: enrolment and its refusals, check-ins with full, delta and
unchanged inventories, replays, malformed and oversized bodies, revoked credentials."""

from __future__ import annotations

import datetime as dt
import gzip

import pytest
from django.utils import timezone

from tandem.agents.documents import state_hash
from tandem.agents.models import (
    AgentReport,
    DeviceCredential,
    EnrolmentToken,
    InstalledSoftware,
    PendingUpdate,
    SoftwareChange,
)
from tandem.agents.services import request_credential_rotation
from tandem.agents.tests.support import check_in, document, enrol, full, make_token, post, report
from tandem.assets.models import Device
from tandem.audit.models import AuditEntry
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem_agent.inventory import delta

pytestmark = pytest.mark.django_db


def _count(model) -> int:  # type: ignore[no-untyped-def]
    with system_context("test: count"):
        return model.objects.count()


def _enrolled(client, world):  # type: ignore[no-untyped-def]
    _token, secret = make_token(world)
    answer = enrol(client, secret)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    return body["device_id"], body["credential"]


def test_enrol_makes_a_device_and_a_credential_and_is_audited(client, world) -> None:  # type: ignore[no-untyped-def]
    token, secret = make_token(world, max_uses=2)
    answer = enrol(client, secret)
    assert answer.status_code == 201
    body = answer.json()
    assert body["credential"].startswith("tdd_") and body["server_time"]
    with system_context("test"):
        device = Device.objects.get(pk=body["device_id"])
        assert device.tenant_id == world["tenant"] and device.hostname == "lab-1"
        assert EnrolmentToken.objects.get(pk=token.pk).uses == 1
        assert AuditEntry.objects.filter(action="agents.enrol_device").count() == 1
        # The secret itself is never stored.
        assert not DeviceCredential.objects.filter(secret_hash=body["credential"]).exists()


@pytest.mark.parametrize(
    ("options", "code", "status"),
    [
        ({"max_uses": 1}, "used_up_token", 403),
        ({}, "revoked_token", 403),
        ({}, "expired_token", 403),
    ],
)
def test_refused_tokens_write_nothing(client, world, options, code, status) -> None:  # type: ignore[no-untyped-def]
    token, secret = make_token(world, **options)
    if code == "used_up_token":
        assert enrol(client, secret, hardware_id="first").status_code == 201
    with system_context("test"):
        if code == "revoked_token":
            EnrolmentToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
        if code == "expired_token":
            EnrolmentToken.objects.filter(pk=token.pk).update(
                expires_at=timezone.now() - dt.timedelta(seconds=1)
            )
    devices = _count(Device)
    answer = enrol(client, secret, hardware_id="second")
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert _count(Device) == devices


def test_unknown_token_is_refused(client, world) -> None:  # type: ignore[no-untyped-def]
    devices = _count(Device)
    answer = enrol(client, "tde_00000000_forged")
    assert (answer.status_code, answer.json()["code"]) == (401, "unknown_token")
    assert _count(Device) == devices


def test_full_then_delta_then_unchanged_keeps_software_and_history(client, world) -> None:  # type: ignore[no-untyped-def]
    device_id, credential = _enrolled(client, world)
    first = document(
        {"openssl": "3.0.14-1", "curl": "7.88.1-10", "vim": "2:9.0.1378-2"},
        {"openssl": ("3.0.14-1", "3.0.15-1", True)},
    )
    answer = check_in(client, credential, device_id, [full(1, first)])
    assert answer.status_code == 200, answer.content
    assert answer.json()["state_hash"] == state_hash(first)
    assert _count(InstalledSoftware) == 3 and _count(PendingUpdate) == 1
    assert _count(SoftwareChange) == 0  # the first inventory is the baseline, not a change

    second = document({"openssl": "3.0.15-1", "vim": "2:9.0.1378-1", "htop": "3.2.2-2"})
    change = delta(first, second)
    third = report(3, state_hash=state_hash(second), unchanged=True)
    answer = check_in(
        client,
        credential,
        device_id,
        [report(2, state_hash=state_hash(second), delta=change), third],
    )
    body = answer.json()
    assert answer.status_code == 200 and not body["need_full"]
    assert len(body["accepted"]) == 2
    with system_context("test"):
        kinds = {
            (c.name, c.kind, c.from_version, c.to_version) for c in SoftwareChange.objects.all()
        }
        assert kinds == {
            ("openssl", "upgraded", "3.0.14-1", "3.0.15-1"),
            ("vim", "downgraded", "2:9.0.1378-2", "2:9.0.1378-1"),
            ("curl", "removed", "7.88.1-10", ""),
            ("htop", "installed", "", "3.2.2-2"),
        }
        assert sorted(InstalledSoftware.objects.values_list("title__name", "title__version")) == [
            ("htop", "3.2.2-2"),
            ("openssl", "3.0.15-1"),
            ("vim", "2:9.0.1378-1"),
        ]
        assert PendingUpdate.objects.count() == 0
        device = Device.objects.get(pk=device_id)
        assert device.inventory_hash == state_hash(second) and device.last_seen_at
        assert device.os_name == "Debian GNU/Linux 12" and device.kernel == "6.1.0"


def test_a_delta_on_another_base_asks_for_the_full_inventory(client, world) -> None:  # type: ignore[no-untyped-def]
    device_id, credential = _enrolled(client, world)
    first = document({"a": "1"})
    check_in(client, credential, device_id, [full(1, first)])
    other = document({"b": "1"})
    stale = report(2, state_hash="x", delta=delta(other, document({"b": "2"})))
    after = report(3, state_hash=state_hash(first), unchanged=True)
    body = check_in(client, credential, device_id, [stale, after]).json()
    assert body["need_full"] is True and body["accepted"] == []
    # The whole document then goes through.
    body = check_in(client, credential, device_id, [full(2, document({"b": "2"}))]).json()
    assert body["need_full"] is False and len(body["accepted"]) == 1


def test_a_report_sent_again_is_acknowledged_and_not_applied_twice(client, world) -> None:  # type: ignore[no-untyped-def]
    device_id, credential = _enrolled(client, world)
    first = document({"a": "1"})
    check_in(client, credential, device_id, [full(1, first)])
    second = document({"a": "2"})
    step = report(2, state_hash=state_hash(second), delta=delta(first, second))
    assert check_in(client, credential, device_id, [step]).json()["accepted"] == [step["id"]]
    again = check_in(client, credential, device_id, [step])
    assert again.status_code == 200 and again.json()["accepted"] == [step["id"]]
    assert _count(SoftwareChange) == 1 and _count(AgentReport) == 2


def test_an_old_sequence_under_a_new_id_is_refused(client, world) -> None:  # type: ignore[no-untyped-def]
    device_id, credential = _enrolled(client, world)
    first = document({"a": "1"})
    check_in(client, credential, device_id, [full(5, first)])
    answer = check_in(client, credential, device_id, [full(4, document({"a": "0"}))])
    assert (answer.status_code, answer.json()["code"]) == (422, "replayed")
    with system_context("test"):
        assert list(InstalledSoftware.objects.values_list("title__version", flat=True)) == ["1"]


def test_one_malformed_report_refuses_the_whole_batch(client, world) -> None:  # type: ignore[no-untyped-def]
    device_id, credential = _enrolled(client, world)
    good = full(1, document({"a": "1"}))
    bad = report(2, inventory={"schema_version": 1, "software": [{"name": "no id"}]})
    answer = check_in(client, credential, device_id, [good, bad])
    assert answer.status_code == 422 and "id" in answer.json()["detail"]
    assert _count(InstalledSoftware) == 0 and _count(AgentReport) == 0


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"not gzip at all", 400),
        (gzip.compress(b"{not json"), 400),
        (gzip.compress(b"[]"), 422),
        (gzip.compress(b" " * (17 * 1024 * 1024)), 413),
    ],
)
def test_malformed_and_oversized_bodies(client, world, raw, status) -> None:  # type: ignore[no-untyped-def]
    device_id, credential = _enrolled(client, world)
    answer = post(client, "check-in", None, credential=credential, raw=raw)
    assert answer.status_code == status
    assert answer.json()["detail"] and answer.json()["code"]


def test_revoked_forged_and_missing_credentials_are_refused(client, world) -> None:  # type: ignore[no-untyped-def]
    device_id, credential = _enrolled(client, world)
    assert check_in(client, "tdd_0000_forged", device_id, []).json()["code"] == "unknown"
    assert post(client, "check-in", {"device_id": device_id}).status_code == 401
    with system_context("test"):
        DeviceCredential.objects.update(revoked_at=timezone.now())
    answer = check_in(client, credential, device_id, [])
    assert (answer.status_code, answer.json()["code"]) == (401, "revoked")


def test_a_heartbeat_answers_server_time_and_writes_last_seen_once(
    client, world, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    device_id, credential = _enrolled(client, world)
    check_in(client, credential, device_id, [])
    with django_assert_max_num_queries(8):
        body = check_in(client, credential, device_id, []).json()
    assert body["server_time"] and body["accepted"] == [] and body["check_in_interval"] == 100


def test_enrolling_again_keeps_the_device_and_records_what_changed_meanwhile(client, world) -> None:  # type: ignore[no-untyped-def]
    device_id, credential = _enrolled(client, world)
    check_in(client, credential, device_id, [full(1, document({"a": "1", "b": "1"}))])
    _token, secret = make_token(world, name="Second token")
    again = enrol(client, secret).json()
    assert again["device_id"] == device_id
    # The old credential is revoked; the new identity starts again at sequence 1, whole.
    assert check_in(client, credential, device_id, []).json()["code"] == "revoked"
    answer = check_in(
        client, again["credential"], device_id, [full(1, document({"a": "2", "b": "1"}))]
    )
    assert answer.status_code == 200, answer.content
    with system_context("test"):
        assert [(c.name, c.kind) for c in SoftwareChange.objects.all()] == [("a", "upgraded")]
        assert InstalledSoftware.objects.filter(device_id=device_id).count() == 2


def test_rotation_hands_out_a_new_credential_and_the_old_works_until_it_is_used(
    client, world
) -> None:  # type: ignore[no-untyped-def]
    device_id, credential = _enrolled(client, world)
    check_in(client, credential, device_id, [])
    with system_context("test"):
        device = Device.objects.get(pk=device_id)
    request_credential_rotation(actor=system_principal("test"), device=device)
    lost = check_in(client, credential, device_id, []).json()["credential"]["value"]
    # The answer was lost: the old credential still works, and a fresh one is handed out.
    fresh = check_in(client, credential, device_id, []).json()["credential"]["value"]
    assert lost != fresh
    assert check_in(client, lost, device_id, []).status_code == 401
    assert check_in(client, fresh, device_id, []).json()["credential"] is None
    assert check_in(client, credential, device_id, []).json()["code"] == "revoked"
    with system_context("test"):
        assert AuditEntry.objects.filter(action="agents.rotate_device_credential").count() == 2


def test_a_credential_of_one_device_cannot_report_for_another(client, world) -> None:  # type: ignore[no-untyped-def]
    device_id, credential = _enrolled(client, world)
    answer = check_in(client, credential, str(world["other_device"]), [full(1, document({}))])
    assert (answer.status_code, answer.json()["code"]) == (403, "wrong_device")
    assert _count(InstalledSoftware) == 0


def test_a_device_credential_is_no_credential_for_the_api_or_pages(client, world) -> None:  # type: ignore[no-untyped-def]
    device_id, credential = _enrolled(client, world)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {credential}"}
    assert client.get(f"/api/v1/devices/{device_id}/software", **bearer).status_code == 401
    assert client.get("/api/v1/tenants", **bearer).status_code == 401
    page = client.get(f"/tenants/{world['tenant']}/devices/{device_id}/inventory/", **bearer)
    assert page.status_code == 302 and "/login" in page["Location"]
