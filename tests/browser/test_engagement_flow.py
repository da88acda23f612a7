"""The owner grants an engagement, the provider works in the tenant, the owner suspends it,
and the provider's very next page load is refused: in real Chromium."""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import sign_in
from tests.personas import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _provider_staff() -> None:
    """Fresh Desk Co has no people in the shared world: give it an admin and a technician."""
    from tandem.accounts.models import Role
    from tandem.accounts.services import add_membership, create_user
    from tandem.core.principal import system_principal
    from tandem.tenancy.models import Provider

    actor = system_principal("browser test set-up")
    provider = Provider.objects.get(slug="fresh")
    staff = (("admin@fresh.test", "provider-admin"), ("tech@fresh.test", "provider-technician"))
    for email, role in staff:
        user = create_user(
            actor=actor, email=email, full_name=email.split("@")[0].title(), password=PASSWORD
        )
        add_membership(actor=actor, user=user, role=Role.objects.get(key=role), provider=provider)


def test_grant_work_suspend_refused(browser, live_server, world) -> None:  # type: ignore[no-untyped-def]
    _provider_staff()
    base = live_server.url
    tenant_id = world["tenant"]

    # The tenant owner grants Fresh Desk Co a mandate for server patching at HQ.
    owner = sign_in(browser, base, "owner@acme.test")
    owner.goto(f"{base}/tenants/{tenant_id}/engagements/grant/")
    owner.get_by_label("Provider").select_option(label="Fresh Desk Co")
    owner.get_by_label("Name").fill("Patch nights")
    owner.get_by_label("Server patching").check()
    owner.get_by_label("Acme HQ site").check()
    owner.get_by_role("button", name="Grant engagement").click()
    owner.wait_for_load_state()
    assert owner.get_by_text("Pending acceptance").first.is_visible()
    engagement_url = owner.url
    assert re.search(r"/engagements/\d+/$", engagement_url)

    # Fresh Desk Co's admin accepts it from the cross-tenant home.
    admin = sign_in(browser, base, "admin@fresh.test")
    admin.goto(f"{base}/")
    admin.get_by_role("link", name="Accept…").click()  # asks first
    admin.wait_for_load_state()
    admin.get_by_role("button", name="Accept the engagement").click()
    admin.wait_for_load_state()

    # The technician now finds Acme in the tenant switcher and works there: the HQ site is
    # in scope, the Branch site is not.
    tech = sign_in(browser, base, "tech@fresh.test")
    tech.goto(f"{base}/")
    tech.locator("#tenant-switcher summary").click()  # open the switcher menu
    tech.locator("#tenant-switcher").get_by_role("link", name="Acme Corp").click()
    tech.wait_for_load_state()
    assert tech.get_by_role("heading", name="Acme Corp").is_visible()
    tech.goto(f"{base}/tenants/{tenant_id}/sites/")
    assert tech.get_by_text("Acme HQ site").is_visible()
    assert tech.get_by_text("Acme Branch site").count() == 0

    # The owner suspends the engagement, confirming with a reason.
    owner.goto(engagement_url)
    owner.get_by_role("link", name="Suspend…").click()
    owner.get_by_label("Reason").fill("Change freeze")
    owner.get_by_role("button", name=re.compile("Suspend")).click()
    owner.wait_for_load_state()
    assert owner.get_by_text("Suspended").first.is_visible()

    # The technician's very next page load is refused, same session.
    response = tech.reload()
    assert response is not None and response.status == 404
    assert tech.get_by_text("Acme HQ site").count() == 0
    tech.goto(f"{base}/")
    assert tech.locator("#tenant-switcher .switcher-tenant").count() == 0
