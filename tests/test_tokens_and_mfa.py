"""Personal API tokens and the enforced second factor."""

from __future__ import annotations

import datetime as dt
import json

from django.test import Client
from django.utils import timezone

from tandem.accounts.models import ApiToken


def _create(client, **body):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/tokens", data=json.dumps(body), content_type="application/json")


def test_token_is_shown_once_hashed_at_rest_and_records_use(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    created = _create(
        as_persona("owner"),
        name="backup script",
        membership_id=world["membership:owner"],
        scope="read",
    )
    assert created.status_code == 201
    raw = created.json()["token"]
    row = ApiToken.objects.get(pk=created.json()["id"])
    assert raw not in (row.secret_hash, row.prefix) and row.last_used_at is None
    me = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/me")
    assert me.status_code == 200 and me.json()["email"] == "owner@acme.test"
    row.refresh_from_db()
    assert row.last_used_at is not None
    listed = as_persona("owner").get("/api/v1/tokens").json()["items"]
    assert all("token" not in item for item in listed)


def test_read_only_token_cannot_write(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    raw = _create(
        as_persona("owner"), name="reader", membership_id=world["membership:owner"]
    ).json()["token"]
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert reader.get(f"/api/v1/sites/{world['site']}").status_code == 200
    response = reader.patch(
        f"/api/v1/sites/{world['site']}",
        data=json.dumps({"address": "x"}),
        content_type="application/json",
    )
    assert response.status_code == 403


def test_write_token_can_write(world) -> None:  # type: ignore[no-untyped-def]
    writer = Client(HTTP_AUTHORIZATION=f"Bearer {world.secrets['owner_token']}")
    response = writer.patch(
        f"/api/v1/sites/{world['site']}",
        data=json.dumps({"address": "Main St"}),
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["address"] == "Main St"


def test_token_is_bound_to_one_membership(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    # Northwind's technician is also a requester at Globex in the demo; here a token for the
    # provider membership must not carry any other membership's access.
    raw = _create(
        as_persona("provider_tech"), name="nw", membership_id=world["membership:provider_tech"]
    ).json()["token"]
    accesses = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/me").json()["accesses"]
    assert {a["provider_id"] for a in accesses} == {world["provider"]}


def test_someone_elses_membership_cannot_back_a_token(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    response = _create(
        as_persona("requester"), name="steal", membership_id=world["membership:owner"]
    )
    assert response.status_code == 422


def test_expired_revoked_and_garbage_tokens_are_401(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    created = _create(owner, name="short", membership_id=world["membership:owner"]).json()
    raw = created["token"]
    ApiToken.objects.filter(pk=created["id"]).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/me").status_code == 401

    second = _create(owner, name="revoked", membership_id=world["membership:owner"]).json()
    assert owner.post(f"/api/v1/tokens/{second['id']}/revoke").status_code == 200
    assert (
        Client(HTTP_AUTHORIZATION=f"Bearer {second['token']}").get("/api/v1/me").status_code == 401
    )
    assert Client(HTTP_AUTHORIZATION="Bearer tdm_nope_nope").get("/api/v1/me").status_code == 401


def test_deactivating_a_membership_revokes_its_tokens(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    raw = _create(
        as_persona("internal_tech"), name="it", membership_id=world["membership:internal_tech"]
    ).json()["token"]
    owner = as_persona("owner")
    assert (
        owner.post(
            f"/api/v1/memberships/{world['membership:internal_tech']}/deactivate"
        ).status_code
        == 200
    )
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/me").status_code == 401


def test_token_lifetime_is_bounded(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    response = _create(
        as_persona("owner"),
        name="forever",
        membership_id=world["membership:owner"],
        expires_in_days=5000,
    )
    assert response.status_code == 422


def test_enforced_mfa_blocks_until_enrolled(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    import pyotp

    owner = as_persona("owner")
    assert (
        owner.patch(
            f"/api/v1/tenants/{world['tenant']}",
            data=json.dumps({"require_mfa": True}),
            content_type="application/json",
        ).status_code
        == 200
    )
    tech = as_persona("internal_tech")
    blocked = tech.get("/api/v1/sites")
    assert blocked.status_code == 403 and "second factor" in blocked.json()["detail"]
    page = tech.get("/")
    assert page.status_code == 302 and page["Location"].startswith("/account/mfa/")

    from tandem.accounts.services import confirm_totp, start_totp_setup
    from tandem.core.principal import Principal
    from tests.personas import user_of

    user = user_of(world, "internal_tech")
    me = Principal(user_id=user.pk, label=user.email)
    device = start_totp_setup(actor=me, user=user)
    confirm_totp(actor=me, user=user, code=pyotp.TOTP(device.secret).now())
    assert tech.get("/api/v1/sites").status_code == 200


def test_a_totp_code_cannot_be_replayed(world) -> None:  # type: ignore[no-untyped-def]
    import pyotp

    from tandem.accounts.services import check_totp, start_totp_setup
    from tandem.core.principal import Principal
    from tests.personas import user_of

    user = user_of(world, "owner")
    device = start_totp_setup(actor=Principal(user_id=user.pk, label="o"), user=user)
    code = pyotp.TOTP(device.secret).now()
    assert check_totp(device=device, code=code) is True
    assert check_totp(device=device, code=code) is False
    assert check_totp(device=device, code="12345x") is False


def test_a_provider_can_enforce_mfa_for_its_staff(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    admin = as_persona("provider_admin")
    response = admin.patch(
        f"/api/v1/providers/{world['provider']}",
        data=json.dumps({"require_mfa": True}),
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["require_mfa"] is True
    tech = as_persona("provider_tech")
    assert tech.get("/api/v1/sites").status_code == 403
    # Staff of other providers are not affected.
    assert as_persona("second_provider_tech").get("/api/v1/sites").status_code == 200


def test_a_tenant_enforcing_mfa_holds_its_providers_staff_too(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    # Northwind's technician reaches Acme through an engagement, not a membership.
    tech = as_persona("provider_tech")
    assert tech.get("/api/v1/sites").status_code == 200
    owner = as_persona("owner")
    response = owner.patch(
        f"/api/v1/tenants/{world['tenant']}",
        data=json.dumps({"require_mfa": True}),
        content_type="application/json",
    )
    assert response.status_code == 200
    blocked = as_persona("provider_tech").get("/api/v1/sites")
    assert blocked.status_code == 403 and "second factor" in blocked.json()["detail"]
    # Someone who reaches no enforcing tenant is not affected.
    assert as_persona("other_tenant_owner").get("/api/v1/sites").status_code == 200
