"""Template helpers of the notifications pages: the tenant's mail and webhook links in the
sidebar, and status badges of deliveries and mail."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html

from tandem.core import policies
from tandem.notifications.policies import MANAGE_WEBHOOK, REVIEW_MAIL

register = template.Library()

#: (section key, label, url name, action checked against the tenant)
SECTIONS = (
    ("webhooks", "Webhooks", "notifications:webhooks", MANAGE_WEBHOOK),
    ("mail-review", "Mail review", "notifications:mail-review", REVIEW_MAIL),
)

#: Badge tone per status of a webhook, a delivery, or a kept / sent e-mail.
TONES = {
    "active": "ok",
    "disabled": "muted",
    "sent": "ok",
    "processed": "ok",
    "pending": "warn",
    "sending": "warn",
    "kept": "muted",
    "failed": "danger",
}


@register.inclusion_tag("notifications/_tenant_nav.html", takes_context=True)
def mail_nav(context: template.Context, tenant: Any) -> dict[str, Any]:
    """The tenant's webhook and mail review links, for those who may open them."""
    principal = context["principal"]
    section = context.get("section", "")
    items = [
        {"label": label, "url": reverse(url_name, args=[tenant.pk]), "active": key == section}
        for key, label, url_name, action in SECTIONS
        if policies.allowed(principal, action, tenant)
    ]
    return {"tenant": tenant, "items": items}


@register.simple_tag
def status_badge(status: str, label: str = "") -> str:
    return format_html(
        '<span class="badge badge-{}">{}</span>',
        TONES.get(str(status), "muted"),
        label or str(status).capitalize(),
    )
