"""Runs the periodic jobs the apps declare (``TandemAppConfig.schedule``): a claim per job
name, then an enqueue.

A :class:`ScheduledRun` row per job holds ``next_run_at``. A worker claims a due job with one
conditional ``UPDATE ... WHERE name = ? AND next_run_at <= now`` that moves ``next_run_at``
forward: atomic on SQLite and PostgreSQL alike (on PostgreSQL the second updater waits for
the row lock, re-checks the condition and updates nothing), so of several workers exactly one
enqueues the job. The job itself then runs in the ordinary task worker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, close_old_connections
from django.utils import timezone
from django.utils.module_loading import import_string

from tandem.core.apps import ScheduleEntry
from tandem.core.models import ScheduledRun
from tandem.core.registry import schedule as declared_schedule

log = logging.getLogger(__name__)


def run_due_jobs(
    *, now: dt.datetime | None = None, schedule: list[ScheduleEntry] | None = None
) -> list[str]:
    """Claim and start every due job; returns the names started by this call."""
    now = now or timezone.now()
    started = []
    for name, every, path in schedule if schedule is not None else declared_schedule():
        if not ScheduledRun.objects.filter(name=name).exists():
            with contextlib.suppress(IntegrityError):  # another worker created it
                ScheduledRun.objects.create(name=name, next_run_at=now)
        claimed = ScheduledRun.objects.filter(name=name, next_run_at__lte=now).update(
            last_run_at=now, next_run_at=now + dt.timedelta(seconds=every)
        )
        if not claimed:
            continue
        job: Any = import_string(path)
        try:
            if hasattr(job, "enqueue"):
                job.enqueue()
            else:
                job()
        except Exception:
            log.exception("periodic job %s could not be started", name)
            continue
        started.append(name)
    return started


def start_scheduler(*, tick: float = 15.0, stop: threading.Event | None = None) -> threading.Thread:
    """Run :func:`run_due_jobs` every ``tick`` seconds in a daemon thread until ``stop``."""
    stop = stop or threading.Event()

    def loop(wait: Callable[[float], bool] = stop.wait) -> None:
        while True:
            try:
                close_old_connections()
                run_due_jobs()
            except Exception:  # the database may be away for a moment; try again next tick
                log.exception("scheduler tick failed")
            finally:
                close_old_connections()
            if wait(tick):
                return

    thread = threading.Thread(target=loop, name="tandem-scheduler", daemon=True)
    thread.start()
    return thread
