"""The ticket page's extras block: files the viewer may read, parent, children, tags and
watchers. An inclusion tag, so the ticket page needs one include and no new view code."""

from __future__ import annotations

from typing import Any

from django import template

from tandem.core import policies
from tandem.servicedesk import queries
from tandem.servicedesk.choices import Visibility
from tandem.servicedesk.policies import may_write_internal_notes

register = template.Library()


@register.inclusion_tag("servicedesk/extras/_ticket_links.html", takes_context=True)
def ticket_extras(context: Any, ticket: Any) -> dict[str, Any]:
    principal = context["request"].principal
    visible = queries.tickets(principal)
    may_attach = policies.allowed(principal, "servicedesk.comment_ticket", ticket)
    tiers = (
        Visibility.choices
        if may_write_internal_notes(principal, ticket.tenant_id)
        else [(Visibility.PUBLIC.value, Visibility.PUBLIC.label)]
    )
    return {
        "ticket": ticket,
        "attachments": list(queries.attachments(principal, ticket).order_by("id")),
        "parent": visible.filter(pk=ticket.parent_id).first() if ticket.parent_id else None,
        "merged_into": (
            visible.filter(pk=ticket.merged_into_id).first() if ticket.merged_into_id else None
        ),
        "children": list(visible.filter(parent_id=ticket.pk).order_by("number")),
        "watcher_count": ticket.watchers.count(),
        "may_attach": may_attach,
        "tiers": tiers,
        "csrf_token": context.get("csrf_token"),
    }
