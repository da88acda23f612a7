"""The side navigation comes from the apps' declarations (``tenant_sections``,
``workspace_links``): each link resolves, names a registered action, and shows only to whoever
holds it; a section's own pages mark it current."""

from __future__ import annotations

import re

from django.urls import reverse

from tandem.core.policies import registered_actions
from tandem.core.registry import tenant_sections, workspace_links


def _sidebar(html: str) -> str:
    return html.split('class="sidebar"', 1)[1].split("</aside>", 1)[0]


def _nav(html: str) -> list[str]:
    """The link texts of the side navigation (tenant sections, then the workspace)."""
    return re.findall(r"<a [^>]*>([^<]+)</a>", _sidebar(html))


def test_every_declared_link_resolves_and_names_a_registered_action() -> None:
    actions = registered_actions()
    keys = []
    for key, label, url_name, action, _position in tenant_sections():
        assert reverse(url_name, args=[1]).startswith("/"), url_name
        assert action in actions, f"{label}: {action} is not a registered action"
        keys.append(key)
    for key, label, url_name, action, _position in workspace_links():
        assert reverse(url_name).startswith("/"), url_name
        assert action in actions, f"{label}: {action} is not a registered action"
        keys.append(key)
    assert len(keys) == len(set(keys)), "a navigation key is declared twice"


def test_the_tenants_it_sees_its_sections_in_order_and_the_current_one_marked(
    as_persona, world
) -> None:  # type: ignore[no-untyped-def]
    owner = as_persona("owner")
    page = owner.get(reverse("patching:patch-dashboard", args=[world["tenant"]]))
    links = _nav(page.content.decode())
    for before, after in (("Overview", "Tickets"), ("Devices", "Patching"), ("People", "Settings")):
        assert links.index(before) < links.index(after), links
    current = re.search(
        r'<a [^>]*aria-current="page"[^>]*>([^<]+)</a>', _sidebar(page.content.decode())
    )
    assert current is not None and current.group(1) == "Patching"
    # The cross-tenant queues the owner works in: patch and job approvals.
    assert {"Devices", "Patch approvals", "Job approvals"} <= set(links)


def test_a_requester_sees_no_it_section_and_no_queue(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    requester = as_persona("requester")
    page = requester.get(reverse("servicedesk:portal"))
    links = _nav(page.content.decode())
    assert "Patching" not in links and "Patch approvals" not in links
    assert "Job approvals" not in links and "Portal" in links


def test_alerts_are_linked_only_where_the_alerts_are_within_reach(as_persona, world) -> None:  # type: ignore[no-untyped-def]
    """Northwind's technician holds the alert permission by role, but its engagement does not
    cover Acme's security monitoring: no "Alerts" link (it led to a 404, and to an empty
    queue). Sentinel's analyst (engaged for security monitoring) and Acme's IT get both."""
    tickets = reverse("servicedesk:tickets", args=[world["tenant"]])
    for persona, linked in (
        ("provider_tech", False),
        ("second_provider_tech", True),
        ("owner", True),
    ):
        page = as_persona(persona).get(tickets)
        assert page.status_code == 200, persona
        links = _nav(page.content.decode())
        assert ("Alerts" in links) is linked, (persona, links)
        tenant_alerts = reverse("alerts:tenant-alerts", args=[world["tenant"]])
        assert (tenant_alerts in _sidebar(page.content.decode())) is linked, persona
        assert as_persona(persona).get(tenant_alerts).status_code == (200 if linked else 404)
