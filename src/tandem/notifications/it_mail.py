"""Mail to IT people, as the desk sends it: whether it may still go out, and what it says.

This app makes that mail due (an :class:`EmailNotice` beside each desk ``OutboundMessage``,
written by ``services._mail`` for the subscribers); the desk sends it and asks these two,
registered when the subscribers load (``servicedesk.mail.services.register_it_mail``).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse

from tandem.accounts.principals import resolve_principal
from tandem.core.policies import allowed
from tandem.notifications.models import EmailNotice
from tandem.servicedesk.mail.models import OutboundMessage


def refusal(outbound: OutboundMessage) -> str:
    """Why a mail to an IT person may no longer go out ("" if it may): the recipient left,
    or no longer sees the ticket (an engagement ended, a membership was removed) between the
    event and the sending."""
    notice = EmailNotice.objects.select_related("user").filter(outbound=outbound).first()
    if notice is None:
        return "the notice behind this mail is missing"
    user = notice.user
    if not user.is_active or user.email.lower() != outbound.to_address.lower():
        return f"{outbound.to_address} is no longer an active person with this address"
    if not allowed(resolve_principal(user), "servicedesk.view_ticket", outbound.ticket):
        return f"{outbound.to_address} no longer sees this ticket"
    return ""


def context(outbound: OutboundMessage) -> dict[str, str]:
    """What a mail to an IT person says beyond the ticket's name: its priority, the reason,
    the due time in the tenant's zone and the link. Never a note's text or its author (a
    reply is named by who wrote it, in the reason)."""
    ticket, tenant = outbound.ticket, outbound.tenant
    notice = EmailNotice.objects.select_related("user").get(outbound=outbound)
    due = ""
    if notice.due_at is not None:
        local = notice.due_at.astimezone(ZoneInfo(tenant.time_zone))
        due = f"{local:%Y-%m-%d %H:%M} ({tenant.time_zone})"
    return {
        "recipient_name": notice.user.full_name or notice.user.email,
        "ticket_priority": f"P{ticket.priority}",
        "ticket_url": settings.SITE_URL + reverse("servicedesk:ticket", args=[ticket.pk]),
        "reason": notice.reason,
        "due_at": due,
        "due_label": notice.due_label,
        "preferences_url": settings.SITE_URL + reverse("notifications:notification-preferences"),
        "author_name": "",
        "comment_body": "",
    }
