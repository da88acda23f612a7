"""Background work of the notifications app (django-tasks, database backend). Tasks take
ids, enter a named system context in the functions they call, and are idempotent."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_webhook_task(delivery_id: int) -> str:
    """Send one webhook delivery attempt; failures schedule the next with backoff."""
    from tandem.notifications.services import deliver_webhook

    return deliver_webhook(delivery_id=delivery_id)


@task()
def requeue_webhook_deliveries_task() -> int:
    """Re-enqueue overdue pending webhook deliveries (periodic safety net)."""
    from tandem.notifications.services import requeue_due_deliveries

    return requeue_due_deliveries()
