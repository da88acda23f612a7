"""Entries that belong to no tenant (the instance chain): what leaves one, and who reads it.

The instance operator reads the whole instance chain (and no tenant's); a provider admin
reads the entries about its own people; nobody else reads any of it.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tests.personas import World, user_of

NEW_PASSWORD = "a-fresh-and-long-passphrase-42"


def _client(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(user_of(world, persona))
    return client


def _entries(client: Client, **filters: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/audit", {"limit": 1000, **filters})
    assert response.status_code == 200, response.content[:200]
    return list(response.json()["items"])


def _readers(world: World, action: str, target_id: int | None = None) -> set[str]:
    """The personas (and the operator) whose audit API lists an entry of ``action``."""
    found = set()
    for persona in ("operator", "owner", "provider_admin", "other_tenant_owner"):
        rows = _entries(_client(world, persona))
        if any(
            r["action"] == action and (target_id is None or r["target_id"] == str(target_id))
            for r in rows
        ):
            found.add(persona)
    return found


def _reset_password(world: World, persona: str) -> Any:
    """Follow the e-mailed reset link and choose a new password, as a browser does."""
    user = user_of(world, persona)
    browser = Client()
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = reverse(
        "accounts:password-reset-confirm", args=[uid, default_token_generator.make_token(user)]
    )
    form_url = browser.get(link)["Location"]
    return browser.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})


def test_a_password_reset_is_audited_for_the_operator_only(world) -> None:  # type: ignore[no-untyped-def]
    response = _reset_password(world, "internal_tech")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password-reset-complete")

    entries = [
        e
        for e in _entries(_client(world, "operator"), instance_level=True)
        if e["action"] == "accounts.complete_password_reset"
    ]
    assert len(entries) == 1
    assert entries[0]["actor_label"] == "tech@acme.test"
    assert entries[0]["tenant_id"] is None
    assert "accounts.complete_password_reset" not in {
        e["action"] for e in _entries(_client(world, "owner"))
    }
    assert _readers(world, "accounts.complete_password_reset") == {"operator"}
    # The internal technician has no audit permission at all.
    assert _client(world, "internal_tech").get("/api/v1/audit").status_code == 403


def test_a_password_reset_ends_sessions_and_revokes_api_tokens(world) -> None:  # type: ignore[no-untyped-def]
    signed_in = _client(world, "owner")
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {world.secrets['owner_token']}")
    assert bearer.get("/api/v1/me").status_code == 200

    assert _reset_password(world, "owner").status_code == 302

    assert bearer.get("/api/v1/me").status_code == 401
    assert signed_in.get("/").status_code == 302  # back to the sign-in page
    entry = next(
        e
        for e in _entries(_client(world, "operator"), instance_level=True)
        if e["action"] == "accounts.complete_password_reset"
    )
    assert world["token"] in entry["changes"]["revoked_api_tokens"][1]
    # The new password works.
    signed_in_again = Client().post(
        reverse("accounts:login"), {"email": "owner@acme.test", "password": NEW_PASSWORD}
    )
    assert signed_in_again.status_code == 302
    assert not signed_in_again["Location"].startswith(reverse("accounts:login"))


def test_starting_totp_enrolment_is_audited_without_its_secret(world) -> None:  # type: ignore[no-untyped-def]
    tech = _client(world, "internal_tech")
    response = tech.post(reverse("accounts:mfa-setup"), {"step": "start"})
    assert response.status_code == 302

    from tandem.accounts.models import TotpDevice

    secret = TotpDevice.objects.get(user=user_of(world, "internal_tech")).secret
    entries = [
        e
        for e in _entries(_client(world, "operator"), instance_level=True)
        if e["action"] == "accounts.start_totp_setup"
    ]
    assert len(entries) == 1 and entries[0]["actor_label"] == "tech@acme.test"
    assert secret not in json.dumps(entries[0])
    assert _readers(world, "accounts.start_totp_setup") == {"operator"}


def test_a_provider_admin_reads_the_creation_of_its_own_people(world) -> None:  # type: ignore[no-untyped-def]
    admin = _client(world, "provider_admin")
    response = admin.post(
        "/api/v1/memberships",
        data=json.dumps(
            {
                "email": "new.tech@northwind.test",
                "role_key": "provider-technician",
                "provider_id": world["provider"],
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    user_id = response.json()["user_id"]

    assert _readers(world, "accounts.create_user", user_id) == {"operator", "provider_admin"}


def test_a_provider_admin_reads_its_staffs_tokens(world) -> None:  # type: ignore[no-untyped-def]
    tech = _client(world, "provider_tech")
    created = tech.post(
        "/api/v1/tokens",
        data=json.dumps({"name": "nw script", "membership_id": world["membership:provider_tech"]}),
        content_type="application/json",
    )
    assert created.status_code == 201
    token_id = created.json()["id"]

    assert _readers(world, "accounts.create_apitoken", token_id) == {"operator", "provider_admin"}
    # Northwind's technician holds no audit permission.
    assert tech.get("/api/v1/audit").status_code == 403


def test_the_operator_reads_no_tenants_chain(world) -> None:  # type: ignore[no-untyped-def]
    rows = _entries(_client(world, "operator"))
    assert rows and all(r["tenant_id"] is None for r in rows)
    page = _client(world, "operator").get(reverse("audit:log", args=[world["tenant"]]))
    assert page.status_code == 404
