"""Periodic and after-the-fact work of the service desk, run by ``tandem worker`` (django-tasks,
database backend). Tasks take ids, enter a named system context in the functions they call,
and are idempotent: a second run of the same task does nothing.

A task that a service queues for one row lives beside that service instead, so that neither
imports the other: ``mail.inbound.process_inbound_message_task`` and
``mail.outbound.send_outbound_message_task``.
"""

from __future__ import annotations

from django_tasks import task

from tandem.core.scoping import system_context
from tandem.servicedesk.sla_alerts import check_sla
from tandem.servicedesk.sla_bridge import recompute_open_tickets


@task()
def recompute_tenant_sla_task(tenant_id: int) -> int:
    """Recompute the SLA clocks of every open ticket of a tenant, after one of its calendars,
    SLA policies or coverage entries changed. Returns how many tickets were recomputed."""
    with system_context("recompute a tenant's SLA clocks after a calendar or policy change"):
        return recompute_open_tickets(tenant_id)


@task()
def check_sla_task() -> int:
    """Raise due SLA warnings and breaches (periodic, see ``config/schedule.py``)."""
    return check_sla()
