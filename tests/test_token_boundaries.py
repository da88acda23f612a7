"""What an API token may not do (decision 0016).

- A read-only token writes nothing: every unsafe operation of the API, found from the
  router registry, is refused before it runs, and nothing changes.
- No token issues tokens, whatever membership it names; a token sees and revokes only the
  tokens of its own membership.
- A token is no credential for pages.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.test import Client
from django.urls import reverse

from tandem.accounts.middleware import READ_ONLY_TOKEN_REFUSAL
from tandem.accounts.models import ApiToken, Membership, Role
from tandem.accounts.principals import resolve_principal
from tandem.accounts.services import TOKEN_MINTING_REFUSAL, add_membership, create_api_token
from tandem.core.principal import Principal, system_principal
from tandem.core.scoping import principal_scope, system_context
from tandem.servicedesk.queues.models import SavedView
from tandem.servicedesk.queues.services import create_saved_view
from tandem.tenancy.models import Tenant
from tests.isolation.expectations import WRITES
from tests.isolation.matrix import api_operations, fill
from tests.personas import World, membership_of, user_of

UNSAFE = [op for op in api_operations() if op.method not in ("GET", "HEAD", "OPTIONS")]


def _token(world: World, persona: str, scope: str, *, membership: Membership | None = None) -> str:
    """A fresh token of ``persona`` for its membership (or ``membership``), as its secret."""
    user = user_of(world, persona)
    _, raw = create_api_token(
        actor=Principal(user_id=user.pk, label=user.email),
        user=user,
        membership=membership or membership_of(world, persona),
        name=f"{scope} token {ApiToken.objects.count()}",
        scope=scope,
    )
    return raw


def _bearer(raw: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def _send(client: Client, method: str, url: str, body: Any) -> Any:
    data = json.dumps(body) if body is not None else ""
    return client.generic(method, url, data=data, content_type="application/json")


def _state() -> dict[str, tuple[int, Any]]:
    """Every table's row count and newest change: what a write would move."""
    state = {}
    with system_context("test: the state of every table"):
        for model in apps.get_models():
            if not model.__module__.startswith("tandem."):
                continue
            rows = model._default_manager.all()
            newest = None
            if any(f.name == "updated_at" for f in model._meta.get_fields()):
                newest = rows.aggregate(newest=Max("updated_at"))["newest"]
            state[model._meta.label] = (rows.count(), newest)
    return state


def test_the_walk_covers_the_unsafe_api() -> None:
    # A floor, so that a broken registry walk cannot make the walk below test nothing.
    assert len(UNSAFE) >= 30
    assert {op.method for op in UNSAFE} >= {"POST", "PATCH", "PUT", "DELETE"}


@pytest.mark.parametrize("op", UNSAFE, ids=str)
def test_a_read_only_token_is_refused_every_unsafe_operation(op, world) -> None:  # type: ignore[no-untyped-def]
    # The owner may do most writes, with the bodies the isolation matrix knows to be valid.
    spec = WRITES.get((op.method, op.path), {})
    url = fill(op.path, world, spec.get("target"))
    body = spec["body"](world, "owner") if spec.get("body") else None
    reader = _bearer(_token(world, "owner", "read"))
    before = _state()

    response = _send(reader, op.method, url, body)

    assert response.status_code == 403, response.content[:300]
    assert response.json() == {"detail": READ_ONLY_TOKEN_REFUSAL}
    assert _state() == before


def test_a_read_only_token_still_reads(world) -> None:  # type: ignore[no-untyped-def]
    reader = _bearer(_token(world, "owner", "read"))
    assert reader.get(f"/api/v1/sites/{world['site']}").status_code == 200
    assert reader.head(f"/api/v1/sites/{world['site']}").status_code in (200, 405)


def test_a_read_only_principal_writes_nothing_even_past_the_gate(world) -> None:  # type: ignore[no-untyped-def]
    """The backstop: a service called with a read-only token's principal by any other road
    (a GET that writes, a task) is refused by the audit log, and its write rolls back."""
    raw = _token(world, "owner", "read")
    token = ApiToken.objects.get(prefix=raw.split("_")[1])
    principal = resolve_principal(user_of(world, "owner"), token=token)
    before = SavedView.objects.count()
    with principal_scope(principal), pytest.raises(PermissionDenied):
        create_saved_view(actor=principal, name="Sneaky", filters={"sla": "breached"})
    assert SavedView.objects.count() == before


def _second_membership(world: World) -> Membership:
    """The owner of Acme is also a requester at Globex."""
    with system_context("test: Globex"):
        globex = Tenant.objects.get(pk=world["other_tenant"])
    return add_membership(
        actor=system_principal("test: a second membership"),
        user=user_of(world, "owner"),
        role=Role.objects.get(key="requester"),
        tenant=globex,
    )


@pytest.mark.parametrize("scope", ["read", "write"])
def test_no_token_issues_tokens_for_any_membership(world, scope) -> None:  # type: ignore[no-untyped-def]
    globex = _second_membership(world)
    client = _bearer(_token(world, "owner", scope))
    before = ApiToken.objects.count()
    for membership_id in (world["membership:owner"], globex.pk):
        for wanted in ("read", "write"):
            response = _send(
                client,
                "POST",
                "/api/v1/tokens",
                {
                    "name": f"child {membership_id} {wanted}",
                    "membership_id": membership_id,
                    "scope": wanted,
                },
            )
            assert response.status_code == 403
            expected = READ_ONLY_TOKEN_REFUSAL if scope == "read" else TOKEN_MINTING_REFUSAL
            assert response.json() == {"detail": expected}
    assert ApiToken.objects.count() == before


def test_a_token_sees_and_revokes_only_its_own_memberships_tokens(world) -> None:  # type: ignore[no-untyped-def]
    globex = _second_membership(world)
    globex_raw = _token(world, "owner", "write", membership=globex)
    globex_token = ApiToken.objects.get(prefix=globex_raw.split("_")[1])
    acme = _bearer(world.secrets["owner_token"])

    listed = {item["id"] for item in acme.get("/api/v1/tokens").json()["items"]}
    assert world["token"] in listed and globex_token.pk not in listed
    assert acme.post(f"/api/v1/tokens/{globex_token.pk}/revoke").status_code == 404
    assert _bearer(globex_raw).get("/api/v1/me").status_code == 200

    # The person, signed in, sees and manages all of their tokens.
    session = Client()
    session.force_login(user_of(world, "owner"))
    listed = {item["id"] for item in session.get("/api/v1/tokens").json()["items"]}
    assert {world["token"], globex_token.pk} <= listed


def test_a_write_token_may_revoke_a_token_of_its_own_membership(world) -> None:  # type: ignore[no-untyped-def]
    spare = _token(world, "owner", "read")
    spare_id = ApiToken.objects.get(prefix=spare.split("_")[1]).pk
    writer = _bearer(world.secrets["owner_token"])
    assert writer.post(f"/api/v1/tokens/{spare_id}/revoke").status_code == 200
    assert _bearer(spare).get("/api/v1/me").status_code == 401


# --- Pages -----------------------------------------------------------------------------------


def test_a_token_does_not_open_pages(world) -> None:  # type: ignore[no-untyped-def]
    writer = _bearer(world.secrets["owner_token"])
    for url in ("/", reverse("accounts:tokens"), reverse("tenancy:tenant", args=[world["tenant"]])):
        response = writer.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login")), url
    # The same token still works on the API.
    assert writer.get("/api/v1/me").status_code == 200


def test_a_token_header_does_not_widen_a_signed_in_page(world) -> None:  # type: ignore[no-untyped-def]
    # The internal technician, signed in, sends the owner's token along: the page is still
    # the technician's, and the owner-only settings page does not exist for them.
    client = Client(HTTP_AUTHORIZATION=f"Bearer {world.secrets['owner_token']}")
    client.force_login(user_of(world, "internal_tech"))
    settings_page = reverse("tenancy:tenant-settings", args=[world["tenant"]])
    assert client.get(settings_page).status_code == 404
    assert client.get(reverse("tenancy:tenant", args=[world["tenant"]])).status_code == 200
