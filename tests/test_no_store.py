"""Nothing Tandem renders is kept by a browser or proxy cache (decision 0016)."""

from __future__ import annotations

import json

from django.test import Client
from django.urls import reverse

from tests.personas import user_of


def _no_store(response) -> bool:  # type: ignore[no-untyped-def]
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= directives


def test_a_signed_in_page_is_not_stored(world) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user_of(world, "owner"))
    response = client.get(reverse("tenancy:tenant", args=[world["tenant"]]))
    assert response.status_code == 200
    assert _no_store(response)


def test_an_api_answer_is_not_stored(world) -> None:  # type: ignore[no-untyped-def]
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {world.secrets['owner_token']}")
    response = bearer.get("/api/v1/me")
    assert response.status_code == 200 and _no_store(response)
    refused = Client().get("/api/v1/me")
    assert refused.status_code == 401 and _no_store(refused)


def test_refusals_made_before_any_view_are_not_stored_either(world) -> None:  # type: ignore[no-untyped-def]
    # The read-only refusal is answered by the principal middleware itself.
    client = Client()
    client.force_login(user_of(world, "owner"))
    created = client.post(
        "/api/v1/tokens",
        data=json.dumps({"name": "r", "membership_id": world["membership:owner"]}),
        content_type="application/json",
    )
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {created.json()['token']}")
    response = reader.post(f"/api/v1/tokens/{world['token']}/revoke")
    assert response.status_code == 403 and _no_store(response)


def test_the_sign_in_page_is_not_stored_but_static_files_are_cacheable(db) -> None:  # type: ignore[no-untyped-def]
    login = Client().get(reverse("accounts:login"))
    assert login.status_code == 200 and _no_store(login)
    css = Client().get("/static/tandem/tandem.css")
    assert css.status_code == 200
    assert "no-store" not in css.get("Cache-Control", "")
