"""Tenancy pages: home, tenant switcher, overview and settings, the engagement lifecycle,
sites, asset groups and service areas."""

from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager

import pytest
from django.urls import reverse
from django.utils import timezone
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.core.policies import get_visible_or_404
from tandem.core.principal import system_principal
from tandem.core.scoping import principal_scope, system_context
from tandem.tenancy import queries, services
from tandem.tenancy.models import Engagement, Site, Tenant

pytestmark = pytest.mark.django_db


@contextmanager
def reading_as(world, persona: str):  # type: ignore[no-untyped-def]
    """Read through the queries as a persona, in its tenant scope (as a request would)."""
    principal = resolve_principal(user_of(world, persona))
    with principal_scope(principal):
        yield principal


def _name(world, key: str, model=Tenant) -> str:  # type: ignore[no-untyped-def]
    with system_context("test: a display name"):
        return model.objects.get(pk=world[key]).name  # type: ignore[no-any-return]


def _engagement(world, key: str) -> Engagement:  # type: ignore[no-untyped-def]
    with system_context("test: an engagement"):
        return Engagement.objects.get(pk=world[key])


def _switcher(html: str) -> list[str]:
    block = re.search(r'id="tenant-switcher".*?</nav>', html, re.S).group(0)  # type: ignore[union-attr]
    return re.findall(r'class="switcher-tenant"[^>]*>([^<]+)</a>', block)


# --- Home and switcher ---------------------------------------------------------------------


def test_provider_tech_switches_between_exactly_its_engaged_tenants(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = as_persona("provider_tech").get(reverse("tenancy:home")).content.decode()

    assert sorted(_switcher(page)) == sorted([_name(world, "tenant"), _name(world, "other_tenant")])


def test_the_switcher_shows_only_the_own_tenant_to_tenant_people(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    url = reverse("tenancy:tenant", args=[world["other_tenant"]])
    page = as_persona("other_tenant_owner").get(url).content.decode()

    assert _switcher(page) == [_name(world, "other_tenant")]


def test_a_person_with_one_tenant_goes_straight_to_it(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    response = as_persona("owner").get(reverse("tenancy:home"))

    assert response.url == reverse("tenancy:tenant", args=[world["tenant"]])


def test_provider_home_lists_its_engagements_and_tenants(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = as_persona("provider_tech").get(reverse("tenancy:home")).content.decode()

    assert _name(world, "engagement", Engagement) in page
    assert _name(world, "other_engagement", Engagement) in page
    assert _name(world, "second_engagement", Engagement) not in page  # Sentinel's mandate
    assert "Accept" not in page  # technicians do not accept engagements


def test_operator_home_offers_to_create_tenants_and_providers(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("operator")
    assert "New tenant" in client.get(reverse("tenancy:home")).content.decode()

    response = client.post(
        reverse("tenancy:tenant-create"),
        {
            "name": "Initech",
            "slug": "initech",
            "time_zone": "Europe/Berlin",
            "country": "de",
            "owner_email": "bill@initech.test",
        },
        follow=True,
    )
    assert "Tenant Initech is created." in response.content.decode()
    bad = client.post(reverse("tenancy:provider-create"), {"name": "X", "slug": "Not A Slug"})
    assert bad.status_code == 422
    assert "lower-case letters" in bad.content.decode()


# --- Tenant overview and settings -----------------------------------------------------------


def test_overview_counts_only_what_the_principal_sees(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    url = reverse("tenancy:tenant", args=[world["tenant"]])

    owner_page = as_persona("owner").get(url).content.decode()
    assert _name(world, "second_engagement", Engagement) in owner_page
    assert 'id="settings"' in owner_page

    narrow_page = as_persona("out_of_scope_tech").get(url).content.decode()
    assert _name(world, "second_engagement", Engagement) not in narrow_page
    assert 'id="settings"' not in narrow_page
    assert as_persona("other_tenant_owner").get(url).status_code == 404


def test_owner_turns_on_mfa_enforcement(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = reverse("tenancy:tenant-settings", args=[world["tenant"]])
    name = _name(world, "tenant")
    bad = client.post(url, {"name": "", "time_zone": "Mars/Olympus"})
    assert bad.status_code == 422
    assert "This field is required." in bad.content.decode()

    response = client.post(
        url, {"name": name, "time_zone": "Europe/Berlin", "country": "DE", "require_mfa": "on"}
    )

    assert response.status_code == 302
    with reading_as(world, "auditor") as auditor:
        assert queries.tenant(auditor, world["tenant"]).require_mfa
    # The owner has no second factor yet: the very next page asks to set one up.
    next_page = client.get(reverse("tenancy:tenant", args=[world["tenant"]]))
    assert next_page.url == reverse("accounts:mfa-setup")


# --- Engagement lifecycle ------------------------------------------------------------------


def test_owner_grants_and_the_provider_admin_accepts_from_home(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    # Northwind's current mandate in this tenant ends, so it can be granted a new one.
    services.end_engagement(
        actor=system_principal("test"),
        engagement=_engagement(world, "engagement"),
        reason="Replaced by a new contract",
    )
    owner = as_persona("owner")
    grant = owner.post(
        reverse("tenancy:engagement-grant", args=[world["tenant"]]),
        {
            "provider_id": world["provider"],
            "name": "Desk and patching 2027",
            "service_area_ids": [world["service_area"]],
            "site_ids": [world["site"]],
            "allowed_actions": ["tickets.work"],
            "starts_on": timezone.localdate().isoformat(),
        },
        follow=True,
    )
    page = grant.content.decode()
    assert "It stays pending until the provider" in page
    assert "Pending acceptance" in page

    admin = as_persona("provider_admin")
    home = admin.get(reverse("tenancy:home")).content.decode()
    with reading_as(world, "owner") as principal:
        new = queries.engagements(principal).get(name="Desk and patching 2027")
    accept_url = reverse("tenancy:engagement-accept", args=[new.pk])
    assert f'href="{accept_url}"' in home

    # Accepting asks first, without JavaScript: the link opens a confirmation page, and a
    # POST without its confirmation (a stray or replayed form) accepts nothing.
    confirm = admin.get(accept_url).content.decode()
    assert "Accept “Desk and patching 2027”?" in confirm
    assert 'name="confirm" value="yes"' in confirm
    assert "Accept the engagement" in admin.post(accept_url).content.decode()
    with reading_as(world, "owner") as principal:
        assert queries.engagement(principal, new.pk).status == "pending"

    accepted = admin.post(accept_url, {"confirm": "yes"}, follow=True)
    assert "You accepted" in accepted.content.decode()
    with reading_as(world, "owner") as principal:
        assert queries.engagement(principal, new.pk).status == "active"
    # The provider's technician works in the tenant again, within the new scope.
    tech = as_persona("provider_tech")
    assert tech.get(reverse("tenancy:tenant", args=[world["tenant"]])).status_code == 200


def test_invalid_grant_form_shows_errors_and_creates_nothing(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    with reading_as(world, "owner") as principal:
        before = queries.engagements(principal).count()
    today = timezone.localdate()

    response = as_persona("owner").post(
        reverse("tenancy:engagement-grant", args=[world["tenant"]]),
        {
            "provider_id": world["unengaged_provider"],
            "name": "Backwards deal",
            "starts_on": today.isoformat(),
            "ends_on": (today - dt.timedelta(days=1)).isoformat(),
        },
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert "Choose at least one service area." in page
    assert "The end date is before the start date." in page
    with reading_as(world, "owner") as principal:
        assert queries.engagements(principal).count() == before


def test_granting_a_second_live_mandate_explains_the_conflict(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    response = as_persona("owner").post(
        reverse("tenancy:engagement-grant", args=[world["tenant"]]),
        {
            "provider_id": world["provider"],
            "name": "Another one",
            "service_area_ids": [world["service_area"]],
            "starts_on": timezone.localdate().isoformat(),
        },
    )

    # The form no longer offers Northwind; a forged choice is refused with the reason.
    assert response.status_code == 422
    assert "already has an engagement here that has not ended" in response.content.decode()


def test_suspending_with_a_reason_shuts_the_provider_out_at_once(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    tenant_page = reverse("tenancy:tenant", args=[world["tenant"]])
    assert as_persona("provider_tech").get(tenant_page).status_code == 200

    owner = as_persona("owner")
    suspend = reverse("tenancy:engagement-suspend", args=[world["engagement"]])
    confirm = owner.get(suspend).content.decode()
    assert "Suspend now" in confirm
    assert 'name="reason"' in confirm
    missing_reason = owner.post(suspend, {"reason": "  "})
    assert missing_reason.status_code == 422
    with reading_as(world, "owner") as principal:
        assert queries.engagement(principal, world["engagement"]).status == "active"

    done = owner.post(suspend, {"reason": "Security review after an incident"}, follow=True)
    page = done.content.decode()
    assert "is now suspended" in page
    assert "Security review after an incident" in page

    tech = as_persona("provider_tech")
    assert tech.get(tenant_page).status_code == 404
    assert tech.get(reverse("tenancy:sites", args=[world["tenant"]])).status_code == 404

    owner = as_persona("owner")
    owner.post(
        reverse("tenancy:engagement-resume", args=[world["engagement"]]), {"reason": "Review done"}
    )
    assert as_persona("provider_tech").get(tenant_page).status_code == 200


def test_engagement_detail_shows_scope_history_and_only_allowed_buttons(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    url = reverse("tenancy:engagement", args=[world["engagement"]])

    owner_page = as_persona("owner").get(url).content.decode()
    assert _name(world, "site", Site) in owner_page
    assert "tenancy.grant_engagement" in owner_page  # history from the audit log
    assert "Suspend…" in owner_page and "End…" in owner_page

    tech_page = as_persona("provider_tech").get(url).content.decode()
    assert _name(world, "site", Site) in tech_page
    assert "Suspend…" not in tech_page and "Rescope" not in tech_page


def test_ending_an_engagement_is_confirmed_and_final(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    end = reverse("tenancy:engagement-end", args=[world["second_engagement"]])

    assert "cannot be undone" in owner.get(end).content.decode()
    owner.post(end, {"reason": "Contract over"})

    detail = owner.get(reverse("tenancy:engagement", args=[world["second_engagement"]]))
    assert "Ended" in detail.content.decode()
    again = owner.post(end, {"reason": "twice"})
    assert again.status_code == 409
    assert "already ended" in again.content.decode()


def test_owner_rescopes_an_engagement(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    url = reverse("tenancy:engagement-rescope", args=[world["engagement"]])
    assert "checked" in owner.get(url).content.decode()

    owner.post(
        url,
        {
            "service_area_ids": [world["service_area"]],
            "site_ids": [world["site"], world["site_out_of_scope"]],
            "starts_on": "2020-01-01",
        },
    )

    with reading_as(world, "owner") as principal:
        [engagement] = queries.engagements_with_scope(principal, pk=world["engagement"])
    areas, sites, _groups = queries.scope_of(engagement)
    assert {s.pk for s in sites} == {world["site"], world["site_out_of_scope"]}
    assert [a.pk for a in areas] == [world["service_area"]]


def test_engagement_actions_are_not_found_for_providers(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    tech = as_persona("provider_tech")
    for name in ("engagement-suspend", "engagement-end", "engagement-rescope"):
        url = reverse(f"tenancy:{name}", args=[world["engagement"]])
        assert tech.get(url).status_code == 404
        assert tech.post(url, {"reason": "x"}).status_code == 404
    with reading_as(world, "owner") as principal:
        assert queries.engagement(principal, world["engagement"]).status == "active"


# --- Sites, asset groups, service areas -------------------------------------------------------


def test_lists_follow_the_engagement_scope(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    url = reverse("tenancy:sites", args=[world["tenant"]])

    page = as_persona("provider_tech").get(url).content.decode()  # Northwind: HQ only
    assert _name(world, "site", Site) in page
    assert _name(world, "site_out_of_scope", Site) not in page
    assert "Add a site" not in page
    edit = reverse("tenancy:site-edit", args=[world["site_out_of_scope"]])
    assert as_persona("out_of_scope_tech").get(edit).status_code == 404


def test_internal_tech_adds_and_renames_a_site(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("internal_tech")
    create = reverse("tenancy:site-create", args=[world["tenant"]])

    added = client.post(
        create, {"name": "Lab", "address": "Building 7", "time_zone": "Europe/Berlin"}, follow=True
    )
    assert "Site “Lab” is added." in added.content.decode()
    duplicate = client.post(create, {"name": "lab"})
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.content.decode()

    with reading_as(world, "internal_tech") as principal:
        site_id = get_visible_or_404(
            principal, "tenancy.view_site", Site.objects.all(), name="Lab"
        ).pk
    client.post(reverse("tenancy:site-edit", args=[site_id]), {"name": "Lab 2", "address": ""})
    with reading_as(world, "internal_tech") as principal:
        site = get_visible_or_404(principal, "tenancy.view_site", Site.objects.all(), pk=site_id)
    assert site.name == "Lab 2"


def test_asset_group_form_offers_only_the_tenants_sites(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = reverse("tenancy:asset-group-create", args=[world["tenant"]])

    assert _name(world, "other_site", Site) not in client.get(url).content.decode()
    foreign = client.post(url, {"name": "Sneaky", "site_id": world["other_site"]})
    assert foreign.status_code == 422
    added = client.post(url, {"name": "Lab PCs", "site_id": world["site"]}, follow=True)
    assert "Asset group “Lab PCs” is added." in added.content.decode()


def test_service_area_key_is_validated(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = reverse("tenancy:service-area-create", args=[world["tenant"]])

    bad = client.post(url, {"key": "ERP Support!", "name": "ERP"})
    assert bad.status_code == 422
    assert "lower-case letters" in bad.content.decode()
    good = client.post(url, {"key": "erp", "name": "ERP support"}, follow=True)
    assert "Service area “ERP support” is added." in good.content.decode()
    edit = reverse("tenancy:service-area-edit", args=[world["service_area_out_of_scope"]])
    client.post(edit, {"name": "Identity and access", "description": "", "is_active": ""})
    listing = client.get(reverse("tenancy:service-areas", args=[world["tenant"]])).content.decode()
    assert "Identity and access" in listing and "Not in use" in listing


def test_pages_carry_no_inline_script_or_style(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    for url in (
        reverse("tenancy:tenant", args=[world["tenant"]]),
        reverse("tenancy:engagement-grant", args=[world["tenant"]]),
        reverse("accounts:tokens"),
        reverse("audit:log", args=[world["tenant"]]),
    ):
        html = client.get(url).content.decode()
        assert " style=" not in html
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert "<style" not in html


def test_a_requester_lands_on_the_portal_and_sees_only_what_they_use(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("requester")

    landed = client.get("/", follow=True)

    assert landed.redirect_chain[-1][0] == "/portal/"
    text = landed.content.decode()
    assert "API tokens" not in text and ">Roles<" not in text and ">Home<" not in text
    assert ">Portal<" in text
    # The tenant's overview has nothing for them: it sends them to their tickets.
    overview = client.get(f"/tenants/{world['tenant']}/")
    assert overview.status_code == 302 and overview["Location"] == "/portal/"
    # IT keeps its home and menus.
    tech = as_persona("internal_tech").get("/", follow=True).content.decode()
    assert "API tokens" in tech and ">Home<" in tech


def test_the_grant_form_offers_only_providers_without_a_live_engagement(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    """Northwind and Sentinel are active here, Lapsed Co suspended, Spare Parts pending:
    granting any of them again would be refused, so the form does not offer them."""
    page = as_persona("owner").get(reverse("tenancy:engagement-grant", args=[world["tenant"]]))
    options = re.findall(r'<option value="(\d+)"', page.content.decode())
    with reading_as(world, "owner") as principal:
        offered = set(
            queries.providers(principal).filter(pk__in=options).values_list("name", flat=True)
        )
    assert offered  # someone is left to engage (the world's unengaged provider)
    for engaged in ("Northwind MSP", "Sentinel", "Lapsed Co", "Spare Parts IT"):
        assert not [name for name in offered if name.startswith(engaged)], engaged
    assert world["unengaged_provider"] in {int(o) for o in options}
