"""The agents' section of the assets app's device page: the agent's state and counts, and
the link to the device's full inventory page."""

from __future__ import annotations

from tandem.agents import queries
from tandem.assets.models import Device
from tandem.assets.queries import DeviceSection
from tandem.core.principal import Principal


def inventory_section(principal: Principal, device: Device) -> DeviceSection | None:
    """Counts of software, pending (security) updates and changes, for a reader who may
    see the device (the page already checked it)."""
    state = queries.agent_state(device)
    if state is None or not state.state_hash:
        return None  # the page's placeholder says no inventory came yet
    updates = queries.pending_updates(device)
    return DeviceSection(
        key="inventory",
        title="Inventory",
        template="agents/_device_section.html",
        context={
            "agent_state": state,
            "software_count": queries.software(device).count(),
            "update_count": updates.count(),
            "security_count": updates.filter(security=True).count(),
            "change_count": queries.history(device).count(),
        },
        order=20,
    )


#: Pending updates listed on the device page itself (the inventory page lists them all).
SECTION_UPDATES = 20


def updates_section(principal: Principal, device: Device) -> DeviceSection | None:
    """The device's pending updates, security first; None before any inventory (the
    page's placeholder then says so)."""
    state = queries.agent_state(device)
    if state is None or not state.state_hash:
        return None
    updates = queries.pending_updates(device)
    return DeviceSection(
        key="updates",
        title="Pending updates",
        template="agents/_device_updates_section.html",
        context={"updates": list(updates[:SECTION_UPDATES]), "update_count": updates.count()},
        order=30,
    )
