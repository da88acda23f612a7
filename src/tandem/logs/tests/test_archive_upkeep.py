"""The archive's upkeep on a schedule (decision 0045): the worker's periodic jobs delete the
hours older than each tenant's retention and merge each hour's part files into one,
keeping every event. Real Parquet files from the archive writer, read back with DuckDB;
every time relative to now."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from tandem.core.principal import system_principal
from tandem.core.registry import schedule
from tandem.core.scheduler import run_due_jobs
from tandem.core.scoping import system_context
from tandem.logs import archive
from tandem.logs.archive.layout import existing_hours, live_files
from tandem.logs.archive.tests.support import linux_event, windows_event
from tandem.logs.services import set_archive_settings
from tandem.logs.tasks import compact_event_archive, prune_event_archive
from tandem.tenancy.models import Tenant

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def archive_dir(settings: Any, tmp_path: Path) -> Path:
    settings.LOG_ARCHIVE_DIR = tmp_path / "archive"
    settings.TASKS = IMMEDIATE
    return settings.LOG_ARCHIVE_DIR


def tenant(world: Any, name: str = "tenant") -> Tenant:
    with system_context("test: the tenant"):
        return Tenant.objects.get(pk=world[name])


def hour_start(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def everything(base: Path, tenant_id: int, now: dt.datetime) -> list[dict[str, Any]]:
    """Every archived event of the tenant (up to 30 days back), in a stable order."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = archive.search(
            base, tenant_id, start=now - dt.timedelta(days=30), end=now, limit=1000, cursor=cursor
        )
        found += page.events
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def test_the_periodic_jobs_are_declared_for_the_worker() -> None:
    jobs = {name: (every, path) for name, every, path in schedule()}
    assert jobs["compact-event-archive"] == (3600, "tandem.logs.tasks.compact_event_archive_task")
    assert jobs["prune-event-archive"] == (86400, "tandem.logs.tasks.prune_event_archive_task")


def test_hours_older_than_the_tenants_retention_go_and_newer_stay(archive_dir, world) -> None:
    acme, globex = world["tenant"], world["other_tenant"]
    now = timezone.now()
    set_archive_settings(
        actor=system_principal("test: a week of events"), tenant=tenant(world), retention_days=7
    )
    for tenant_id in (acme, globex):
        archive.append(
            archive_dir,
            tenant_id,
            [
                linux_event(now - dt.timedelta(days=8), message="eight days old"),
                linux_event(now - dt.timedelta(days=6, hours=23), message="within the week"),
                linux_event(now - dt.timedelta(minutes=5), message="just now"),
            ],
        )
    # The daily job, as the worker's scheduler starts it (the task runs at once here).
    daily = [entry for entry in schedule() if entry[0] == "prune-event-archive"]
    assert run_due_jobs(now=now, schedule=daily) == ["prune-event-archive"]

    messages = [event["message"] for event in everything(archive_dir, acme, now)]
    assert messages == ["just now", "within the week"]
    # Globex keeps the default 90 days.
    messages = [event["message"] for event in everything(archive_dir, globex, now)]
    assert messages == ["just now", "within the week", "eight days old"]
    # Acme's old hour is gone from the disk, not only from the results.
    old_hours = existing_hours(archive_dir, acme, None, now - dt.timedelta(days=7, hours=1))
    assert old_hours == []
    # A second run deletes nothing more.
    assert prune_event_archive(now=now) == 0


def test_compaction_merges_an_hours_files_and_keeps_every_event(archive_dir, world) -> None:
    acme = world["tenant"]
    now = timezone.now()
    finished = hour_start(now) - dt.timedelta(hours=2)  # an hour that has ended
    batches = [
        [
            windows_event(finished + dt.timedelta(minutes=batch * 10 + i), user=f"user{batch}-{i}")
            for i in range(5)
        ]
        + [
            linux_event(
                finished + dt.timedelta(minutes=batch * 10, seconds=30), message=f"b{batch}"
            )
        ]
        for batch in range(4)
    ]
    for batch in batches:
        archive.append(archive_dir, acme, batch)
    current = [linux_event(now - dt.timedelta(seconds=5), message="this hour")]
    archive.append(archive_dir, acme, current)
    archive.append(archive_dir, acme, current)
    before = everything(archive_dir, acme, now + dt.timedelta(minutes=1))
    directory = existing_hours(archive_dir, acme, finished, finished + dt.timedelta(hours=1))[0][1]
    assert len(live_files(directory)) == 4

    hourly = [entry for entry in schedule() if entry[0] == "compact-event-archive"]
    assert run_due_jobs(now=now, schedule=hourly) == ["compact-event-archive"]

    files = live_files(directory)
    assert len(files) == 1 and files[0].name.startswith("compact-")
    assert sorted(p.name for p in directory.iterdir() if p.suffix == ".parquet") == [files[0].name]
    after = everything(archive_dir, acme, now + dt.timedelta(minutes=1))
    assert after == before  # every event, same content, same order
    assert len(after) == 4 * 6 + 2
    # The current hour still takes appends: left alone. A second run merges nothing.
    this_hour = existing_hours(archive_dir, acme, hour_start(now), now + dt.timedelta(minutes=1))
    assert len(live_files(this_hour[0][1])) == 2
    assert compact_event_archive(now=now) == 0


def test_a_late_event_in_an_old_hour_is_merged_by_the_daily_pass(archive_dir, world) -> None:
    acme = world["tenant"]
    now = timezone.now()
    old = hour_start(now) - dt.timedelta(days=3)
    for message in ("first", "late"):
        archive.append(
            archive_dir, acme, [linux_event(old + dt.timedelta(minutes=1), message=message)]
        )
    assert compact_event_archive(now=now) == 0  # the hourly pass looks at two days only
    assert compact_event_archive(now=now, full=True) == 1
    assert sorted(e["message"] for e in everything(archive_dir, acme, now)) == ["first", "late"]
