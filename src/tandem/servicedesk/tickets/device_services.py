"""Writes of a ticket's devices (decision 0026): named when the ticket is opened
(:func:`devices_to_link` and :func:`link_new_ticket`, called by ``tickets.services``) and
changed afterwards (:func:`set_ticket_devices`). Keyword-only, audited.

A ticket names only devices of its own tenant that the actor may see. Changing the list
touches only the devices the actor sees: a link to a device outside its scope (made by the
tenant's IT) stays as it is, unseen, and is never reported back to it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from tandem.assets.models import Device
from tandem.assets.policies import visible_devices
from tandem.audit.services import record_audit
from tandem.core.errors import Conflict, require
from tandem.core.policies import authorize
from tandem.core.principal import Principal
from tandem.core.scoping import within_tenant
from tandem.servicedesk.tickets.models import Ticket, TicketDevice

#: The most devices one ticket names (an outage of a rack, not of a fleet).
MAX_DEVICES = 50


def devices_to_link(actor: Principal, tenant_id: int, device_ids: Iterable[int]) -> list[int]:
    """The ids of ``device_ids``, each a device of the tenant the actor sees; else a field
    error naming the others as unknown (another tenant's device reads as none at all)."""
    wanted = sorted(set(device_ids))
    require(len(wanted) <= MAX_DEVICES, "device_ids", f"At most {MAX_DEVICES} devices.")
    if not wanted:
        return []
    with within_tenant(tenant_id):
        found = set(
            visible_devices(
                actor, Device.objects.filter(tenant_id=tenant_id, pk__in=wanted)
            ).values_list("pk", flat=True)
        )
    missing = [pk for pk in wanted if pk not in found]
    require(not missing, "device_ids", f"No such device in this tenant: {missing}.")
    return wanted


def link_new_ticket(ticket: Ticket, device_ids: list[int]) -> None:
    """Link a ticket being opened to its devices (checked by :func:`devices_to_link`), in
    the opening's transaction, which audits them with the ticket."""
    TicketDevice.objects.bulk_create(
        TicketDevice(tenant_id=ticket.tenant_id, ticket=ticket, device_id=pk) for pk in device_ids
    )


def set_ticket_devices(*, actor: Principal, ticket: Ticket, device_ids: Iterable[int]) -> Ticket:
    """Make the devices the actor sees on this ticket exactly ``device_ids``; links to
    devices it cannot see are kept. Refused (409) when nothing would change."""
    authorize(actor, "servicedesk.change_ticket", ticket)
    wanted = set(devices_to_link(actor, ticket.tenant_id, device_ids))
    with transaction.atomic(), within_tenant(ticket.tenant_id):
        Ticket.objects.select_for_update().filter(pk=ticket.pk).first()
        linked = set(TicketDevice.objects.filter(ticket=ticket).values_list("device_id", flat=True))
        seen = set(
            visible_devices(actor, Device.objects.filter(pk__in=sorted(linked))).values_list(
                "pk", flat=True
            )
        )
        added, removed = sorted(wanted - linked), sorted(seen - wanted)
        if not added and not removed:
            raise Conflict("The ticket already names these devices.")
        TicketDevice.objects.filter(ticket=ticket, device_id__in=removed).delete()
        link_new_ticket(ticket, added)
        record_audit(
            actor=actor,
            action="servicedesk.set_ticket_devices",
            target=ticket,
            tenant_id=ticket.tenant_id,
            changes={"device_ids": [sorted(seen), sorted((seen - set(removed)) | set(added))]},
        )
    return ticket
