"""Sign-in by an e-mailed, single-use link ("magic link")."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tests.personas import EMAILS, enrol_totp, user_of

from tandem.accounts import services
from tandem.accounts.models import SignInLink

pytestmark = pytest.mark.django_db

LINK = reverse("accounts:login-link")
TOKENS = reverse("accounts:tokens")


@pytest.fixture(autouse=True)
def _locmem_mail(settings):  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://desk.example.test"


def _ask(client: Client, email: str):  # type: ignore[no-untyped-def]
    return client.post(LINK, {"email": email})


def _link_in_mail() -> str:
    """The path of the sign-in link in the last e-mail."""
    match = re.search(r"https://desk\.example\.test(/login/link/[\w-]+/)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def _without_csrf(content: bytes) -> str:
    return re.sub(r"[A-Za-z0-9]{64}", "<csrf>", content.decode())


def _signed_in(client: Client) -> bool:
    return client.get(TOKENS).status_code == 200


def test_the_login_page_offers_a_sign_in_link(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    page = client.get(reverse("accounts:login"))
    assert LINK in page.content.decode()
    assert "E-mail me a sign-in link" in page.content.decode()


def test_a_link_is_mailed_and_signs_in_once(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    response = _ask(client, EMAILS["requester"].upper())

    assert response.status_code == 200
    assert "Check your e-mail" in response.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [EMAILS["requester"]]
    assert message.subject == "Your Tandem sign-in link"
    assert "expires in 15 minutes" in message.body
    path = _link_in_mail()
    # Only the hash is kept; the token in the mail is nowhere in the database.
    token = path.rstrip("/").rsplit("/", 1)[-1]
    link = SignInLink.objects.get(user=user_of(world, "requester"))
    assert link.token_hash != token and len(link.token_hash) == 64
    assert dt.timedelta(minutes=14) < link.expires_at - timezone.now() <= dt.timedelta(minutes=15)

    # Opening the link (as a mail scanner would) does not spend it.
    confirm = client.get(path)
    assert confirm.status_code == 200
    assert not _signed_in(client)

    signed = client.post(path)
    assert signed.status_code == 302
    # A requester lands on the portal.
    assert signed["Location"] == reverse("servicedesk:portal")
    assert _signed_in(client)
    link.refresh_from_db()
    assert link.used_at is not None

    again = Client()
    for method in (again.get, again.post):
        refused = method(path)
        assert refused.status_code == 400
        assert "used already" in refused.content.decode()
    assert not _signed_in(again)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    known = _ask(client, EMAILS["requester"])
    unknown = _ask(client, "nobody@nowhere.test")

    assert unknown.status_code == known.status_code == 200
    # Byte for byte, except the per-response CSRF token.
    assert _without_csrf(unknown.content) == _without_csrf(known.content)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [EMAILS["requester"]]


def test_an_expired_link_is_refused(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    _ask(client, EMAILS["owner"])
    path = _link_in_mail()
    SignInLink.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    response = client.post(path)

    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert not _signed_in(client)


def test_a_garbage_link_is_refused(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    for method in (client.get, client.post):
        response = method(reverse("accounts:login-link-use", args=["not-a-real-token"]))
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    assert not _signed_in(client)


def test_links_are_throttled_per_address(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    for _ in range(services.SIGN_IN_LINKS_PER_HOUR + 2):
        response = _ask(client, EMAILS["owner"])
        assert response.status_code == 200
        assert "Check your e-mail" in response.content.decode()

    assert len(mail.outbox) == services.SIGN_IN_LINKS_PER_HOUR
    assert SignInLink.objects.count() == services.SIGN_IN_LINKS_PER_HOUR


def test_a_link_respects_the_second_factor(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    enrol_totp(world, "owner")
    _ask(client, EMAILS["owner"])

    response = client.post(_link_in_mail())

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login-mfa")
    assert not _signed_in(client)


def test_a_deactivated_person_cannot_use_a_link(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    _ask(client, EMAILS["owner"])
    path = _link_in_mail()
    user = user_of(world, "owner")
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert client.post(path).status_code == 400
    assert not _signed_in(client)


def test_password_sign_in_sends_requesters_to_the_portal(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    from tests.personas import PASSWORD

    login = reverse("accounts:login")
    requester = client.post(login, {"email": EMAILS["requester"], "password": PASSWORD})
    assert requester["Location"] == reverse("servicedesk:portal")

    other = Client()
    owner = other.post(login, {"email": EMAILS["owner"], "password": PASSWORD})
    assert owner["Location"] == reverse("tenancy:home")

    with_next = Client().post(
        login + "?next=/tickets/", {"email": EMAILS["requester"], "password": PASSWORD}
    )
    assert with_next["Location"] == "/tickets/"
