"""The one list of periodic work. ``tandem worker`` runs the scheduler next to the task
worker: each job whose interval has passed is claimed by exactly one worker and enqueued as
a task (see docs/decisions/0009-schedule.md).

Each entry: (name, every so many seconds, dotted path of a django-tasks task or a callable).
"""

from __future__ import annotations

SCHEDULE: list[tuple[str, int, str]] = [
    ("check-sla", 60, "tandem.servicedesk.tasks.check_sla_task"),
    ("redispatch-events", 60, "tandem.core.events.redispatch_events_task"),
    (
        "requeue-webhook-deliveries",
        300,
        "tandem.notifications.tasks.requeue_webhook_deliveries_task",
    ),
    (
        "refresh-query-statistics",
        24 * 3600,
        "tandem.core.maintenance.refresh_query_statistics_task",
    ),
]
