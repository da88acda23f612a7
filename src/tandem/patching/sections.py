"""Patching's section of the assets app's device page: the device's updates with their
approval, who may approve them, and where its policy's settings come from."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from tandem.assets.models import Device
from tandem.assets.queries import DeviceSection
from tandem.core.policies import allowed
from tandem.core.principal import Principal
from tandem.jobs import queries as job_queries
from tandem.patching import queries
from tandem.patching.install_services import ORIGIN_PREFIX
from tandem.patching.permissions import APPROVE_UPDATES, CHANGE_PATCH_POLICY, VIEW_PATCHING

#: Updates listed on the device page.
SECTION_ROWS = 50
#: Patching's latest install and reboot jobs listed with them.
SECTION_JOBS = 5


def updates_section(principal: Principal, device: Device) -> DeviceSection | None:
    """The device's missing updates (and the latest closed ones) for a reader with the
    patching permission, with the latest jobs patching made for them (their state and a
    link to each, where the reader may see jobs); nothing for others."""
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
            "jobs": list(
                job_queries.device_jobs(principal, device).filter(origin__startswith=ORIGIN_PREFIX)[
                    :SECTION_JOBS
                ]
            ),
            "missing_count": states.filter(status="missing").count(),
            "approver": approver,
            "may_decide": approver is not None
            and approver.party_id in principal.party_ids_in(device.tenant_id)
            and allowed(principal, APPROVE_UPDATES, device),
            "may_change_policy": allowed(principal, CHANGE_PATCH_POLICY, device.tenant),
            "policy_rows": [
                (name, policy.values[name], policy.sources[name])
                for name in ("maintenance_window_id", "ring_id", "reboot_mode")
            ],
        },
        order=35,
    )
