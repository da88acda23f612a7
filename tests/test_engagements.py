"""An engagement's life as the tenant and the provider see it, through the API."""

from __future__ import annotations

import json

from tandem.core.scoping import system_context
from tandem.tenancy.models import Engagement


def _post(client, url, body=None):  # type: ignore[no-untyped-def]
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def _grant(client, world):  # type: ignore[no-untyped-def]
    return _post(
        client,
        "/api/v1/engagements",
        {
            "tenant_id": world["tenant"],
            "provider_id": world["unengaged_provider"],
            "name": "Onboarding help",
            "service_area_ids": [world["service_area"]],
        },
    )


def _fresh_admin(world):  # type: ignore[no-untyped-def]
    from django.test import Client

    from tandem.accounts.models import Role
    from tandem.accounts.services import add_membership, create_user
    from tandem.core.principal import system_principal
    from tandem.tenancy.models import Provider

    actor = system_principal("test")
    user = create_user(actor=actor, email="admin@fresh.test", full_name="Fresh Admin")
    tech = create_user(actor=actor, email="tech@fresh.test", full_name="Fresh Tech")
    provider = Provider.objects.get(pk=world["unengaged_provider"])
    add_membership(
        actor=actor, user=user, role=Role.objects.get(key="provider-admin"), provider=provider
    )
    add_membership(
        actor=actor, user=tech, role=Role.objects.get(key="provider-technician"), provider=provider
    )
    admin_client, tech_client = Client(), Client()
    admin_client.force_login(user)
    tech_client.force_login(tech)
    return admin_client, tech_client


def test_grant_accept_suspend_resume_end(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    admin, tech = _fresh_admin(world)
    owner = as_persona("owner")
    granted = _grant(owner, world)
    assert granted.status_code == 201
    engagement = granted.json()
    assert engagement["status"] == "pending"
    site_url = f"/api/v1/sites/{world['site']}"

    # Pending: the provider's admin sees the offer, its technician cannot enter the tenant.
    assert [e["id"] for e in admin.get("/api/v1/engagements").json()["items"]] == [engagement["id"]]
    assert tech.get(f"/api/v1/tenants/{world['tenant']}").status_code in (403, 404)

    accepted = _post(admin, f"/api/v1/engagements/{engagement['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "active"
    assert tech.get(f"/api/v1/tenants/{world['tenant']}").status_code == 200
    assert tech.get(site_url).status_code == 200

    # Suspension bites on the very next request, with the same session.
    suspended = _post(
        owner, f"/api/v1/engagements/{engagement['id']}/suspend", {"reason": "Review"}
    )
    assert suspended.json()["status"] == "suspended"
    assert tech.get(site_url).status_code in (403, 404)
    assert tech.get(f"/api/v1/tenants/{world['tenant']}").status_code in (403, 404)

    resumed = _post(owner, f"/api/v1/engagements/{engagement['id']}/resume", {"reason": "Fine"})
    assert resumed.json()["status"] == "active"
    assert tech.get(site_url).status_code == 200

    ended = _post(owner, f"/api/v1/engagements/{engagement['id']}/end", {"reason": "Done"})
    assert ended.json()["status"] == "ended"
    assert tech.get(site_url).status_code in (403, 404)
    # The history stays, attributed to the provider.
    audit = owner.get("/api/v1/audit?target_type=tenancy.Engagement&limit=100").json()["items"]
    actions = [e["action"] for e in audit if e["target_id"] == str(engagement["id"])]
    assert actions == [
        "tenancy.end_engagement",
        "tenancy.resume_engagement",
        "tenancy.suspend_engagement",
        "tenancy.accept_engagement",
        "tenancy.grant_engagement",
    ]
    accept_entry = next(e for e in audit if e["action"] == "tenancy.accept_engagement")
    assert accept_entry["actor_label"] == "admin@fresh.test"


def test_suspension_also_cuts_api_tokens(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    tech = as_persona("provider_tech")
    membership_id = world["membership:provider_tech"]
    created = _post(tech, "/api/v1/tokens", {"name": "script", "membership_id": membership_id})
    token = created.json()["token"]
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bearer.get(f"/api/v1/sites/{world['site']}").status_code == 200
    owner = as_persona("owner")
    _post(owner, f"/api/v1/engagements/{world['engagement']}/suspend", {"reason": "Incident"})
    assert bearer.get(f"/api/v1/sites/{world['site']}").status_code in (403, 404)
    # Its Globex engagement is untouched.
    assert bearer.get(f"/api/v1/sites/{world['other_site']}").status_code == 200


def test_rescope_takes_effect_on_the_next_request(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    tech = as_persona("provider_tech")
    assert tech.get(f"/api/v1/sites/{world['site_out_of_scope']}").status_code == 404
    owner = as_persona("owner")
    response = owner.patch(
        f"/api/v1/engagements/{world['engagement']}",
        data=json.dumps({"site_ids": [world["site"], world["site_out_of_scope"]]}),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert sorted(response.json()["site_ids"]) == sorted(
        [world["site"], world["site_out_of_scope"]]
    )
    tech = as_persona("provider_tech")
    assert tech.get(f"/api/v1/sites/{world['site_out_of_scope']}").status_code == 200


def test_an_engagement_past_its_end_date_opens_nothing(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    import time_machine
    from django.utils import timezone

    today = timezone.localdate()
    with system_context("test: the engagement ends today"):
        engagement = Engagement.objects.get(pk=world["engagement"])
        engagement.starts_on, engagement.ends_on = dt.date(2020, 1, 1), today
        engagement.save()
    tech = as_persona("provider_tech")
    assert tech.get(f"/api/v1/sites/{world['site']}").status_code == 200  # cached for today
    # The next day, with nothing else changed, the cached principal no longer applies.
    with time_machine.travel(today + dt.timedelta(days=1, hours=12), tick=False):
        tech = as_persona("provider_tech")  # a fresh session: the old one may have expired
        assert tech.get(f"/api/v1/sites/{world['site']}").status_code in (403, 404)


def test_a_backdated_engagement_opens_nothing_once_the_cache_is_told(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from tandem.accounts import access_cache

    tech = as_persona("provider_tech")
    assert tech.get(f"/api/v1/sites/{world['site']}").status_code == 200
    with system_context("test: backdate"):
        Engagement.objects.filter(pk=world["engagement"]).update(
            starts_on=dt.date(2020, 1, 1), ends_on=dt.date(2020, 12, 31)
        )
        access_cache.invalidate()  # update() sends no signal; such writes must say so
    assert tech.get(f"/api/v1/sites/{world['site']}").status_code in (403, 404)


def test_a_second_provider_never_sees_the_first_ones_mandate(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("second_provider_tech")
    names = [e["name"] for e in client.get("/api/v1/engagements").json()["items"]]
    assert names == ["Sentinel monitoring"]
    assert client.get(f"/api/v1/engagements/{world['engagement']}").status_code == 404
