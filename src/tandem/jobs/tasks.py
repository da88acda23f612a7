"""Periodic work of the jobs app, run by ``tandem worker`` (decision 0009)."""

from __future__ import annotations

from django_tasks import task

from tandem.jobs.services import expire_jobs


@task()
def expire_jobs_task() -> int:
    """Expire jobs whose window closed unstarted; fail running ones with no result."""
    return expire_jobs()
