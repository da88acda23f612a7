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
