"""Periodic work of patching, run by ``tandem worker`` (decision 0009)."""

from __future__ import annotations

from dataclasses import asdict

from django_tasks import task

from tandem.core.principal import system_principal
from tandem.patching.install_services import schedule_installs
from tandem.patching.snapshot_services import refresh_due_compliance_snapshots


@task()
def schedule_installs_task() -> dict[str, int]:
    """Approved updates into install (and reboot) jobs inside maintenance windows."""
    return asdict(schedule_installs())


@task()
def refresh_compliance_snapshots_task() -> list[int]:
    """Patch compliance snapshots that are missing, marked changed or older than 15 minutes
    (decision 0048); returns the tenants refreshed."""
    return refresh_due_compliance_snapshots(
        actor=system_principal("patching: refresh compliance snapshots")
    )
