"""The pages of a tenant's owner: webhooks (create with the secret shown once, disable, the
delivery log with status codes and retries) and the review of mail that went wrong."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail as django_mail
from django.utils import timezone
from tests.personas import user_of

from tandem.accounts.principals import resolve_principal
from tandem.audit.models import AuditEntry
from tandem.core.scoping import principal_scope, system_context
from tandem.notifications import services
from tandem.notifications.models import Webhook, WebhookDelivery
from tandem.servicedesk.mail.models import InboundMessage, OutboundMessage
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.models import Ticket
from tandem.tenancy.models import Party

pytestmark = pytest.mark.django_db


def _webhooks_url(world) -> str:  # type: ignore[no-untyped-def]
    return f"/tenants/{world['tenant']}/webhooks/"


def _audits() -> int:
    with system_context("test"):
        return AuditEntry.objects.count()


# --- Webhooks ------------------------------------------------------------------------------------


def test_the_owner_creates_a_webhook_and_sees_its_secret_once(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    page = client.get(_webhooks_url(world))
    assert page.status_code == 200
    assert "https://hooks.acme.test/tandem" in page.content.decode()  # the world's webhook

    before = _audits()
    created = client.post(
        _webhooks_url(world),
        {"url": "https://hooks.example.test/desk", "events": ["handoff", "sla_breach"]},
    )
    assert created.status_code == 201
    with system_context("test"):
        webhook = Webhook.objects.get(url="https://hooks.example.test/desk")
    text = created.content.decode()
    assert "shown <strong>only this once</strong>" in text and webhook.secret in text
    assert webhook.events == ["handoff", "sla_breach"] and webhook.created_by == "owner@acme.test"
    assert _audits() == before + 1
    # Never again.
    listed = client.get(_webhooks_url(world)).content.decode()
    assert "https://hooks.example.test/desk" in listed and webhook.secret not in listed
    detail = client.get(f"{_webhooks_url(world)}{webhook.pk}/").content.decode()
    assert webhook.secret not in detail


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"url": "https://hooks.example.test/x"}, "Choose at least one event."),
        ({"url": "ftp://hooks.example.test/", "events": ["handoff"]}, "Use an http:// or https://"),
        ({"url": "https://hooks.acme.test/tandem", "events": ["handoff"]}, "already sends"),
    ],
)
def test_a_refused_webhook_is_explained_and_not_created(world, as_persona, data, message) -> None:  # type: ignore[no-untyped-def]
    with system_context("test"):
        count = Webhook.objects.count()
    answer = as_persona("owner").post(_webhooks_url(world), data)
    assert answer.status_code in (409, 422)
    assert message in answer.content.decode()
    with system_context("test"):
        assert Webhook.objects.count() == count


def test_the_owner_disables_a_webhook(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    client = as_persona("owner")
    url = f"{_webhooks_url(world)}{world['webhook']}/disable/"
    assert client.get(url).status_code == 405
    answer = client.post(url, follow=True)
    text = answer.content.decode()
    assert "The webhook to https://hooks.acme.test/tandem is disabled." in text
    assert '<span class="badge badge-muted">Disabled</span>' in text
    assert f'action="{url}"' not in text  # no Disable button any more
    with system_context("test"):
        assert Webhook.objects.get(pk=world["webhook"]).is_active is False
    again = client.post(url, follow=True).content.decode()
    assert "This webhook is already disabled." in again


def test_the_delivery_log_shows_status_codes_and_retries(  # type: ignore[no-untyped-def]
    world, as_persona, receiver, django_capture_on_commit_callbacks
) -> None:
    client = as_persona("owner")
    client.post(_webhooks_url(world), {"url": receiver.url, "events": ["handoff"]})
    actor = resolve_principal(user_of(world, "internal_tech"))
    with system_context("test"):
        webhook = Webhook.objects.get(url=receiver.url)
        ticket = Ticket.objects.get(pk=world["ticket"])
        northwind = Party.objects.get(pk=world["party"])
    with principal_scope(actor), django_capture_on_commit_callbacks(execute=False):
        ticket_services.handoff_ticket(
            actor=actor, ticket=ticket, to_party=northwind, reason="Patch run"
        )
    with system_context("test"):
        delivery = WebhookDelivery.objects.get(webhook=webhook)
    # Due whatever today is; 09:00 UTC is the same day in the page's zone.
    now = (timezone.now() + dt.timedelta(days=30)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    receiver.status = 503
    with django_capture_on_commit_callbacks(execute=False):
        assert services.deliver_webhook(delivery_id=delivery.pk, now=now) == "pending"

    detail = f"{_webhooks_url(world)}{webhook.pk}/"
    text = client.get(detail).content.decode()
    assert "HTTP 503" in text and "1 of 5" in text and "Pending" in text
    assert f"{now + dt.timedelta(minutes=1):%-d %b %Y}" in text  # the next attempt
    assert f"#{ticket.number}" in text and "Handed to your party" in text

    receiver.status = 200
    later = now + dt.timedelta(minutes=1)
    assert services.deliver_webhook(delivery_id=delivery.pk, now=later) == "sent"
    text = client.get(detail).content.decode()
    assert "HTTP 200" in text and "2 of 5" in text and "Sent" in text
    listed = client.get(_webhooks_url(world)).content.decode()
    assert "1 sent · 0 pending · 0 failed" in listed


def test_the_webhook_pages_stay_within_a_query_budget(  # type: ignore[no-untyped-def]
    world, as_persona, django_assert_max_num_queries
) -> None:
    client = as_persona("owner")
    for n in range(5):
        client.post(
            _webhooks_url(world), {"url": f"https://hooks.example.test/{n}", "events": ["handoff"]}
        )
    # 15: +1 for the unread bell in the top bar.
    with django_assert_max_num_queries(15):
        assert client.get(_webhooks_url(world)).status_code == 200
    with django_assert_max_num_queries(15):
        assert client.get(f"{_webhooks_url(world)}{world['webhook']}/").status_code == 200


def test_other_people_never_reach_acmes_webhooks(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    for persona in ("internal_tech", "provider_admin", "requester", "other_tenant_owner"):
        client = as_persona(persona)
        assert client.get(_webhooks_url(world)).status_code == 404, persona
        assert client.get(f"{_webhooks_url(world)}{world['webhook']}/").status_code == 404
    # Globex's owner manages Globex's webhooks, but Acme's webhook is not one of them.
    other = as_persona("other_tenant_owner")
    assert other.get(f"/tenants/{world['other_tenant']}/webhooks/").status_code == 200
    assert (
        other.get(f"/tenants/{world['other_tenant']}/webhooks/{world['webhook']}/").status_code
        == 404
    )
    assert (
        other.post(
            f"/tenants/{world['other_tenant']}/webhooks/{world['webhook']}/disable/"
        ).status_code
        == 404
    )
    with system_context("test"):
        assert Webhook.objects.get(pk=world["webhook"]).is_active


# --- Mail review ---------------------------------------------------------------------------------


def _review_url(world) -> str:  # type: ignore[no-untyped-def]
    return f"/tenants/{world['tenant']}/mail-review/"


def test_the_review_lists_ignored_mail_and_failed_notifications(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    page = as_persona("owner").get(_review_url(world))
    assert page.status_code == 200
    text = page.content.decode()
    # The stranger's mail (world): sender, subject, status and why.
    assert "stranger@elsewhere.test" in text and "Invoice overdue" in text
    assert "policy: stranger@elsewhere.test is not a member of Acme Corp" in text
    # The handoff notice to Sentinel that the relay refused (world).
    assert "analyst@sentinel.test" in text
    assert "ConnectionRefusedError: the relay refused the connection" in text
    assert "Ticket handed to your party (IT)" in text
    assert f"/mail-review/outbound/{world['outbound_mail']}/retry/" in text


def test_the_raw_message_downloads_as_it_arrived(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    answer = as_persona("owner").get(f"{_review_url(world)}inbound/{world['inbound_mail']}/raw/")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "message/rfc822"
    assert answer["Content-Disposition"] == (
        f'attachment; filename="inbound-{world["inbound_mail"]}.eml"'
    )
    with system_context("test"):
        kept = InboundMessage.objects.get(pk=world["inbound_mail"])
    assert answer.content == bytes(kept.raw)
    assert answer.content.startswith(b"From: stranger@elsewhere.test\r\n")


def test_a_processed_message_is_not_in_the_review(  # type: ignore[no-untyped-def]
    world, as_persona, settings
) -> None:
    from tandem.servicedesk.mail import inbound as mail_inbound

    raw = (
        f"From: requester@acme.test\r\nTo: acme@{settings.MAIL_DOMAIN}\r\n"
        "Subject: Printer jams\r\nMessage-ID: <ok-1@acme.test>\r\n\r\nIt jams.\r\n"
    ).encode()
    kept = mail_inbound.receive_message(
        envelope_from="requester@acme.test", recipients=[f"acme@{settings.MAIL_DOMAIN}"], raw=raw
    )
    assert mail_inbound.process_inbound_message(message_id=kept.pk).status == "processed"  # type: ignore[union-attr]
    client = as_persona("owner")
    assert "Printer jams" not in client.get(_review_url(world)).content.decode()
    assert client.get(f"{_review_url(world)}inbound/{kept.pk}/raw/").status_code == 404


def test_unreadable_mail_to_a_desk_is_reviewed_by_that_tenant_only(  # type: ignore[no-untyped-def]
    world, as_persona, settings
) -> None:
    """Mail that cannot be read still names its desk in the SMTP envelope: it is kept under
    that tenant, where its owners see it, and out of every other tenant's review."""
    from tandem.servicedesk.mail import inbound as mail_inbound

    garbage = b"\x00\xff garbage from a broken scanner, not an e-mail"
    kept = mail_inbound.receive_message(
        envelope_from="scanner@acme.test", recipients=[f"acme@{settings.MAIL_DOMAIN}"], raw=garbage
    )
    done = mail_inbound.process_inbound_message(message_id=kept.pk)
    assert done is not None and done.status == "failed" and done.tenant_id == world["tenant"]
    page = as_persona("owner").get(_review_url(world)).content.decode()
    assert "it is not an e-mail" in page and "scanner@acme.test" in page
    raw = as_persona("owner").get(f"{_review_url(world)}inbound/{kept.pk}/raw/")
    assert raw.status_code == 200 and raw.content == garbage
    other = as_persona("other_tenant_owner")
    other_review = f"/tenants/{world['other_tenant']}/mail-review/"
    assert "scanner@acme.test" not in other.get(other_review).content.decode()
    assert other.get(f"{other_review}inbound/{kept.pk}/raw/").status_code == 404


def test_retry_sends_a_failed_notification_again(  # type: ignore[no-untyped-def]
    world, as_persona, settings, django_capture_on_commit_callbacks
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    client = as_persona("owner")
    url = f"{_review_url(world)}outbound/{world['outbound_mail']}/retry/"
    before = _audits()
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(url, follow=True)
    assert "The e-mail to analyst@sentinel.test is queued to be sent." in answer.content.decode()
    with system_context("test"):
        row = OutboundMessage.objects.get(pk=world["outbound_mail"])
        entry = AuditEntry.objects.order_by("-id").first()
    assert row.status == "sent" and row.attempts == 2 and row.error == ""
    [sent] = django_mail.outbox
    assert sent.to == ["analyst@sentinel.test"] and sent.extra_headers["Message-ID"] == (
        row.message_id
    )
    assert _audits() == before + 1
    assert entry is not None and entry.action == "servicedesk.retry_outbound_message"
    assert entry.changes["status"] == ["failed", "pending"]
    # Sent now: not in the review any more, and never sent twice.
    assert "analyst@sentinel.test" not in client.get(_review_url(world)).content.decode()
    again = client.post(url, follow=True).content.decode()
    assert "Only a failed message can be sent again; this one is sent." in again
    assert len(django_mail.outbox) == 1


def test_the_review_stays_within_a_query_budget(  # type: ignore[no-untyped-def]
    world, as_persona, settings, django_assert_max_num_queries, django_capture_on_commit_callbacks
) -> None:
    # Five more notices the relay refuses: to Northwind's two people, then back to Acme IT's.
    settings.EMAIL_BACKEND = "tandem.notifications.tests.world.RefusingBackend"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    provider = resolve_principal(user_of(world, "provider_tech"))
    tech = resolve_principal(user_of(world, "internal_tech"))
    with system_context("test"):
        ticket = Ticket.objects.get(pk=world["ticket"])
        northwind = Party.objects.get(pk=world["party"])
        internal = Party.objects.get(pk=world["internal_party"])
    with django_capture_on_commit_callbacks(execute=True):
        with principal_scope(tech):
            ticket_services.handoff_ticket(
                actor=tech, ticket=ticket, to_party=northwind, reason="Patch"
            )
        with principal_scope(provider):
            ticket_services.handoff_ticket(
                actor=provider, ticket=ticket, to_party=internal, reason="Done"
            )
    with system_context("test"):
        assert OutboundMessage.objects.filter(status="failed").count() >= 6
    client = as_persona("owner")
    with django_assert_max_num_queries(15):  # +1: the unread bell
        assert client.get(_review_url(world)).status_code == 200


def test_only_the_tenants_owner_reviews_its_mail(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    raw = f"{_review_url(world)}inbound/{world['inbound_mail']}/raw/"
    retry = f"{_review_url(world)}outbound/{world['outbound_mail']}/retry/"
    for persona in ("internal_tech", "second_provider_tech", "requester", "other_tenant_owner"):
        client = as_persona(persona)
        assert client.get(_review_url(world)).status_code == 404, persona
        assert client.get(raw).status_code == 404, persona
        assert client.post(retry).status_code == 404, persona
    # Globex's owner reviews Globex's mail; Acme's rows are not there.
    other = as_persona("other_tenant_owner")
    globex = f"/tenants/{world['other_tenant']}/mail-review/"
    text = other.get(globex).content.decode()
    assert "stranger@elsewhere.test" not in text and "analyst@sentinel.test" not in text
    assert other.get(f"{globex}inbound/{world['inbound_mail']}/raw/").status_code == 404
    assert other.post(f"{globex}outbound/{world['outbound_mail']}/retry/").status_code == 404
    with system_context("test"):
        assert OutboundMessage.objects.get(pk=world["outbound_mail"]).status == "failed"


def test_the_tenant_sidebar_links_the_owners_pages(world, as_persona) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner").get(f"/tenants/{world['tenant']}/").content.decode()
    assert f'href="/tenants/{world["tenant"]}/webhooks/"' in owner
    assert f'href="/tenants/{world["tenant"]}/mail-review/"' in owner
    tech = as_persona("internal_tech").get(f"/tenants/{world['tenant']}/").content.decode()
    assert "/webhooks/" not in tech and "/mail-review/" not in tech
