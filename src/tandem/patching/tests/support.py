"""Shared by patching's tests and its isolation expectations: the world's HQ device reports
pending updates through the real check-in (``/agent/v1/check-in``), which records
``device.pending_updates_changed``; the suite runs subscribers eagerly, so the device's
update states exist when the call returns."""

from __future__ import annotations

from typing import Any

from django.test import Client
from tests.personas import World

from tandem.agents.models import AgentState
from tandem.agents.tests.support import check_in, document, full
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.patching import services
from tandem.patching.models import DeviceUpdateState
from tandem.responsibility import services as matrix
from tandem.tenancy.models import ServiceArea, Tenant

#: What the HQ device reports by default: openssl with a security update, curl with a
#: plain one, bash up to date.
INSTALLED = {"openssl": "3.0.11-1~deb12u1", "curl": "7.88.1-10", "bash": "5.2.15-2"}
UPDATES = {
    "openssl": ("3.0.11-1~deb12u1", "3.0.11-1~deb12u2", True),
    "curl": ("7.88.1-10", "7.88.1-10+deb12u5", False),
}


def report(
    world: World,
    installed: dict[str, str] | None = None,
    updates: dict[str, tuple[str, str, bool]] | None = None,
    reboot_required: bool | None = None,
) -> Any:
    """The HQ device checks in with a full inventory (the next sequence number), saying
    whether a reboot is pending when ``reboot_required`` is given."""
    with system_context("test: the agent's sequence"):
        state = AgentState.objects.get(device_id=world["device"])
    inventory = document(
        INSTALLED if installed is None else installed,
        UPDATES if updates is None else updates,
    )
    if reboot_required is not None:
        inventory["patch_status"] = {"reboot_required": reboot_required}
    answer = check_in(
        Client(),
        world.secrets["device_credential"],
        str(world["device"]),
        [full(state.last_sequence + 1, inventory)],
    )
    assert answer.status_code == 200, answer.content
    return answer


def states(world: World) -> dict[str, DeviceUpdateState]:
    """The HQ device's update states by package name."""
    with system_context("test: update states"):
        rows = DeviceUpdateState.objects.filter(device_id=world["device"]).select_related("entry")
        return {row.entry.package: row for row in rows}


def missing_entry(world: World, package: str = "openssl") -> int:
    """The catalogue entry id of ``package``'s update missing on the HQ device, reporting
    the default inventory first when the device has none yet."""
    found = states(world)
    if package not in found:
        report(world)
        found = states(world)
    return found[package].entry_id


def northwind_patches_hq_servers(world: World, *, accountable: str = "internal_party") -> None:
    """The MSP owns server patching: the matrix's row for the HQ servers group in the
    server-patching area names Northwind responsible (and ``accountable``: Acme's IT by
    default, Northwind itself with ``"party"``), and the tenant picks that area for
    patching approvals, so Northwind is the party for the HQ device's updates (its
    approver, and its line in the compliance breakdown by party)."""
    actor = system_principal("test: the HQ servers' patching row")
    with system_context("test: the HQ servers' patching row"):
        acme = Tenant.objects.get(pk=world["tenant"])
        area = ServiceArea.objects.get(pk=world["service_area"])
    matrix.add_matrix_row(
        actor=actor,
        tenant=acme,
        service_area_id=area.pk,
        asset_group_id=world["asset_group"],
        responsible_id=world["party"],
        accountable_id=world[accountable],
    )
    services.set_patching_area(actor=actor, tenant=acme, service_area=area)
