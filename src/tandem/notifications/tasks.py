"""Periodic work of the notifications app (django-tasks, database backend). Tasks take ids,
enter a named system context in the functions they call, and are idempotent.

The delivery of one webhook is queued by the service that makes it due, and so lives beside
it (``services.deliver_webhook_task``).
"""

from __future__ import annotations

from django_tasks import task

from tandem.notifications.services import requeue_due_deliveries


@task()
def requeue_webhook_deliveries_task() -> int:
    """Re-enqueue overdue pending webhook deliveries (periodic safety net)."""
    return requeue_due_deliveries()
