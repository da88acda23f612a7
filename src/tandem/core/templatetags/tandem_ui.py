"""Template helpers for the page shell: per-tenant navigation, status badges, audit changes."""

from __future__ import annotations

from html import escape
from typing import Any

from django import template
from django.apps import apps
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from tandem.core import policies

register = template.Library()

#: (section key, label, url name, action checked against the tenant)
TENANT_SECTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("overview", "Overview", "tenancy:tenant", "tenancy.view_tenant"),
    ("tickets", "Tickets", "servicedesk:tickets", "servicedesk.view_ticket"),
    ("devices", "Devices", "assets:devices", "assets.view_device"),
    ("alerts", "Alerts", "alerts:tenant-alerts", "alerts.view_alert"),
    ("dashboard", "Dashboard", "reports:dashboard", "reports.view_dashboard"),
    ("matrix", "Responsibility matrix", "responsibility:matrix", "responsibility.view_matrix"),
    ("engagements", "Engagements", "tenancy:engagements", "tenancy.view_engagement"),
    ("sites", "Sites", "tenancy:sites", "tenancy.view_site"),
    ("asset-groups", "Asset groups", "tenancy:asset-groups", "tenancy.view_assetgroup"),
    ("service-areas", "Service areas", "tenancy:service-areas", "tenancy.view_servicearea"),
    ("people", "People", "accounts:people", "accounts.view_membership"),
    ("audit", "Audit log", "audit:log", "audit.view_auditentry"),
    ("settings", "Settings", "tenancy:tenant-settings", "tenancy.change_tenant"),
)

#: Badge colour per status word (engagements, tokens, memberships, chain state).
BADGE_TONES = {
    "pending": "warn",
    "active": "ok",
    "suspended": "danger",
    "ended": "muted",
    "revoked": "muted",
    "expired": "muted",
    "inactive": "muted",
    "verified": "ok",
    "broken": "danger",
    "read": "info",
    "write": "warn",
}

ROLE_NAMES = {
    "tenant-owner": "Tenant owner",
    "internal-technician": "Internal technician",
    "auditor": "Auditor",
    "requester": "Requester",
    "provider-admin": "Provider admin",
    "provider-technician": "Provider technician",
}


@register.inclusion_tag("_tenant_nav.html", takes_context=True)
def tenant_nav(context: template.Context, tenant: Any) -> dict[str, Any]:
    """The secondary navigation of one tenant: only the sections the principal may open."""
    principal = context["principal"]
    section = context.get("section", "")
    if not principal.is_it_in(tenant.pk) and not principal.is_superuser:
        # A requester's pages are the portal's; the tenant's sections are IT's.
        return {"tenant": tenant, "items": []}
    items = [
        {
            "label": label,
            "url": reverse(url_name, args=[tenant.pk]),
            "active": key == section,
        }
        for key, label, url_name, action in TENANT_SECTIONS
        if policies.allowed(principal, action, tenant)
    ]
    return {"tenant": tenant, "items": items}


@register.inclusion_tag("_account_nav.html", takes_context=True)
def account_nav(context: template.Context) -> dict[str, Any]:
    principal = context["principal"]
    section = context.get("section", "")
    staff = {a.provider_id for a in principal.provider_accesses_with("accounts.view_membership")}
    mine = staff | {a.provider_id for a in principal.provider_accesses}
    # Found by name, as core's models name the tenant ("tenancy.Tenant"): core imports no app.
    provider_model = apps.get_model("tenancy", "Provider")

    # One query for both lists: the providers whose staff page or dashboard the person opens.
    providers = (
        list(provider_model.objects.filter(pk__in=sorted(mine)).only("id", "name")) if mine else []
    )
    return {
        "principal": principal,
        "section": section,
        "staff_providers": [p for p in providers if p.pk in staff],
        # The provider's dashboard (across every tenant that engaged it) had no link at all.
        "dashboard_providers": [
            p for p in providers if policies.allowed(principal, "reports.view_dashboard", p)
        ],
        "current_provider_id": context.get("provider_id_active"),
        "may_view_roles": policies.allowed(principal, "accounts.view_role"),
        # The cross-tenant queue, for anyone who works tickets for a party somewhere.
        "works_tickets": any(a.party_id for a in principal.tenant_accesses),
        # Every device the person sees, across tenants (a provider's client devices).
        "may_view_devices": policies.allowed(principal, "assets.view_device"),
        # The alert queue across tenants (the security monitoring provider's).
        "may_view_alerts": policies.allowed(principal, "alerts.view_alert"),
    }


@register.simple_tag(takes_context=True)
def roles_here(context: template.Context) -> str:
    """The principal's roles in the tenant on screen (or its provider roles elsewhere)."""
    principal = context.get("principal")
    tenant = context.get("tenant")
    if principal is None or not principal.is_authenticated:
        return ""
    if tenant is not None:
        keys = [a.role_key for a in principal.accesses_in(tenant.pk)]
    else:
        keys = [a.role_key for a in principal.provider_accesses]
    if principal.is_superuser:
        keys.append("operator")
    names = dict.fromkeys(
        ROLE_NAMES.get(k, "Instance operator" if k == "operator" else k) for k in keys
    )
    return ", ".join(names)


@register.filter
def role_name(key: str) -> str:
    return ROLE_NAMES.get(key, key)


@register.simple_tag
def badge(status: str, label: str = "") -> str:
    tone = BADGE_TONES.get(str(status), "muted")
    return format_html(
        '<span class="badge badge-{}">{}</span>', tone, label or str(status).capitalize()
    )


@register.filter
def change_rows(changes: Any) -> list[tuple[str, Any, Any]]:
    """An audit entry's ``{field: [before, after]}`` as rows for a table cell."""
    if not isinstance(changes, dict):
        return []
    rows = []
    for name, pair in sorted(changes.items()):
        if isinstance(pair, list | tuple) and len(pair) == 2:
            rows.append((name, pair[0], pair[1]))
        else:
            rows.append((name, None, pair))
    return rows


@register.filter
def plain_value(value: Any) -> str:
    """A JSON value as short text: lists joined, nothing as an em dash."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@register.simple_tag
def switcher_items(tenants: Any, current: Any = None) -> SafeString:
    """The tenant menu's entries (``core.context_processors``), written in Python: an MSP
    technician's menu lists hundreds of tenants on every page, and a template loop over
    them cost more than the page's own rows."""
    current_pk = getattr(current, "pk", None)
    here = ' aria-current="page"'
    items = (
        f'<li><a class="switcher-tenant" href="{escape(t["url"])}"'
        f"{here if t['pk'] == current_pk else ''}>{escape(t['name'])}</a></li>"
        for t in tenants
    )
    return mark_safe("".join(items))  # noqa: S308 - the url and name are escaped
