"""Patching's section of the assets app's device page: the device's updates with their
approval, who may approve them, and where its policy's settings come from."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from tandem.assets.models import Device
from tandem.assets.queries import DeviceSection
from tandem.core.policies import allowed
from tandem.core.principal import Principal
from tandem.patching import queries
from tandem.patching.permissions import APPROVE_UPDATES, VIEW_PATCHING

#: Updates listed on the device page.
SECTION_ROWS = 50


def updates_section(principal: Principal, device: Device) -> DeviceSection | None:
    """The device's missing updates (and the latest closed ones) for a reader with the
    patching permission; nothing for others."""
    if not allowed(principal, VIEW_PATCHING, device.tenant):
        return None
    states = queries.device_updates(principal, device)
    try:
        approver = queries.approver_of(device)
    except ImproperlyConfigured:
        approver = None  # no desk installed: nobody can be named
    policy = queries.effective_policy(device)
    return DeviceSection(
        key="patching",
        title="Updates",
        template="patching/_device_section.html",
        context={
            "states": list(states[:SECTION_ROWS]),
            "missing_count": states.filter(status="missing").count(),
            "approver": approver,
            "may_decide": approver is not None
            and approver.party_id in principal.party_ids_in(device.tenant_id)
            and allowed(principal, APPROVE_UPDATES, device),
            "policy_rows": [
                (name, policy.values[name], policy.sources[name])
                for name in ("maintenance_window_id", "ring_id", "reboot_mode")
            ],
        },
        order=35,
    )
