"""The notifications part of the persona world (tests/personas.py): an Acme webhook made by
Acme's owner, and a notification in the inbox of Acme's auditor (a user who is no matrix
persona, so every persona must get 404 for it)."""

from __future__ import annotations

from typing import Any

from tandem.core.scoping import system_context


def build_notifications_world(world: Any) -> None:
    from tandem.accounts.models import User
    from tandem.accounts.principals import resolve_principal
    from tandem.core.scoping import principal_scope
    from tandem.notifications import services
    from tandem.notifications.choices import NotificationKind
    from tandem.servicedesk.models import Ticket
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
