"""The device credential's read (``credentials.find_device_credential``): one plain
statement whose instances must be what the ORM's ``select_related`` read built, and the
refusals of ``authenticate_device`` through it (decision 0049, fourth round)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Model
from django.utils import timezone

from tandem.agents.credentials import authenticate_device, find_device_credential
from tandem.agents.models import DeviceCredential
from tandem.agents.tests.support import check_in, document, enrol, full, make_token
from tandem.assets.choices import DeviceStatus
from tandem.assets.models import Device
from tandem.core.principal import ANONYMOUS
from tandem.core.scoping import system_context

pytestmark = pytest.mark.django_db


def _enrolled(client, world) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    _token, secret = make_token(world)
    body = enrol(client, secret).json()
    return int(body["device_id"]), body["credential"]


def _values(instance: Model) -> dict[str, object]:
    """Every concrete field's value with its type: what code reading the instance sees."""
    return {
        f.attname: (getattr(instance, f.attname), type(getattr(instance, f.attname)))
        for f in instance._meta.concrete_fields
    }


def test_the_plain_read_builds_the_instances_the_orm_built(  # type: ignore[no-untyped-def]
    client, world, django_assert_num_queries
) -> None:
    device_id, secret = _enrolled(client, world)
    # Every kind of value present: a first use, a pending reboot, a last check-in.
    check_in(client, secret, str(device_id), [full(1, document({"a": "1"}))])
    with system_context("test"):
        Device.objects.filter(pk=device_id).update(
            reboot_pending=True, reboot_pending_since=timezone.now() - dt.timedelta(hours=1)
        )
        expected = DeviceCredential.objects.select_related("device").get(device_id=device_id)
    with django_assert_num_queries(1):
        credential = find_device_credential(secret)
        assert credential is not None
        device = credential.device  # came with it: no second query
    assert _values(credential) == _values(expected)
    assert _values(device) == _values(expected.device)
    assert credential.first_used_at is not None and device.reboot_pending is True
    assert credential.first_used_at.tzinfo is not None and device.enrolled_at.tzinfo is not None
    assert credential.device_id == device.pk == device_id
    assert credential.tenant_id == device.tenant_id == world["tenant"]
    # Saved rows, as the ORM's: a save updates, never inserts a second row.
    assert not credential._state.adding and credential._state.db == "default"
    assert not device._state.adding and device._state.db == "default"


def test_unknown_malformed_and_missing_credentials_are_refused(client, world) -> None:  # type: ignore[no-untyped-def]
    _device_id, secret = _enrolled(client, world)
    assert find_device_credential(secret[:-1] + ("x" if secret[-1] != "x" else "y")) is None
    assert find_device_credential("tdm_abc_def") is None  # an API token's tag
    unknown = authenticate_device("Bearer tdd_0000_forged")
    assert unknown.principal is ANONYMOUS and unknown.credential is None
    assert unknown.refusal is not None and unknown.refusal[0] == "unknown"
    missing = authenticate_device("")
    assert missing.principal is ANONYMOUS and missing.refusal is None


def test_a_live_credential_gives_its_device_principal(client, world) -> None:  # type: ignore[no-untyped-def]
    device_id, secret = _enrolled(client, world)
    auth = authenticate_device(f"Bearer {secret}")
    assert auth.refusal is None and auth.credential is not None
    assert auth.principal.device_id == device_id
    assert auth.principal.device_tenant_id == world["tenant"]
    assert auth.principal.label == "device: lab-1"


@pytest.mark.parametrize("why", ["revoked", "retired"])
def test_a_revoked_credential_or_a_retired_device_is_refused(client, world, why) -> None:  # type: ignore[no-untyped-def]
    device_id, secret = _enrolled(client, world)
    with system_context("test"):
        if why == "revoked":
            DeviceCredential.objects.filter(device_id=device_id).update(revoked_at=timezone.now())
        else:
            Device.objects.filter(pk=device_id).update(status=DeviceStatus.RETIRED)
    auth = authenticate_device(f"Bearer {secret}")
    assert auth.principal is ANONYMOUS and auth.credential is None
    assert auth.refusal is not None and auth.refusal[0] == "revoked"
    answer = check_in(client, secret, str(device_id), [])
    assert (answer.status_code, answer.json()["code"]) == (401, "revoked")
