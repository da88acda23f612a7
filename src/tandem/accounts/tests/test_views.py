"""Sign-in, second factor, password reset, API tokens, people and staff pages."""

from __future__ import annotations

import re

import pyotp
import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from tests.personas import EMAILS, PASSWORD, enrol_totp, user_of

from tandem.accounts import queries
from tandem.accounts.models import TotpDevice
from tandem.accounts.principals import resolve_principal
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.tenancy import services as tenancy_services
from tandem.tenancy.models import Tenant

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
LOGIN_MFA = reverse("accounts:login-mfa")
TOKENS = reverse("accounts:tokens")


def _sign_in(client: Client, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(LOGIN, {"email": email, "password": password})


def _signed_in(client: Client) -> bool:
    return client.get(TOKENS).status_code == 200


# --- Sign-in -------------------------------------------------------------------------------


def test_sign_in_with_e_mail_and_password(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    response = _sign_in(client, EMAILS["owner"].upper())

    assert response.status_code == 302
    assert _signed_in(client)
    # An owner of a single tenant lands on that tenant's overview.
    home = client.get(reverse("tenancy:home"))
    assert home.url == reverse("tenancy:tenant", args=[world["tenant"]])


def test_wrong_password_is_refused(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    response = _sign_in(client, EMAILS["owner"], "not-the-password")

    assert response.status_code == 422
    assert "do not match an account" in response.content.decode()
    assert not _signed_in(client)


def test_sign_in_returns_to_the_page_asked_for(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    target = reverse("accounts:roles")
    page = client.get(target)
    assert page.status_code == 302 and page.url.startswith(LOGIN)

    response = client.post(
        f"{LOGIN}?next={target}", {"email": EMAILS["owner"], "password": PASSWORD}
    )
    assert response.url == target
    evil = client.post(
        f"{LOGIN}?next=https://evil.example/", {"email": EMAILS["owner"], "password": PASSWORD}
    )
    assert evil.url == reverse("tenancy:home")


@pytest.mark.parametrize("target", ["foo", "tickets", "foo/bar", "./x", "..", "//evil.example/"])
def test_a_next_that_is_not_a_path_on_this_site_goes_home(client: Client, world, target) -> None:  # type: ignore[no-untyped-def]
    """``next=foo`` was read as a URL name by ``redirect()``: a server error, signed in
    or signing in (found by an attacker probing)."""
    home = reverse("tenancy:home")
    response = client.post(LOGIN, {"email": EMAILS["owner"], "password": PASSWORD, "next": target})
    assert response.status_code == 302 and response.url == home
    again = client.get(LOGIN, {"next": target})  # already signed in
    assert again.status_code == 302 and again.url == home
    form = Client().get(LOGIN, {"next": target})
    assert form.status_code == 200 and f'value="{target}"' not in form.content.decode()


def test_a_confirmed_authenticator_adds_a_code_step(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    secret = enrol_totp(world, "owner")

    response = _sign_in(client, EMAILS["owner"])
    assert response.url == LOGIN_MFA
    assert not _signed_in(client), "the password alone must not sign in"

    wrong = client.post(LOGIN_MFA, {"code": "000000"})
    assert wrong.status_code == 422
    assert "That code is not valid" in wrong.content.decode()
    assert not _signed_in(client)

    right = client.post(LOGIN_MFA, {"code": pyotp.TOTP(secret).now()})
    assert right.status_code == 302
    assert _signed_in(client)


def test_the_code_step_cannot_be_reached_without_the_password(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    secret = enrol_totp(world, "owner")

    response = client.post(LOGIN_MFA, {"code": pyotp.TOTP(secret).now()})

    assert response.url == LOGIN
    assert not _signed_in(client)


def test_too_many_wrong_codes_go_back_to_the_password(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    secret = enrol_totp(world, "owner")
    _sign_in(client, EMAILS["owner"])

    for _ in range(2):
        assert client.post(LOGIN_MFA, {"code": "000000"}).status_code == 422
    third = client.post(LOGIN_MFA, {"code": "000000"})

    assert third.url == LOGIN
    # Even the right code no longer helps: the password step has to be done again.
    assert client.post(LOGIN_MFA, {"code": pyotp.TOTP(secret).now()}).url == LOGIN
    assert not _signed_in(client)


def test_sign_in_locks_after_five_wrong_passwords(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    statuses = [_sign_in(client, EMAILS["owner"], f"wrong-{i}").status_code for i in range(5)]

    assert statuses[:4] == [422] * 4
    assert statuses[4] == 429
    locked = _sign_in(client, EMAILS["owner"])  # even the right password now
    assert locked.status_code == 429
    assert "Sign-in is locked for a while" in locked.content.decode()
    assert not _signed_in(client)


def test_logout_needs_a_post(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    _sign_in(client, EMAILS["owner"])

    assert client.get(reverse("accounts:logout")).status_code == 405
    assert client.post(reverse("accounts:logout")).url == LOGIN
    assert not _signed_in(client)


# --- Password reset --------------------------------------------------------------------------


def test_password_reset_by_e_mail(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    response = client.post(reverse("accounts:password-reset"), {"email": EMAILS["internal_tech"]})
    assert response.url == reverse("accounts:password-reset-done")
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/password-reset/\S+/\S+/", mail.outbox[0].body).group(0)  # type: ignore[union-attr]

    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    new_password = "a-brand-new-long-passphrase"
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert done.url == reverse("accounts:password-reset-complete")

    assert _sign_in(client, EMAILS["internal_tech"], new_password).status_code == 302
    assert _signed_in(client)


def test_password_reset_for_an_unknown_address_sends_nothing(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    response = client.post(reverse("accounts:password-reset"), {"email": "nobody@nowhere.test"})

    assert response.url == reverse("accounts:password-reset-done")  # no hint either way
    assert mail.outbox == []


# --- Second factor set-up ----------------------------------------------------------------------


def test_a_tenant_that_requires_mfa_sends_its_people_to_enrol(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    with system_context("test: the tenant"):
        tenant = Tenant.objects.get(pk=world["tenant"])
    tenancy_services.update_tenant(actor=system_principal("test"), tenant=tenant, require_mfa=True)
    client = as_persona("owner")
    tenant_page = reverse("tenancy:tenant", args=[world["tenant"]])

    assert client.get(tenant_page).url == reverse("accounts:mfa-setup")
    intro = client.get(reverse("accounts:mfa-setup"))
    assert "requires a second factor" in intro.content.decode()

    client.post(reverse("accounts:mfa-setup"), {"step": "start"})
    setup = client.get(reverse("accounts:mfa-setup")).content.decode()
    device = TotpDevice.objects.get(user_id=world["user:owner"])
    assert "otpauth://totp/" in setup
    assert device.secret[:4] in setup

    wrong = client.post(reverse("accounts:mfa-setup"), {"step": "confirm", "code": "123456"})
    assert wrong.status_code == 422
    assert "not valid" in wrong.content.decode()
    right = client.post(
        reverse("accounts:mfa-setup"),
        {"step": "confirm", "code": pyotp.TOTP(device.secret).now()},
    )
    assert right.status_code == 302
    assert client.get(tenant_page).status_code == 200


def test_the_mfa_page_needs_a_signed_in_user(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    response = client.get(reverse("accounts:mfa-setup"))

    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


# --- API tokens --------------------------------------------------------------------------------


def test_a_new_token_is_shown_once_works_and_can_be_revoked(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    created = client.post(
        TOKENS,
        {
            "name": "backup script",
            "membership_id": world["membership:owner"],
            "scope": "read",
            "expires_in_days": 30,
        },
    )
    assert created.status_code == 201
    page = created.content.decode()
    assert "shown <strong>only this once</strong>" in page
    raw = re.search(r"tdm_[0-9a-f]{8}_[A-Za-z0-9_-]+", page).group(0)  # type: ignore[union-attr]

    listing = client.get(TOKENS).content.decode()
    assert "backup script" in listing
    assert raw not in listing

    api = Client()
    me = api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert me.status_code == 200
    assert me.json()["email"] == EMAILS["owner"]

    token = queries.own_tokens(resolve_principal(user_of(world, "owner"))).get(name="backup script")
    revoked = client.post(reverse("accounts:token-revoke", args=[token.pk]))
    assert revoked.url == TOKENS
    assert "Revoked" in client.get(TOKENS).content.decode()
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_an_invalid_token_form_shows_errors(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")

    response = client.post(
        TOKENS,
        {
            "name": "",
            "membership_id": world["membership:internal_tech"],
            "scope": "read",
            "expires_in_days": 5000,
        },
    )

    assert response.status_code == 422
    assert "tdm_" not in re.sub(r"<code>tdm_[0-9a-f]{8}_…</code>", "", response.content.decode())


def test_nobody_revokes_another_persons_token(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("internal_tech")

    response = client.post(reverse("accounts:token-revoke", args=[world["token"]]))

    assert response.status_code == 404
    token = queries.own_tokens(resolve_principal(user_of(world, "owner"))).get(pk=world["token"])
    assert token.revoked_at is None


# --- People and staff ------------------------------------------------------------------------


def test_owner_invites_a_person_and_deactivates_them(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    people = reverse("accounts:people", args=[world["tenant"]])

    invited = client.post(
        reverse("accounts:people-invite", args=[world["tenant"]]),
        {"email": "New.Hire@acme.test", "full_name": "New Hire", "role_key": "auditor"},
        follow=True,
    )
    page = invited.content.decode()
    assert "new.hire@acme.test is now Auditor" in page
    assert "We e-mailed them the invitation with a link to choose their password." in page

    owner = resolve_principal(user_of(world, "owner"))
    membership = queries.memberships(owner).get(user__email="new.hire@acme.test")
    confirm = client.get(reverse("accounts:membership-deactivate", args=[membership.pk]))
    assert "Deactivate New Hire?" in confirm.content.decode()
    client.post(reverse("accounts:membership-deactivate", args=[membership.pk]))
    assert not queries.memberships(owner).get(pk=membership.pk).is_active
    assert client.get(people).status_code == 200


def test_the_people_page_is_searched_and_paged(as_persona, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tandem.accounts import views

    monkeypatch.setattr(views, "PEOPLE_PAGE_SIZE", 2)
    client = as_persona("owner")
    people = reverse("accounts:people", args=[world["tenant"]])
    first = client.get(people).content.decode()
    total = int(re.search(r"1–2 of (\d+) people", first).group(1))  # type: ignore[union-attr]
    assert total >= 4 and 'href="?page=2"' in first
    assert "Deactivate…" in first  # the owner may deactivate the people on the page
    last = client.get(people, {"page": (total + 1) // 2}).content.decode()
    assert f"of {total} people" in last and "Next →" not in last
    found = client.get(people, {"q": "INTERNAL"}).content.decode()
    assert "1–1 of 1 person" in found and EMAILS["internal_tech"] in found
    assert EMAILS["owner"] not in found.split("<tbody>")[1]
    none = client.get(people, {"q": "nobody-here"}).content.decode()
    assert "Nobody matches “nobody-here”." in none


def test_an_invalid_invitation_shows_errors(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")

    response = client.post(
        reverse("accounts:people-invite", args=[world["tenant"]]),
        {"email": "not-an-address", "role_key": "provider-admin"},
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert "Enter a valid email address." in page
    assert "Select a valid choice." in page  # provider roles are not offered in a tenant


def test_people_pages_stay_inside_their_tenant(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    acme_people = reverse("accounts:people", args=[world["tenant"]])

    assert as_persona("other_tenant_owner").get(acme_people).status_code == 404
    assert as_persona("provider_admin").get(acme_people).status_code == 404
    assert as_persona("internal_tech").get(acme_people).status_code == 200
    deactivate = reverse("accounts:membership-deactivate", args=[world["membership"]])
    assert as_persona("other_tenant_owner").post(deactivate).status_code == 404


def test_provider_admin_manages_only_its_own_staff(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("provider_admin")
    staff = reverse("accounts:provider-staff", args=[world["provider"]])

    page = client.get(staff).content.decode()
    assert EMAILS["provider_tech"] in page
    assert EMAILS["second_provider_tech"] not in page
    invited = client.post(
        reverse("accounts:provider-staff-invite", args=[world["provider"]]),
        {
            "email": "night.shift@northwind.test",
            "full_name": "Night Shift",
            "role_key": "provider-technician",
        },
        follow=True,
    )
    assert "night.shift@northwind.test is now Provider technician" in invited.content.decode()

    other = reverse("accounts:provider-staff", args=[world["second_provider"]])
    assert client.get(other).status_code == 404
    assert as_persona("provider_tech").get(staff).status_code == 404


def test_roles_page_lists_each_role_with_its_permissions(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    page = as_persona("internal_tech").get(reverse("accounts:roles")).content.decode()

    assert "Tenant owner" in page
    assert "tenancy.grant_engagement" in page
    assert "Provider technician" in page
