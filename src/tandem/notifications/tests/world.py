"""The notifications part of the persona world (tests/personas.py): an Acme webhook made by
Acme's owner, a notification in the inbox of Acme's auditor (a user who is no matrix
persona, so every persona must get 404 for it), and for the mail review an e-mail to Acme's
desk from a stranger (kept as ignored) and a handoff notice that the relay refused (failed).
"""

from __future__ import annotations

from typing import Any

from django.core.mail.backends.base import BaseEmailBackend

from tandem.core.scoping import system_context


class RefusingBackend(BaseEmailBackend):
    """A mail relay that refuses every message."""

    def send_messages(self, email_messages: Any) -> int:
        raise ConnectionRefusedError("the relay refused the connection")


def build_notifications_world(world: Any) -> None:
    from tandem.accounts.models import User
    from tandem.accounts.principals import resolve_principal
    from tandem.core.scoping import principal_scope
    from tandem.notifications import services
    from tandem.notifications.choices import NotificationKind
    from tandem.servicedesk.tickets.models import Ticket
    from tandem.tenancy.models import Tenant

    with system_context("test world: notifications"):
        acme = Tenant.objects.get(pk=world["tenant"])
        ticket = Ticket.objects.get(pk=world["ticket"])
        auditor = User.objects.get(pk=world["user:auditor"])
        owner = User.objects.get(pk=world["user:owner"])
        (notification,) = services._notify(
            ticket=ticket,
            kind=NotificationKind.ASSIGNED,
            text=f"{ticket.subject} needs a look",
            users=[auditor],
            exclude_user_id=None,
        )
    principal = resolve_principal(owner)
    with principal_scope(principal):
        webhook, _secret = services.create_webhook(
            actor=principal,
            tenant=acme,
            url="https://hooks.acme.test/tandem",
            events=[NotificationKind.SLA_BREACH],
        )
    world.ids.update(notification=notification.pk, webhook=webhook.pk)
    _build_mail_review(world)


def _build_mail_review(world: Any) -> None:
    from django.conf import settings
    from django.test.utils import override_settings

    from tandem.servicedesk.mail import inbound as mail_inbound
    from tandem.servicedesk.mail import outbound as desk_mail
    from tandem.servicedesk.mail.models import OutboundMessage

    raw = (
        "From: stranger@elsewhere.test\r\n"
        f"To: acme@{settings.MAIL_DOMAIN}\r\n"
        "Subject: Invoice overdue\r\n"
        "Message-ID: <world-stranger@elsewhere.test>\r\n"
        "\r\n"
        "Please pay.\r\n"
    ).encode()
    kept = mail_inbound.receive_message(
        envelope_from="stranger@elsewhere.test",
        recipients=[f"acme@{settings.MAIL_DOMAIN}"],
        raw=raw,
        peer="127.0.0.1",
    )
    ignored = mail_inbound.process_inbound_message(message_id=kept.pk)
    assert ignored is not None and ignored.status == "kept", ignored
    with system_context("test world: the handoff notice to Sentinel"):
        notice = OutboundMessage.objects.filter(
            ticket_id=world["sentinel_ticket"], kind="handoff"
        ).first()
    assert notice is not None, "the handoff to Sentinel mailed nobody"
    with override_settings(EMAIL_BACKEND=f"{__name__}.RefusingBackend"):
        assert desk_mail.send_outbound_message(outbound_id=notice.pk) == "failed"
    world.ids.update(inbound_mail=ignored.pk, outbound_mail=notice.pk)
