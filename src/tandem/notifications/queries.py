"""Reads of the notifications app: who a notification goes to, and a person's own inbox."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils import timezone

from tandem.accounts.models import Membership, User
from tandem.accounts.principals import engagement_is_live
from tandem.core.principal import Principal
from tandem.core.scoping import system_context
from tandem.notifications.models import Notification, Webhook, WebhookDelivery
from tandem.tenancy.models import Party

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


def unread_count(principal: Principal) -> int:
    return own_notifications(principal, unread=True).count()


def webhooks(principal: Principal) -> QuerySet[Webhook]:
    """The webhooks of the tenants where the principal manages webhooks."""
    from tandem.core.policies import visible

    return visible(principal, "notifications.manage_webhook", Webhook.objects.all())


def webhook(principal: Principal, webhook_id: int) -> Webhook:
    from tandem.core.policies import get_visible_or_404

    return get_visible_or_404(
        principal, "notifications.manage_webhook", Webhook.objects.all(), pk=webhook_id
    )


def deliveries(principal: Principal, webhook_id: int) -> QuerySet[WebhookDelivery]:
    """One webhook's delivery log, newest first (404 when the webhook is out of reach)."""
    return WebhookDelivery.objects.filter(webhook=webhook(principal, webhook_id))
