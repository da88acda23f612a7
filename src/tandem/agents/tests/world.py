"""The agents part of the persona world (tests/personas.py): an enrolment token per placement,
and the HQ device enrolled by its agent.

- ``enrolment_token``: Acme, HQ site, "HQ servers" group: Acme's IT and Northwind's admin
  (engaged for HQ) manage it; Narrow IT does not.
- ``enrolment_token_out_of_scope``: Acme, Branch site: Acme's IT (Narrow IT's people hold no
  enrolment permission: technicians only read).
- ``other_enrolment_token``: Globex: its owner and Northwind's admin.
- The world's ``device`` (Acme HQ) enrolled with ``enrolment_token`` (its identity as the
  assets world made it): it has an agent state and a live credential
  (``world.secrets["device_credential"]``), and no inventory yet.
"""

from __future__ import annotations

from typing import Any

from tandem.agents.services import create_enrolment_token, enrol_device
from tandem.agents.wire import DeviceFacts, EnrolRequest
from tandem.assets.models import Device
from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.tenancy.models import AssetGroup, Site, Tenant


def build_agents_world(world: Any) -> None:
    actor = system_principal("build the test world: enrolment")
    with system_context("test world: enrolment"):
        tenants = {t.pk: t for t in Tenant.objects.all()}
        sites = {s.pk: s for s in Site.objects.all()}
        groups = {g.pk: g for g in AssetGroup.objects.all()}
        hq_device = Device.objects.get(pk=world["device"])
    specs = (
        ("enrolment_token", "tenant", "site", "asset_group", "Acme HQ enrolment token"),
        (
            "enrolment_token_out_of_scope",
            "tenant",
            "site_out_of_scope",
            "asset_group_out_of_scope",
            "Acme Branch enrolment token",
        ),
        ("other_enrolment_token", "other_tenant", "other_site", None, "Globex enrolment token"),
    )
    for name, tenant, site, group, label in specs:
        token, secret = create_enrolment_token(
            actor=actor,
            tenant=tenants[world[tenant]],
            name=label,
            site=sites[world[site]],
            asset_group=groups[world[group]] if group else None,
        )
        world.ids[name] = token.pk
        world.secrets[name] = secret
    enrolment = enrol_device(
        actor=actor,
        raw_token=world.secrets["enrolment_token"],
        request=EnrolRequest(
            token=world.secrets["enrolment_token"],
            device=DeviceFacts(
                hostname=hq_device.hostname,
                hardware_id=hq_device.hardware_id,
                serial=hq_device.serial_number,
                os={"family": hq_device.os_family},
            ),
        ),
    )
    world.secrets["device_credential"] = enrolment.credential
