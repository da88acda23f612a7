"""Background work of the service desk, run by ``tandem worker`` (django-tasks, database
backend). Tasks take ids, enter a named system context in the functions they call, and are
idempotent: a second run of the same task does nothing."""

from __future__ import annotations

from django_tasks import task

from tandem.servicedesk.sla_alerts import check_sla


@task()
def process_inbound_message_task(message_id: int) -> str:
    """Turn one kept e-mail into a ticket or a note, or keep it as ignored or failed."""
    from tandem.servicedesk.mail.inbound import process_inbound_message

    message = process_inbound_message(message_id=message_id)
    return message.status if message is not None else "missing"


@task()
def send_outbound_message_task(outbound_id: int) -> str:
    """Send one due notification through SMTP and record whether it went out."""
    from tandem.servicedesk.notifications import send_outbound_message

    return send_outbound_message(outbound_id=outbound_id)


@task()
def recompute_tenant_sla_task(tenant_id: int) -> int:
    """Recompute the SLA clocks of every open ticket of a tenant, after one of its calendars,
    SLA policies or coverage entries changed. Returns how many tickets were recomputed."""
    from tandem.core.scoping import system_context
    from tandem.servicedesk.sla_bridge import recompute_open_tickets

    with system_context("recompute a tenant's SLA clocks after a calendar or policy change"):
        return recompute_open_tickets(tenant_id)


@task()
def check_sla_task() -> int:
    """Raise due SLA warnings and breaches (periodic, see ``config/schedule.py``)."""
    return check_sla()
