"""Reads of the notifications app: who a notification goes to, a person's own inbox and
e-mail preferences, and a tenant's webhooks. The tenant's mail that needs a look is the
desk's to read (``servicedesk.mail.queries``); the mail review pages reach it through here."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from tandem.accounts.models import Membership, User
from tandem.accounts.principals import engagement_is_live
from tandem.core.policies import get_visible_or_404, visible
from tandem.core.principal import Principal
from tandem.core.scoping import system_context
from tandem.notifications.choices import NotificationKind
from tandem.notifications.models import (
    Notification,
    NotificationPreference,
    Webhook,
    WebhookDelivery,
)
from tandem.servicedesk.mail.queries import (
    failed_outbound,
    inbound_message,
    outbound_message,
    tenant_inbound,
    tenant_inbound_message,
    unprocessed_inbound,
)
from tandem.tenancy.models import Party

# Named here for the mail review pages (``views.py``, ``api.py``: ``queries.<name>``) until
# they import the desk's queries themselves.
__all__ = [
    "failed_outbound",
    "inbound_message",
    "outbound_message",
    "tenant_inbound",
    "tenant_inbound_message",
    "unprocessed_inbound",
]

#: Only people whose role lets them see tickets are told about tickets.
DESK_PERMISSION = "servicedesk.view_ticket"


def party_people(party: Party) -> list[User]:
    """The active people who act for ``party`` in its tenant right now.

    Internal IT: the tenant memberships that join the internal party. A provider party: the
    provider's staff, while the engagement behind the party is live. Either way only roles
    that see tickets, and only active users, ordered by id.
    """
    with system_context("the people of a party, for notifications"):
        if party.engagement_id is None:
            memberships = Membership.objects.filter(
                tenant_id=party.tenant_id, party=party, is_active=True, tenant__is_active=True
            )
        else:
            engagement = party.engagement
            assert engagement is not None
            if not engagement_is_live(engagement, timezone.localdate()):
                return []
            memberships = Membership.objects.filter(
                provider_id=party.provider_id or 0,
                tenant__isnull=True,
                is_active=True,
                provider__is_active=True,
            )
        rows = memberships.filter(user__is_active=True).select_related("role", "user")
        people = {m.user.pk: m.user for m in rows if DESK_PERMISSION in m.role.permissions}
    return [people[pk] for pk in sorted(people)]


def it_people_among(tenant_id: int, users: Iterable[User]) -> list[User]:
    """Those of ``users`` who act for some party of the tenant (its IT or an engaged
    provider): requesters and outsiders are dropped."""
    wanted = {u.pk: u for u in users if u is not None}
    if not wanted:
        return []
    with system_context("which watchers work for the tenant's IT"):
        parties = list(Party.objects.filter(tenant_id=tenant_id).select_related("engagement"))
    it_ids = {u.pk for party in parties for u in party_people(party)}
    return [wanted[pk] for pk in sorted(wanted) if pk in it_ids]


def own_notifications(
    principal: Principal, *, unread: bool | None = None
) -> QuerySet[Notification]:
    """The principal's own notifications, newest first; nobody reads another's inbox."""
    if principal.user_id is None:
        return Notification.objects.none()
    rows = Notification.objects.filter(user_id=principal.user_id).select_related("ticket", "tenant")
    if unread is True:
        rows = rows.filter(read_at__isnull=True)
    elif unread is False:
        rows = rows.filter(read_at__isnull=False)
    return rows


def unread_count_capped(principal: Principal, *, cap: int) -> int:
    """How many of the principal's notifications are unread, counting at most ``cap``: one
    ``COUNT`` over a ``LIMIT`` walk of the inbox index, so a neglected inbox of thousands
    costs no more than a tidy one (the bell on every page)."""
    if principal.user_id is None:
        return 0
    rows = Notification.objects.filter(user_id=principal.user_id, read_at__isnull=True)
    return rows.values("pk")[:cap].count()


def webhooks(principal: Principal) -> QuerySet[Webhook]:
    """The webhooks of the tenants where the principal manages webhooks."""
    return visible(principal, "notifications.manage_webhook", Webhook.objects.all())


def webhook(principal: Principal, webhook_id: int) -> Webhook:
    return get_visible_or_404(
        principal, "notifications.manage_webhook", Webhook.objects.all(), pk=webhook_id
    )


def deliveries(principal: Principal, webhook_id: int) -> QuerySet[WebhookDelivery]:
    """One webhook's delivery log, newest first (404 when the webhook is out of reach)."""
    return WebhookDelivery.objects.filter(webhook=webhook(principal, webhook_id))


# --- E-mail preferences ------------------------------------------------------------------------


def email_preferences(user_id: int) -> dict[str, bool]:
    """Whether each kind of notification also comes by e-mail to this person (default on)."""
    chosen = dict(
        NotificationPreference.objects.filter(user_id=user_id).values_list("kind", "email")
    )
    return {kind: chosen.get(kind, True) for kind in NotificationKind.values}


def email_muted(kind: str, user_ids: Iterable[int]) -> set[int]:
    """Those of ``user_ids`` who turned e-mail off for ``kind``."""
    return set(
        NotificationPreference.objects.filter(
            user_id__in=list(user_ids), kind=kind, email=False
        ).values_list("user_id", flat=True)
    )


# --- Webhooks of one tenant (the pages) -----------------------------------------


def tenant_webhooks(principal: Principal, tenant_id: int) -> QuerySet[Webhook]:
    """One tenant's webhooks with the count of deliveries per outcome, newest first."""
    return (
        webhooks(principal)
        .filter(tenant_id=tenant_id)
        .annotate(
            sent=Count("deliveries", filter=Q(deliveries__status="sent")),
            pending=Count("deliveries", filter=Q(deliveries__status="pending")),
            failed=Count("deliveries", filter=Q(deliveries__status="failed")),
        )
    )


def tenant_webhook(principal: Principal, tenant_id: int, webhook_id: int) -> Webhook:
    """One webhook of the tenant the URL names: 404 when it belongs to another tenant or the
    principal does not manage the tenant's webhooks."""
    return get_visible_or_404(
        principal,
        "notifications.manage_webhook",
        Webhook.objects.all(),
        pk=webhook_id,
        tenant_id=tenant_id,
    )
