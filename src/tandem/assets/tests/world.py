"""The assets part of the persona world (tests/personas.py): four devices, so that every
device endpoint and page meets each kind of reach.

- ``device``: Acme, at the HQ site in "Acme HQ servers": Acme's IT, Northwind (engaged for
  HQ) and Sentinel (all of Acme) see it; Narrow IT (Branch only) does not.
- ``device_out_of_scope``: Acme, at the Branch site in "Acme Branch PCs": Acme's IT, Narrow
  IT and Sentinel; not Northwind.
- ``device_unplaced``: Acme, no site and no group: Acme's IT and Sentinel (an engagement
  restricted to sites never reaches an unplaced device).
- ``other_device``: Globex: its owner and Northwind (engaged for all of Globex).

Acme's ``ticket`` names Acme's three devices and Globex's ``other_ticket`` its one, so the
ticket pages and the device pages meet links their readers may and may not see.
"""

from __future__ import annotations

from typing import Any

from tandem.assets.offline_services import set_offline_policy
from tandem.assets.services import register_device
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.servicedesk.tickets.device_services import set_ticket_devices
from tandem.servicedesk.tickets.models import Ticket
from tandem.tenancy.models import AssetGroup, Site, Tenant


def build_assets_world(world: Any) -> None:
    actor = system_principal("build the test world: devices")
    with system_context("test world: devices"):
        acme = Tenant.objects.get(pk=world["tenant"])
        globex = Tenant.objects.get(pk=world["other_tenant"])
        sites = {s.pk: s for s in Site.objects.all()}
        groups = {g.pk: g for g in AssetGroup.objects.all()}
    specs = (
        ("device", acme, "site", "asset_group", "acme-hq-db01", "linux"),
        (
            "device_out_of_scope",
            acme,
            "site_out_of_scope",
            "asset_group_out_of_scope",
            "acme-branch-pc07",
            "windows",
        ),
        ("device_unplaced", acme, None, None, "acme-spare-laptop", "macos"),
        ("other_device", globex, "other_site", None, "globex-plc-gateway", "linux"),
    )
    for name, tenant, site, group, hostname, os_family in specs:
        device = register_device(
            actor=actor,
            tenant=tenant,
            site=sites[world[site]] if site else None,
            asset_group=groups[world[group]] if group else None,
            hostname=hostname,
            hardware_id=f"hw-{hostname}",
            serial_number=f"SN-{hostname.upper()}",
            os_family=os_family,
        )
        world.ids[name] = device.pk
    # The tickets name devices: Acme's ticket all three of Acme's (each reader sees those it
    # may), Globex's its one.
    with system_context("test world: tickets' devices"):
        for ticket, devices in (
            ("ticket", ("device", "device_out_of_scope", "device_unplaced")),
            ("other_ticket", ("other_device",)),
        ):
            set_ticket_devices(
                actor=actor,
                ticket=Ticket.objects.get(pk=world[ticket]),
                device_ids=[world[d] for d in devices],
            )
    # Offline alerts: Acme's policy (off, so no test meets a ticket it did not ask for) and
    # an override for its HQ site, which the isolation matrix removes.
    set_offline_policy(actor=actor, tenant=acme, enabled=False, minutes=60)
    world.ids["offline_policy"] = set_offline_policy(
        actor=actor, tenant=acme, site_id=world["site"], enabled=False, minutes=120
    ).pk
