"""The device page's "Tickets" section (decision 0026): the desk gives it to the assets app
at start (``assets.queries.register_device_section``), so that assets never imports the
desk. It lists the newest tickets naming the device that the reader may see."""

from __future__ import annotations

from tandem.assets.models import Device
from tandem.assets.queries import DeviceSection
from tandem.core.policies import allowed
from tandem.core.principal import Principal
from tandem.servicedesk.config import queries as config_queries
from tandem.servicedesk.desk_config import desk_settings
from tandem.servicedesk.tickets import queries

#: The most tickets the section lists (the API pages through all of them).
SHOWN = 20


def device_tickets_section(principal: Principal, device: Device) -> DeviceSection | None:
    """The tickets naming ``device`` that ``principal`` sees, newest first; nothing for a
    reader who reads no tickets at all."""
    if not allowed(principal, "servicedesk.view_ticket"):
        return None
    labels = config_queries.status_labels(desk_settings(device.tenant_id).statuses)
    rows = list(queries.device_tickets(principal, device)[: SHOWN + 1])
    for ticket in rows:
        name, tone = labels.get(ticket.status, (ticket.status, "muted"))
        ticket.status_name, ticket.status_tone = name, tone  # type: ignore[attr-defined]
    return DeviceSection(
        key="tickets",
        title="Tickets",
        template="servicedesk/tickets/_device_tickets.html",
        context={"tickets": rows[:SHOWN], "more": len(rows) > SHOWN},
        order=10,
    )
