"""A co-managed desk on top of the persona world (tests/personas.py).

Acme's internal IT works office hours (Mon-Fri 08:00-17:00 Europe/Berlin) and is
Responsible for server patching; Northwind MSP is Consulted and covers nights and weekends
for P1 and P2. Internal IT has an OLA, Northwind an SLA.
"""

from __future__ import annotations

from dataclasses import dataclass

from tandem.core.principal import system_principal
from tandem.core.scoping import system_context
from tandem.responsibility import services as matrix_services
from tandem.responsibility.models import ResponsibilityRow
from tandem.servicedesk.config import services as config_services
from tandem.servicedesk.config import sla_services as config_sla
from tandem.tenancy.models import Party, Tenant
from tests.personas import World

OFFICE = {str(d): [["08:00", "17:00"]] for d in range(5)}
NIGHTS = {str(d): [["00:00", "08:00"], ["17:00", "24:00"]] for d in range(5)} | {
    "5": [["00:00", "24:00"]],
    "6": [["00:00", "24:00"]],
}


@dataclass
class Desk:
    tenant: Tenant
    internal: Party
    northwind: Party
    category_id: int
    office_id: int
    nights_id: int


def desk_of(world: World) -> Desk:
    """The desk that ``build_world`` set up, loaded for one test."""
    from tandem.servicedesk.config.models import Category
    from tandem.sla.models import Calendar

    with system_context("test desk"):
        return Desk(
            Tenant.objects.get(pk=world["tenant"]),
            Party.objects.get(pk=world["internal_party"]),
            Party.objects.get(pk=world["party"]),
            Category.objects.get(pk=world["category"]).pk,
            Calendar.objects.get(pk=world["office_calendar"]).pk,
            Calendar.objects.get(pk=world["nights_calendar"]).pk,
        )


def setup_desk(world: World, *, night_cover: bool = True) -> Desk:
    """Create the desk; ``build_world`` calls this once for the shared world."""
    actor = system_principal("test desk")
    with system_context("test desk set-up"):
        tenant = Tenant.objects.get(pk=world["tenant"])
        internal = Party.objects.get(pk=world["internal_party"])
        northwind = Party.objects.get(pk=world["party"])
        office = config_sla.create_calendar(
            actor=actor,
            tenant=tenant,
            name="Office hours",
            time_zone="Europe/Berlin",
            weekly=OFFICE,
            holiday_country="DE",
            holiday_subdivision="BE",
        )
        nights = config_sla.create_calendar(
            actor=actor,
            tenant=tenant,
            name="Nights and weekends",
            time_zone="Europe/Berlin",
            weekly=NIGHTS,
        )
        category = config_services.create_category(
            actor=actor,
            tenant=tenant,
            name="Server problem",
            service_area_id=world["service_area"],
        )
        matrix_services.add_matrix_row(
            actor=actor,
            tenant=tenant,
            service_area_id=world["service_area"],
            responsible_id=internal.pk,
            accountable_id=internal.pk,
            consulted_ids=[northwind.pk],
        )
        matrix_services.add_coverage(
            actor=actor, tenant=tenant, party=internal, calendar_id=office.pk
        )
        if night_cover:
            matrix_services.add_coverage(
                actor=actor, tenant=tenant, party=northwind, calendar_id=nights.pk, max_priority=2
            )
        config_sla.create_sla_policy(
            actor=actor,
            tenant=tenant,
            name="Internal OLA",
            party=internal,
            calendar_id=office.pk,
            targets={
                "2": {"first_response": 60, "resolution": 480},
                "3": {"first_response": 240, "resolution": 1440},
            },
            pause_statuses={"resolution": ["waiting-requester"]},
        )
        config_sla.create_sla_policy(
            actor=actor,
            tenant=tenant,
            name="Northwind SLA",
            party=northwind,
            calendar_id=nights.pk,
            targets={
                "1": {"first_response": 15, "resolution": 240},
                "2": {"first_response": 30, "resolution": 480},
            },
        )
        row = ResponsibilityRow.objects.get(tenant=tenant)
    world.ids.update(
        category=category.pk,
        office_calendar=office.pk,
        nights_calendar=nights.pk,
        matrix_row=row.pk,
    )
    return Desk(tenant, internal, northwind, category.pk, office.pk, nights.pk)
